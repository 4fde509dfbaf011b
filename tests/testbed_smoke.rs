// tests/testbed_smoke.rs — owns the smoke test of the end-to-end testbed itself
// (tests/testbed/testbed.sh via tests/common): a host boots with systemd as PID 1, answers SSH,
// reaches apt through the proxy, has the sudo users the other tests rely on, and leaves nothing
// mounted when stopped. Needs root.

mod common;

use common::*;
use std::path::Path;

#[test]
fn testbed_host_boots_serves_ssh_and_cleans_up() {
    let dir = scratch_dir("testbed-smoke");
    let (key, pubkey) = ssh_keypair(&dir);
    let name = "smoke";
    let host = TestHost::start(name, "10.211.0.200", &pubkey, false);

    let state = host.ssh(&key, "root", "systemctl is-system-running");
    let state = String::from_utf8_lossy(&state.stdout).trim().to_string();
    if state != "running" {
        let failed = host.ssh(&key, "root", "systemctl --failed --no-legend --plain");
        panic!(
            "systemctl is-system-running: {state:?} (want running); failed units:\n{}",
            String::from_utf8_lossy(&failed.stdout)
        );
    }
    assert_eq!(host.ssh_ok(&key, "root", "cat /proc/1/comm").trim(), "systemd", "PID 1 is not systemd");
    assert_eq!(host.ssh_ok(&key, "root", "hostname").trim(), name);

    // apt reaches the Debian mirror through the proxy only
    let apt = host.ssh_ok(&key, "root", "apt-get -q update --error-on=any 2>&1");
    assert!(!apt.contains("Err:"), "apt-get update reported errors:\n{apt}");

    // sudo: tester without password, pwuser needs one
    host.ssh_ok(&key, "tester", "sudo -n true");
    let pw = host.ssh(&key, "pwuser", "sudo -n true");
    assert!(!pw.status.success(), "sudo -n true as pwuser should fail");
    let err = String::from_utf8_lossy(&pw.stderr);
    assert!(err.contains("a password is required"), "unexpected sudo error for pwuser: {err}");

    host.stop();
    let left = leftover_mounts(name);
    assert!(left.is_empty(), "mounts left behind by host {name}: {left:?}");
    assert!(!Path::new("/run/netns/rmt-smoke").exists(), "network namespace left behind");
    let _ = std::fs::remove_dir_all(&dir);
}
