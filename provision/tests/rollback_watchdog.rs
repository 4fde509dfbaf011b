//! The host's rollback watchdog (scripts/rollback-watchdog.sh) run for real with the local sh on a
//! scratch directory, together with the real write-files.sh and restore-files.sh: unconfirmed, it
//! restores the files and runs the restart script by itself once its deadline passes, with
//! nobody connected; confirmed, it stands down; a confirmation or an extension after it acted is
//! told apart (exit 3); a newer run that takes over makes it leave. The restart script is a stand-in
//! that records that it ran (no engine here); detaching uses setsid, never this machine's systemd.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const WATCHDOG: &str = include_str!("../scripts/rollback-watchdog.sh");
const WRITE_FILES: &str = include_str!("../scripts/write-files.sh");
const RESTORE_FILES: &str = include_str!("../scripts/restore-files.sh");
/// Stands in for restart-docker-*.sh: records its arguments.
const FAKE_RESTART: &str = "printf 'restarted with %s\\n' \"$*\" >>\"$(dirname \"$0\")/restarts\"\n";

struct Scratch {
    root: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let root = std::env::temp_dir().join(format!("rmachine-watchdog-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        Scratch { root }
    }

    fn path(&self, name: &str) -> String {
        self.root.join(name).to_string_lossy().into_owned()
    }

    fn marker(&self) -> String {
        self.path("etc/.rmachine-write")
    }

    fn watchdog_directory(&self) -> String {
        self.path("rollback")
    }

    fn read(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(name)).ok()
    }

    /// write-files.sh for one file under run `run`.
    fn write(&self, run: &str, file: &str, content: &str) {
        let arguments = [self.marker(), run.to_string(), self.path(file), "0644".into(), content.len().to_string()];
        let output = script(WRITE_FILES, "rmachine-write-files", &arguments, content.as_bytes());
        assert!(output.status.success(), "write-files: {output:?}");
    }

    fn watchdog(&self, action: &str, run: &str, rest: &[&str]) -> Output {
        let mut arguments = vec![action.to_string(), self.marker(), run.to_string()];
        arguments.extend(rest.iter().map(|argument| argument.to_string()));
        script(WATCHDOG, "rmachine-rollback-watchdog", &arguments, b"")
    }

    /// arm with a deadline `seconds` away and the fake restart (argument "90").
    fn arm(&self, run: &str, seconds: u64) -> Output {
        let seconds = seconds.to_string();
        let directory = self.watchdog_directory();
        self.watchdog("arm", run, &[&seconds, &directory, "setsid", WATCHDOG, RESTORE_FILES, FAKE_RESTART, "90"])
    }

    fn restarts(&self) -> String {
        self.read("rollback/restarts").unwrap_or_default()
    }

