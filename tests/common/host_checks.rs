// tests/common/host_checks.rs — owns what the reliability tests check on a test host after a
// kill or a cut link: that rmachine's remote scripts have finished, that no file is left
// half-written (staged, claimed or uploading names), that daemon.json is whole JSON, what the
// engine runs (labels, security options, its PID) and whether the rollback watchdog acted.

use super::TestHost;
use std::time::{Duration, Instant};

/// Runs `script` inside the host as root (nsenter, not SSH); its stdout, whatever its status.
pub fn on_host(host: &TestHost, script: &str) -> String {
    let output = host.exec(&["sh", "-c", script]);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Waits (at most `limit`) until no script rmachine started on the host still runs: after a kill
/// they go on by themselves (they ignore SIGHUP and SIGPIPE) and finish what they do.
pub fn wait_for_remote_scripts(host: &TestHost, limit: Duration) -> Result<(), String> {
    // "[-]" keeps pgrep from finding the shell that runs it
    let script =
        "pgrep -f 'rmachine[-](write-files|restore-files|set-hostname|ensure-remap-user|restart-docker) ' || true";
    let started = Instant::now();
    loop {
        let running = on_host(host, script);
        if running.trim().is_empty() {
            return Ok(());
        }
        if started.elapsed() > limit {
            return Err(format!("rmachine's scripts still run on {} after {limit:?}: {}", host.name, running.trim()));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Files a remote script left half-way: staged (`.rmachine-new`), half-made backups, uploads,
/// and markers claimed by a script that did not finish.
pub fn partial_files(host: &TestHost) -> Vec<String> {
    let script = "find /etc /var/lib/rmachine /usr/local/bin -xdev \\( -name '*.rmachine-new' -o -name '*.rmachine-bak-new' \
        -o -name '*.rmachine-upload-*' -o -name '*.rmachine-write.taken-over.*' -o -name '*.rmachine-write.restoring.*' \
        -o -name '*.rmachine-write.confirming.*' \\) 2>/dev/null";
    on_host(host, script).lines().map(str::to_string).collect()
}

/// Every file on the host is whole: no partial file, and daemon.json (when there) parses.
pub fn files_are_whole(host: &TestHost) -> Result<(), String> {
    let partial = partial_files(host);
    if !partial.is_empty() {
        return Err(format!("half-written files on {}: {partial:?}", host.name));
    }
    let daemon_json = on_host(host, "cat /etc/docker/daemon.json 2>/dev/null");
    if !daemon_json.is_empty() && serde_json::from_str::<serde_json::Value>(&daemon_json).is_err() {
        return Err(format!("/etc/docker/daemon.json on {} is not whole JSON: {daemon_json:?}", host.name));
    }
    Ok(())
}

/// What the host's engine runs, asked on the host's own socket: "LABELS|SECURITY OPTIONS".
pub fn engine_state(host: &TestHost) -> String {
    on_host(host, "timeout 20 docker info --format '{{json .Labels}}|{{json .SecurityOptions}}' 2>&1")
        .trim()
        .to_string()
}

/// docker.service's main PID ("0" when it does not run): changes with every restart.
pub fn engine_pid(host: &TestHost) -> String {
    on_host(host, "systemctl show -p MainPID --value docker.service").trim().to_string()
}

/// Waits (at most `limit`) until `condition` holds of the engine state; the last state seen.
pub fn wait_for_engine_state(
    host: &TestHost,
    limit: Duration,
    condition: impl Fn(&str) -> bool,
) -> Result<String, String> {
    let started = Instant::now();
    loop {
        let state = engine_state(host);
        if condition(&state) {
            return Ok(state);
        }
        if started.elapsed() > limit {
            return Err(format!("after {limit:?} the engine on {} shows: {state}", host.name));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The rollback watchdog's log on the host.
pub fn rollback_log(host: &TestHost) -> String {
    on_host(host, "cat /var/lib/rmachine/rollback/rollback.log 2>/dev/null")
}

/// Fails with `message` unless `condition`: the reliability tests collect failures per case.
pub fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}
