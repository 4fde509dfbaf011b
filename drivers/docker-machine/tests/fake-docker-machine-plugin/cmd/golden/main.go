// golden records, byte for byte, what Go's net/rpc client sends to a docker-machine plugin and
// what the plugin replies, one pair of files per call, plus a few standalone gob streams that
// exercise the decoder. Usage: golden OUT_DIR. It re-executes itself as the plugin (the fake
// driver), so client and plugin are separate processes with their own gob type ids, as in real
// life. The Rust codec's unit tests compare their bytes with these files.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"rmachine.invalid/fakeplugin/fakedriver"
	"rmachine.invalid/fakeplugin/mcnflag"
	"rmachine.invalid/fakeplugin/rpcdriver"
)

// recorder is the client's connection: it keeps what crossed it in each direction.
type recorder struct {
	net.Conn
	mu      sync.Mutex
	written bytes.Buffer
	read    bytes.Buffer
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.mu.Lock()
	r.read.Write(p[:n])
	r.mu.Unlock()
	return n, err
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.written.Write(p)
	r.mu.Unlock()
	return r.Conn.Write(p)
}

// take returns and forgets what was written and read since the last call.
func (r *recorder) take() ([]byte, []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	written := append([]byte(nil), r.written.Bytes()...)
	read := append([]byte(nil), r.read.Bytes()...)
	r.written.Reset()
	r.read.Reset()
	return written, read
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "golden:", err)
		os.Exit(1)
	}
}

func main() {
	if os.Getenv(rpcdriver.PluginEnvKey) == rpcdriver.PluginEnvVal {
		driver := fakedriver.New()
		rpcdriver.RegisterDriver(driver, driver, fakedriver.PrintAddress)
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: golden OUT_DIR")
		os.Exit(2)
	}
	out := os.Args[1]
	must(os.MkdirAll(out, 0o755))
	recordCalls(out)
	recordStandalone(out)
}

func startPlugin() (*exec.Cmd, string) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), rpcdriver.PluginEnvKey+"="+rpcdriver.PluginEnvVal)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	must(err)
	must(cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	must(err)
	return cmd, strings.TrimSpace(line)
}

func dial(addr string) (*rpc.Client, *recorder) {
	conn, err := net.Dial("tcp", addr)
	must(err)
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.0\n\n", rpc.DefaultRPCPath)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: "CONNECT"})
	must(err)
	if resp.Status != "200 Connected to Go RPC" {
		must(fmt.Errorf("unexpected HTTP response %q", resp.Status))
	}
	rec := &recorder{Conn: conn}
	return rpc.NewClient(rec), rec
}

type call struct {
	name   string // file name part
	method string
	args   interface{}
	reply  interface{} // a pointer, or nil
}

func options(values map[string]interface{}) *rpcdriver.DriverOptions {
	var opts rpcdriver.DriverOptions = &rpcdriver.RPCFlags{Values: values}
	return &opts
}

func calls() []call {
	var version, port int
	var name, driverName, url string
	var flags []mcnflag.Flag
	var state1, state2 rpcdriver.State
	var config []byte
	v1 := func(m string) string { return rpcdriver.RPCServiceNameV1 + "." + m }
	raw := []byte(`{"MachineName":"golden","StorePath":"/store/é"}`)
	return []call{
		{"GetVersion", v1("GetVersion"), struct{}{}, &version},
		{"SetConfigRaw", v1("SetConfigRaw"), raw, nil},
		{"GetMachineName", v1("GetMachineName"), struct{}{}, &name},
		{"DriverName", v1("DriverName"), struct{}{}, &driverName},
		{"GetCreateFlags", v1("GetCreateFlags"), struct{}{}, &flags},
		{"SetConfigFromFlags-string", v1("SetConfigFromFlags"), options(map[string]interface{}{"fake-ip-address": "127.0.0.1"}), nil},
		{"SetConfigFromFlags-int", v1("SetConfigFromFlags"), options(map[string]interface{}{"fake-ssh-port": 2222}), nil},
		{"SetConfigFromFlags-stringslice", v1("SetConfigFromFlags"), options(map[string]interface{}{"fake-tags": []string{"a=1", "b=2"}}), nil},
		{"SetConfigFromFlags-empty", v1("SetConfigFromFlags"), options(map[string]interface{}{}), nil},
		{"SetConfigFromFlags-boolfalse", v1("SetConfigFromFlags"), options(map[string]interface{}{"swarm-master": false}), nil},
		{"SetConfigFromFlags-booltrue", v1("SetConfigFromFlags"), options(map[string]interface{}{"fake-fail": true}), nil},
		{"PreCreateCheck", v1("PreCreateCheck"), struct{}{}, nil},
		{"GetState-none", v1("GetState"), struct{}{}, &state1},
		{"Start", v1("Start"), struct{}{}, nil},
		{"GetState-running", v1("GetState"), struct{}{}, &state2},
		{"GetSSHPort", v1("GetSSHPort"), struct{}{}, &port},
		{"GetURL", v1("GetURL"), struct{}{}, &url},
		{"GetConfigRaw", v1("GetConfigRaw"), struct{}{}, &config},
		{"Heartbeat", v1("Heartbeat"), struct{}{}, nil},
		{"Upgrade", v1("Upgrade"), struct{}{}, nil},
		{"GetVersion-V0", rpcdriver.RPCServiceNameV0 + ".GetVersion", struct{}{}, &version},
	}
}

func recordCalls(out string) {
	plugin, addr := startPlugin()
	client, rec := dial(addr)
	var manifest strings.Builder
	seq := 0
	record := func(c call) {
		err := client.Call(c.method, c.args, c.reply)
		request, reply := rec.take()
		prefix := filepath.Join(out, fmt.Sprintf("call-%03d-%s", seq, c.name))
		must(os.WriteFile(prefix+".request.bin", request, 0o644))
		must(os.WriteFile(prefix+".reply.bin", reply, 0o644))
		result := "ok"
		if err != nil {
			result = "error: " + err.Error()
		} else if c.reply != nil {
			result = fmt.Sprintf("ok: %#v", deref(c.reply))
		}
		fmt.Fprintf(&manifest, "%03d %s %s\n", seq, c.method, result)
		seq++
	}
	for _, c := range calls() {
		record(c)
	}
	// Seq numbers of two bytes and more: heartbeats up to 300, recording the last.
	for seq < 300 {
		must(client.Call(rpcdriver.RPCServiceNameV1+".Heartbeat", struct{}{}, nil))
		rec.take()
		seq++
	}
	record(call{"Heartbeat", rpcdriver.RPCServiceNameV1 + ".Heartbeat", struct{}{}, nil})
	must(os.WriteFile(filepath.Join(out, "calls.txt"), []byte(manifest.String()), 0o644))
	client.Go(rpcdriver.RPCServiceNameV1+".Close", struct{}{}, nil, nil)
	_ = plugin.Wait()
}

func deref(p interface{}) interface{} {
	switch v := p.(type) {
	case *int:
		return *v
	case *string:
		return *v
	case *[]byte:
		return string(*v)
	case *rpcdriver.State:
		return int(*v)
	case *[]mcnflag.Flag:
		names := make([]string, 0, len(*v))
		for _, flag := range *v {
			names = append(names, fmt.Sprintf("%T %s", flag, flag))
		}
		return names
	}
	return p
}
