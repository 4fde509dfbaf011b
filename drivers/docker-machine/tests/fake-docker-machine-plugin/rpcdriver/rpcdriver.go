// Package rpcdriver mirrors docker-machine's libmachine/drivers/rpc server side and
// libmachine/drivers/plugin.RegisterDriver. It must be *named* rpcdriver, so that gob names
// the flags' carrier "*rpcdriver.RPCFlags" exactly as a real plugin does.
package rpcdriver

import (
	"encoding/gob"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/rpc"
	"os"
	"time"

	"rmachine.invalid/fakeplugin/mcnflag"
)

const (
	APIVersion       = 1
	RPCServiceNameV0 = "RpcServerDriver"
	RPCServiceNameV1 = "RPCServerDriver"
	PluginEnvKey     = "MACHINE_PLUGIN_TOKEN"
	PluginEnvVal     = "42"
	heartbeatTimeout = 10 * time.Second
)

func init() {
	gob.Register(new(RPCFlags))
	gob.Register(new(mcnflag.IntFlag))
	gob.Register(new(mcnflag.StringFlag))
	gob.Register(new(mcnflag.StringSliceFlag))
	gob.Register(new(mcnflag.BoolFlag))
}

// DriverOptions is docker-machine's drivers.DriverOptions.
type DriverOptions interface {
	String(key string) string
	StringSlice(key string) []string
	Int(key string) int
	Bool(key string) bool
}

// RPCFlags carries the flag values of SetConfigFromFlags.
type RPCFlags struct {
	Values map[string]interface{}
}

func (r RPCFlags) get(key string) interface{} {
	val, ok := r.Values[key]
	if !ok {
		fmt.Fprintf(os.Stderr, "Trying to access option %s which does not exist\n", key)
		fmt.Fprintln(os.Stderr, "THIS ***WILL*** CAUSE UNEXPECTED BEHAVIOR")
	}
	return val
}

func (r RPCFlags) String(key string) string {
	val, ok := r.get(key).(string)
	if !ok {
		fmt.Fprintf(os.Stderr, "Type assertion did not go smoothly to string for key %s\n", key)
	}
	return val
}

func (r RPCFlags) StringSlice(key string) []string {
	val, ok := r.get(key).([]string)
	if !ok {
		fmt.Fprintf(os.Stderr, "Type assertion did not go smoothly to string slice for key %s\n", key)
	}
	return val
}

func (r RPCFlags) Int(key string) int {
	val, ok := r.get(key).(int)
	if !ok {
		fmt.Fprintf(os.Stderr, "Type assertion did not go smoothly to int for key %s\n", key)
	}
	return val
}

func (r RPCFlags) Bool(key string) bool {
	val, ok := r.get(key).(bool)
	if !ok {
		fmt.Fprintf(os.Stderr, "Type assertion did not go smoothly to bool for key %s\n", key)
	}
	return val
}

// State is docker-machine's state.State.
type State int

const (
	None State = iota
	Running
	Paused
	Saved
	Stopped
	Stopping
	Starting
	Error
	Timeout
)

// Driver is the part of docker-machine's drivers.Driver the server calls.
type Driver interface {
	Create() error
	DriverName() string
	GetCreateFlags() []mcnflag.Flag
	GetIP() (string, error)
	GetMachineName() string
	GetSSHHostname() (string, error)
	GetSSHKeyPath() string
	GetSSHPort() (int, error)
	GetSSHUsername() string
	GetURL() (string, error)
	GetState() (State, error)
	Kill() error
	PreCreateCheck() error
	Remove() error
	Restart() error
	SetConfigFromFlags(opts DriverOptions) error
	Start() error
	Stop() error
}

// Hooks lets the fake driver see every call (its call log) and misbehave on request.
type Hooks interface {
	Called(method string, detail string)
}

// RPCServerDriver is the object registered under both service names.
type RPCServerDriver struct {
	ActualDriver Driver
	Hooks        Hooks
	CloseCh      chan bool
	HeartbeatCh  chan bool
}

func (r *RPCServerDriver) called(method, detail string) { r.Hooks.Called(method, detail) }

func (r *RPCServerDriver) Close(_, _ *struct{}) error {
	r.called("Close", "")
	r.CloseCh <- true
	return nil
}

func (r *RPCServerDriver) GetVersion(_ *struct{}, reply *int) error {
	r.called("GetVersion", "")
	*reply = APIVersion
	return nil
}

func (r *RPCServerDriver) GetConfigRaw(_ *struct{}, reply *[]byte) error {
	r.called("GetConfigRaw", "")
	data, err := json.Marshal(r.ActualDriver)
	if err != nil {
		return err
	}
	*reply = data
	return nil
}

func (r *RPCServerDriver) GetCreateFlags(_ *struct{}, reply *[]mcnflag.Flag) error {
	r.called("GetCreateFlags", "")
	*reply = r.ActualDriver.GetCreateFlags()
	return nil
}

func (r *RPCServerDriver) SetConfigRaw(data []byte, _ *struct{}) error {
	r.called("SetConfigRaw", string(data))
	return json.Unmarshal(data, &r.ActualDriver)
}

