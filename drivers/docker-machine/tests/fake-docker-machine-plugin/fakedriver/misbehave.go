package fakedriver

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// misbehaviour holds the test switches, all read from the environment at start:
//
//	FAKE_DIE_IN=Method         os.Exit(3) in the middle of that method (after writing to stderr)
//	FAKE_HANG_IN=Method        never return from that method (heartbeats are still answered)
//	FAKE_SLEEP_IN=Method:20s   sleep that long in that method, then carry on
//	FAKE_HANG_HEARTBEAT=1      block every Heartbeat handler: the plugin exits 10 s later
//	FAKE_ADDRESS=garbage|none  print that text instead of the address ("none": print nothing)
//	FAKE_CALL_LOG=FILE         the call log until the config names one (--fake-call-log)
//	FAKE_ONLY_V0=1             register the driver as RpcServerDriver only (rpcdriver)
type misbehaviour struct {
	dieIn         string
	hangIn        string
	sleepIn       string
	sleepFor      time.Duration
	hangHeartbeat bool
	callLog       string
}

func misbehaviourFromEnv() misbehaviour {
	m := misbehaviour{
		dieIn:         os.Getenv("FAKE_DIE_IN"),
		hangIn:        os.Getenv("FAKE_HANG_IN"),
		hangHeartbeat: os.Getenv("FAKE_HANG_HEARTBEAT") == "1",
		callLog:       os.Getenv("FAKE_CALL_LOG"),
	}
	if sleep := os.Getenv("FAKE_SLEEP_IN"); sleep != "" {
		method, duration, _ := strings.Cut(sleep, ":")
		parsed, err := time.ParseDuration(duration)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bad FAKE_SLEEP_IN %q: %v\n", sleep, err)
			os.Exit(2)
		}
		m.sleepIn, m.sleepFor = method, parsed
	}
	return m
}

// Called is the server's hook before every method: it logs the call, then misbehaves.
func (d *Driver) Called(method string, detail string) {
	d.logCall(method, detail)
	m := d.misbehaviour
	switch {
	case method == m.dieIn:
		fmt.Fprintf(os.Stderr, "fake: about to die in %s\n", method)
		fmt.Fprintf(os.Stderr, "fake: exiting with status 3 (FAKE_DIE_IN=%s)\n", method)
		os.Exit(3)
	case method == m.hangIn:
		fmt.Fprintf(os.Stderr, "fake: hanging in %s forever (FAKE_HANG_IN)\n", method)
		select {}
	case method == m.sleepIn:
		fmt.Fprintf(os.Stderr, "fake: sleeping %s in %s (FAKE_SLEEP_IN)\n", m.sleepFor, method)
		time.Sleep(m.sleepFor)
	case method == "Heartbeat" && m.hangHeartbeat:
		select {}
	}
}

func (d *Driver) logCall(method string, detail string) {
	path := d.CallLog
	if path == "" {
		path = d.misbehaviour.callLog
	}
	if path == "" {
		return
	}
	file, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fake: cannot open the call log %s: %v\n", path, err)
		return
	}
	defer file.Close()
	line := method
	if detail != "" {
		line += " " + strings.ReplaceAll(detail, "\n", " ")
	}
	fmt.Fprintln(file, line)
}

// PrintAddress prints the listener's address, or what FAKE_ADDRESS says instead.
func PrintAddress(addr string) {
	switch instead := os.Getenv("FAKE_ADDRESS"); instead {
	case "":
		fmt.Println(addr)
	case "none":
	default:
		fmt.Println(instead)
	}
}