    fn log(&self) -> String {
        self.read("rollback/rollback.log").unwrap_or_default()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn script(text: &str, name: &str, arguments: &[String], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(text)
        .arg(name)
        .args(arguments)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Waits until `condition` holds, at most `limit`.
fn wait_for(limit: Duration, what: &str, condition: impl Fn() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "{what} did not happen within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn watchdog_runs(scratch: &Scratch) -> bool {
    let Some(pid) =
        scratch.read("rollback/watchdog.pid").and_then(|line| line.split_whitespace().nth(1).map(String::from))
    else {
        return false;
    };
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ")
}

#[test]
fn unconfirmed_it_restores_and_restarts_by_itself_once_the_deadline_passes() {
    let scratch = Scratch::new("fires");
    std::fs::create_dir_all(scratch.path("etc")).unwrap();
    std::fs::write(scratch.path("etc/daemon.json"), "confirmed").unwrap();
    scratch.write("run-1", "etc/daemon.json", "new");
    let armed = scratch.arm("run-1", 2);
    assert!(armed.status.success(), "{armed:?}");
    assert!(text(&armed.stdout).contains("unless confirmed within 2 s"), "{armed:?}");
    // rmachine is gone: nobody confirms, nothing is connected.
    wait_for(Duration::from_secs(15), "the rollback", || scratch.restarts().contains("restarted with 90"));
    assert_eq!(scratch.read("etc/daemon.json").as_deref(), Some("confirmed"));
    assert_eq!(scratch.read("etc/.rmachine-write"), None);
    let log = scratch.log();
    assert!(log.contains("run run-1: not confirmed by its deadline: restoring the previous configuration"), "{log}");
    assert!(log.contains("restored "), "{log}");
    // Too late now: both say the host acted (exit 3).
    assert_eq!(scratch.watchdog("confirm", "run-1", &[]).status.code(), Some(3));
    assert_eq!(scratch.watchdog("extend", "run-1", &["30"]).status.code(), Some(3));
}

#[test]
fn confirmed_it_stands_down_and_an_extension_keeps_it_waiting() {
    let scratch = Scratch::new("confirmed");
    std::fs::create_dir_all(scratch.path("etc")).unwrap();
    scratch.write("run-1", "etc/daemon.json", "new");
    assert!(scratch.arm("run-1", 2).status.success());
    wait_for(Duration::from_secs(5), "the watchdog start", || watchdog_runs(&scratch));
    let extended = scratch.watchdog("extend", "run-1", &["60"]);
    assert!(extended.status.success(), "{extended:?}");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(scratch.restarts(), "", "the extended deadline has not passed");
    let again = scratch.arm("run-1", 60);
    assert!(text(&again.stdout).contains("already runs"), "one watchdog per run: {again:?}");
    let confirmed = scratch.watchdog("confirm", "run-1", &[]);
    assert!(confirmed.status.success(), "{confirmed:?}");
    wait_for(Duration::from_secs(5), "the watchdog leaving", || !watchdog_runs(&scratch));
    assert_eq!(scratch.read("etc/daemon.json").as_deref(), Some("new"));
    assert_eq!(scratch.restarts(), "");
    assert!(scratch.log().contains("confirmed, restored or taken over by a newer run: nothing to do"));
    assert_eq!(scratch.watchdog("confirm", "run-1", &[]).status.code(), Some(4), "nothing left to confirm");
}

#[test]
fn a_newer_run_takes_over_and_the_older_watchdog_leaves() {
    let scratch = Scratch::new("takeover");
    std::fs::create_dir_all(scratch.path("etc")).unwrap();
    std::fs::write(scratch.path("etc/daemon.json"), "confirmed").unwrap();
    scratch.write("run-1", "etc/daemon.json", "first");
    assert!(scratch.arm("run-1", 3).status.success());
    wait_for(Duration::from_secs(5), "the watchdog start", || watchdog_runs(&scratch));
    // rmachine was killed after the restart; the next run writes again and arms its own.
    scratch.write("run-2", "etc/daemon.json", "second");
    assert_eq!(scratch.arm("run-1", 3).status.code(), Some(4), "the older run can no longer arm");
    assert!(scratch.arm("run-2", 2).status.success());
    wait_for(Duration::from_secs(15), "run-2's rollback", || scratch.restarts().contains("restarted"));
    assert_eq!(
        scratch.read("etc/daemon.json").as_deref(),
        Some("confirmed"),
        "the configuration confirmed before both runs comes back"
    );
    assert_eq!(scratch.restarts().lines().count(), 1, "run-1's watchdog left without acting: {}", scratch.log());
}

#[test]
fn rmachines_own_restore_wins_over_the_watchdog() {
    let scratch = Scratch::new("restore-first");
    std::fs::create_dir_all(scratch.path("etc")).unwrap();
    std::fs::write(scratch.path("etc/daemon.json"), "confirmed").unwrap();
    scratch.write("run-1", "etc/daemon.json", "new");
    assert!(scratch.arm("run-1", 2).status.success());
    let restored = script(RESTORE_FILES, "rmachine-restore-files", &[scratch.marker(), "run-1".into()], b"");
    assert!(text(&restored.stdout).contains("restored "), "{restored:?}");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(scratch.restarts(), "", "the watchdog found nothing left to do");
    assert_eq!(scratch.read("etc/daemon.json").as_deref(), Some("confirmed"));
}