func (r *RPCServerDriver) Create(_, _ *struct{}) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in Create: %v", p)
		}
	}()
	r.called("Create", "")
	return r.ActualDriver.Create()
}

func (r *RPCServerDriver) DriverName(_ *struct{}, reply *string) error {
	r.called("DriverName", "")
	*reply = r.ActualDriver.DriverName()
	return nil
}

func (r *RPCServerDriver) GetIP(_ *struct{}, reply *string) (err error) {
	r.called("GetIP", "")
	*reply, err = r.ActualDriver.GetIP()
	return err
}

func (r *RPCServerDriver) GetMachineName(_ *struct{}, reply *string) error {
	r.called("GetMachineName", "")
	*reply = r.ActualDriver.GetMachineName()
	return nil
}

func (r *RPCServerDriver) GetSSHHostname(_ *struct{}, reply *string) (err error) {
	r.called("GetSSHHostname", "")
	*reply, err = r.ActualDriver.GetSSHHostname()
	return err
}

func (r *RPCServerDriver) GetSSHKeyPath(_ *struct{}, reply *string) error {
	r.called("GetSSHKeyPath", "")
	*reply = r.ActualDriver.GetSSHKeyPath()
	return nil
}

func (r *RPCServerDriver) GetSSHPort(_ *struct{}, reply *int) (err error) {
	r.called("GetSSHPort", "")
	*reply, err = r.ActualDriver.GetSSHPort()
	return err
}

func (r *RPCServerDriver) GetSSHUsername(_ *struct{}, reply *string) error {
	r.called("GetSSHUsername", "")
	*reply = r.ActualDriver.GetSSHUsername()
	return nil
}

func (r *RPCServerDriver) GetURL(_ *struct{}, reply *string) (err error) {
	r.called("GetURL", "")
	*reply, err = r.ActualDriver.GetURL()
	return err
}

func (r *RPCServerDriver) GetState(_ *struct{}, reply *State) (err error) {
	r.called("GetState", "")
	*reply, err = r.ActualDriver.GetState()
	return err
}

func (r *RPCServerDriver) Kill(_, _ *struct{}) error {
	r.called("Kill", "")
	return r.ActualDriver.Kill()
}

func (r *RPCServerDriver) PreCreateCheck(_, _ *struct{}) error {
	r.called("PreCreateCheck", "")
	return r.ActualDriver.PreCreateCheck()
}

func (r *RPCServerDriver) Remove(_, _ *struct{}) error {
	r.called("Remove", "")
	return r.ActualDriver.Remove()
}

func (r *RPCServerDriver) Restart(_, _ *struct{}) error {
	r.called("Restart", "")
	return r.ActualDriver.Restart()
}

func (r *RPCServerDriver) SetConfigFromFlags(flags *DriverOptions, _ *struct{}) error {
	r.called("SetConfigFromFlags", describeOptions(*flags))
	return r.ActualDriver.SetConfigFromFlags(*flags)
}

func (r *RPCServerDriver) Start(_, _ *struct{}) error {
	r.called("Start", "")
	return r.ActualDriver.Start()
}

func (r *RPCServerDriver) Stop(_, _ *struct{}) error {
	r.called("Stop", "")
	return r.ActualDriver.Stop()
}

func (r *RPCServerDriver) Heartbeat(_, _ *struct{}) error {
	r.called("Heartbeat", "")
	r.HeartbeatCh <- true
	return nil
}

// RegisterDriver behaves like docker-machine's plugin.RegisterDriver, with the 10 s heartbeat
// timeout of docker-machine 0.16. printAddress lets a test print something else instead.
func RegisterDriver(d Driver, hooks Hooks, printAddress func(addr string)) {
	if os.Getenv(PluginEnvKey) != PluginEnvVal {
		fmt.Fprintf(os.Stderr, `This is a Docker Machine plugin binary.
Plugin binaries are not intended to be invoked directly.
Please use this plugin through the main 'docker-machine' binary.
(API version: %d)
`, APIVersion)
		os.Exit(1)
	}

	rpcd := &RPCServerDriver{ActualDriver: d, Hooks: hooks, CloseCh: make(chan bool), HeartbeatCh: make(chan bool)}
	rpc.RegisterName(RPCServiceNameV0, rpcd)
	// FAKE_ONLY_V0=1 plays a plugin built before docker-machine 0.5.1 (a test switch, not DM's).
	if os.Getenv("FAKE_ONLY_V0") != "1" {
		rpc.RegisterName(RPCServiceNameV1, rpcd)
	}
	rpc.HandleHTTP()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error loading RPC server: %s\n", err)
		os.Exit(1)
	}
	defer listener.Close()

	printAddress(listener.Addr().String())

	go http.Serve(listener, nil)

	for {
		select {
		case <-rpcd.CloseCh:
			os.Exit(0)
		case <-rpcd.HeartbeatCh:
			continue
		case <-time.After(heartbeatTimeout):
			fmt.Fprintln(os.Stderr, "no heartbeat for 10s: exiting")
			os.Exit(1)
		}
	}
}
