// Package fakedriver is the driver of the test plugin docker-machine-driver-fake: it "creates"
// a host by checking that an existing address answers on its SSH port and recording it, keeps
// its machine state in its own config (so it survives from one plugin process to the next, as
// a real driver's does through GetConfigRaw/SetConfigRaw), logs every RPC call to a file, and
// misbehaves on request (see misbehave.go).
package fakedriver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"rmachine.invalid/fakeplugin/mcnflag"
	"rmachine.invalid/fakeplugin/rpcdriver"
)

// Driver's exported fields are its config (GetConfigRaw is json.Marshal of it): the first nine
// are docker-machine's BaseDriver fields, with their names.
type Driver struct {
	IPAddress      string
	MachineName    string
	SSHUser        string
	SSHPort        int
	SSHKeyPath     string
	StorePath      string
	SwarmMaster    bool
	SwarmHost      string
	SwarmDiscovery string

	APIToken         string
	Tags             []string
	CallLog          string
	Fail             bool
	EngineInstallURL string
	State            string
	Restarts         int

	misbehaviour misbehaviour
}

// New reads the misbehaviour switches from the environment.
func New() *Driver {
	return &Driver{misbehaviour: misbehaviourFromEnv()}
}

func (d *Driver) DriverName() string { return "fake" }

func (d *Driver) GetCreateFlags() []mcnflag.Flag {
	return []mcnflag.Flag{
		mcnflag.StringFlag{Name: "fake-ip-address", Usage: "IP address of the existing host", EnvVar: "FAKE_IP_ADDRESS"},
		mcnflag.StringFlag{Name: "fake-ssh-user", Usage: "SSH user", EnvVar: "FAKE_SSH_USER", Value: "root"},
		mcnflag.IntFlag{Name: "fake-ssh-port", Usage: "SSH port", EnvVar: "FAKE_SSH_PORT", Value: 22},
		mcnflag.StringFlag{Name: "fake-ssh-key", Usage: "SSH private key path", EnvVar: "FAKE_SSH_KEY"},
		mcnflag.StringSliceFlag{Name: "fake-tags", Usage: "tags, key=value", EnvVar: "FAKE_TAGS", Value: []string{"team=rmachine"}},
		mcnflag.StringFlag{Name: "fake-api-token", Usage: "API token of the fake cloud", EnvVar: "FAKE_API_TOKEN"},
		mcnflag.StringFlag{Name: "fake-call-log", Usage: "file to append one line per RPC call to", EnvVar: "FAKE_CALL_LOG"},
		mcnflag.BoolFlag{Name: "fake-fail", Usage: "make PreCreateCheck fail", EnvVar: "FAKE_FAIL"},
	}
}

func (d *Driver) SetConfigFromFlags(opts rpcdriver.DriverOptions) error {
	d.IPAddress = opts.String("fake-ip-address")
	d.SSHUser = opts.String("fake-ssh-user")
	d.SSHPort = opts.Int("fake-ssh-port")
	d.SSHKeyPath = opts.String("fake-ssh-key")
	d.Tags = opts.StringSlice("fake-tags")
	d.APIToken = opts.String("fake-api-token")
	d.CallLog = opts.String("fake-call-log")
	d.Fail = opts.Bool("fake-fail")
	d.SwarmMaster = opts.Bool("swarm-master")
	d.SwarmHost = opts.String("swarm-host")
	d.SwarmDiscovery = opts.String("swarm-discovery")
	d.EngineInstallURL = opts.String("engine-install-url")
	if d.IPAddress == "" {
		return errors.New("fake driver requires the --fake-ip-address option")
	}
	return nil
}

func (d *Driver) PreCreateCheck() error {
	if d.Fail {
		return errors.New("fake: the pre-create check fails, as --fake-fail asks")
	}
	return nil
}

// Create checks that the host answers on its SSH port, then records it as Running.
func (d *Driver) Create() error {
	address := net.JoinHostPort(d.IPAddress, strconv.Itoa(d.GetSSHPortOrDefault()))
	fmt.Printf("Creating the fake machine %s at %s\n", d.MachineName, address)
	fmt.Fprintf(os.Stderr, "dialing %s\n", address)
	conn, err := net.DialTimeout("tcp", address, 5*time.Second)
	if err != nil {
		return fmt.Errorf("fake: the host %s does not answer: %v", address, err)
	}
	conn.Close()
	d.State = "Running"
	return nil
}

func (d *Driver) Remove() error {
	fmt.Fprintf(os.Stderr, "removing the fake machine %s\n", d.MachineName)
	d.State = ""
	return nil
}

func (d *Driver) Start() error   { d.State = "Running"; return nil }
func (d *Driver) Stop() error    { d.State = "Stopped"; return nil }
func (d *Driver) Kill() error    { d.State = "Stopped"; return nil }
func (d *Driver) Restart() error { d.Restarts++; d.State = "Running"; return nil }

func (d *Driver) GetState() (rpcdriver.State, error) {
	switch d.State {
	case "Running":
		return rpcdriver.Running, nil
	case "Stopped":
		return rpcdriver.Stopped, nil
	case "":
		return rpcdriver.None, nil
	}
	return rpcdriver.Error, fmt.Errorf("fake: unknown state %q", d.State)
}

func (d *Driver) GetMachineName() string { return d.MachineName }

func (d *Driver) GetIP() (string, error) {
	if d.IPAddress == "" {
		return "", errors.New("IP address is not set")
	}
	return d.IPAddress, nil
}

func (d *Driver) GetURL() (string, error) {
	ip, err := d.GetIP()
	if err != nil {
		return "", err
	}
	return "tcp://" + net.JoinHostPort(ip, "2376"), nil
}

func (d *Driver) GetSSHHostname() (string, error) { return d.GetIP() }

func (d *Driver) GetSSHPortOrDefault() int {
	if d.SSHPort == 0 {
		return 22
	}
	return d.SSHPort
}

func (d *Driver) GetSSHPort() (int, error) { return d.GetSSHPortOrDefault(), nil }

func (d *Driver) GetSSHUsername() string {
	if d.SSHUser == "" {
		return "root"
	}
	return d.SSHUser
}

// GetSSHKeyPath is BaseDriver's: the given key, else id_rsa in the machine's store folder.
func (d *Driver) GetSSHKeyPath() string {
	if d.SSHKeyPath == "" && d.StorePath != "" {
		return filepath.Join(d.StorePath, "machines", d.MachineName, "id_rsa")
	}
	return d.SSHKeyPath
}
