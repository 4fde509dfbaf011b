//! End to end: a `create` killed (SIGKILL) while it installs the engine on a bare Debian 12 host,
//! then at once `rm -f` and `create` again on the same host, as a user would. The kill comes
//! after rmachine prints its "installing docker.io" line, once the host's `apt-get install` runs
//! (before it, apt-get update runs, and an orphan dies when it prints update's output into the
//! closed SSH channel), plus a few seconds; the retry starts once the
//! orphaned apt has unpacked dockerd, the moment at which a retry used to take the half-installed
//! docker.io for an installed one and fail ("Dependency failed for docker.service"). Two ends:
//! the orphaned apt goes on (the retry waits for it), or it is killed too (the retry finishes the
//! half-done packages with dpkg --configure -a). Prints the retried create's time as figures.
//! Hosts f-wait and f-repair at 10.211.0.95-96 (tests/testbed); needs root.

mod common;

use common::{TestHost, image_tarball, rmachine, rmachine_command, ssh_keypair, succeeds, text, with_env};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The progress line of the engine install.
const INSTALL_LINE: &str = "installing docker.io";
/// How long after the host's `apt-get install` starts rmachine is killed: apt then downloads.
const KILL_AFTER: Duration = Duration::from_secs(3);

fn create_arguments<'a>(host: &'a TestHost, key: &'a Path, name: &'a str) -> Vec<&'a str> {
    vec![
        "create",
        "--driver",
        "generic",
        "--generic-ip-address",
        &host.ip,
        "--generic-ssh-key",
        key.to_str().unwrap(),
        name,
    ]
}

/// Starts `create`, reads its stderr until the install line, waits until the host runs
/// `apt-get install`, then KILL_AFTER, and kills rmachine with SIGKILL. Returns the lines it printed.
fn create_killed_during_the_install(store: &Path, key: &Path, host: &TestHost, name: &str) -> Vec<String> {
    let mut child = rmachine_command(store)
        .args(create_arguments(host, key, name))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rmachine starts");
    let mut lines = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.expect("rmachine's stderr is text");
        let installing = line.contains(INSTALL_LINE);
        lines.push(line);
        if installing {
            let started = Instant::now();
            while on_host(host, "pgrep -f '^apt-get .* install -y docker[.]io' || true").trim().is_empty() {
                assert!(started.elapsed() < Duration::from_secs(120), "apt-get install never started: {lines:?}");
                std::thread::sleep(Duration::from_millis(100));
            }
            std::thread::sleep(KILL_AFTER);
            child.kill().expect("SIGKILL rmachine");
            child.wait().unwrap();
            return lines;
        }
    }
    panic!("create ended before it printed {INSTALL_LINE:?}: {lines:?} ({:?})", child.wait());
}

/// Runs `script` inside the host as root (nsenter, not SSH); its stdout.
fn on_host(host: &TestHost, script: &str) -> String {
    succeeds(&format!("{script} on {}", host.name), host.exec(&["sh", "-c", script]))
}

/// Waits until the orphaned apt has unpacked dockerd, while it still runs: the state a retry
/// used to misread. Panics when apt finished first (the test then reproduces nothing).
fn wait_until_dockerd_is_unpacked_by_the_running_apt(host: &TestHost) {
    let started = Instant::now();
    while on_host(host, "test -e /usr/sbin/dockerd && echo unpacked || true").trim() != "unpacked" {
        assert!(started.elapsed() < Duration::from_secs(240), "the orphaned apt never unpacked dockerd");
        std::thread::sleep(Duration::from_millis(250));
    }
    let state =
        on_host(host, "dpkg-query -W -f='${db:Status-Abbrev}' docker.io; ps -eo args= | grep -c '^apt-get' || true");
    assert!(
        !state.starts_with("ii") && !state.trim_end().ends_with('0'),
        "the orphaned apt finished docker.io before the retry could start ({state:?}): nothing to reproduce"
    );
}

/// `rm -f` and `create` again at once; returns create's stderr and how long it took.
fn remove_and_create_again(store: &Path, key: &Path, host: &TestHost, name: &str) -> (String, Duration) {
    succeeds("rm -f", rmachine(store, &["rm", "-f", "-y", name]));
    let started = Instant::now();
    let created = rmachine(store, &create_arguments(host, key, name));
    let took = started.elapsed();
    let stderr = text(&created.stderr);
    succeeds("the retried create", created);
    (stderr, took)
}

/// The engine answers over TLS and runs a container; dpkg has nothing left half-done.
fn assert_working_engine(store: &Path, host: &TestHost, name: &str, folder: &Path) {
    let tarball = image_tarball(folder);
    let script = format!(
        "docker import '{}' rmtest/busybox:1 >/dev/null && docker run --rm rmtest/busybox:1 echo ran",
        tarball.display()
    );
    assert_eq!(succeeds("a container on the retried machine", with_env(store, name, &script)).trim(), "ran");
    assert_eq!(on_host(host, "dpkg --audit; dpkg-query -W -f='${db:Status-Abbrev}' docker.io"), "ii ");
    let listed = succeeds("ls", rmachine(store, &["ls", "--format", "{{.Name}} {{.State}} {{.Error}}"]));
    assert_eq!(listed.trim(), format!("{name} Running"), "{listed}");
}

#[test]
fn a_create_killed_during_apt_is_retried_at_once_and_waits_for_the_orphaned_apt() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start("f-wait", "10.211.0.95", &public_key, false);

    let printed = create_killed_during_the_install(&store, &key, &host, "waited");
    wait_until_dockerd_is_unpacked_by_the_running_apt(&host);
    let (stderr, took) = remove_and_create_again(&store, &key, &host, "waited");
    assert!(stderr.contains("waiting for another package manager run (PID "), "{printed:?}\n{stderr}");
    assert!(!stderr.contains(INSTALL_LINE), "the orphaned apt installed docker.io, not the retry: {stderr}");
    println!("figure: retried_create_waiting_for_the_orphaned_apt {:.1} s", took.as_secs_f64());
    assert_working_engine(&store, &host, "waited", folder.path());
    succeeds("rm", rmachine(&store, &["rm", "-y", "waited"]));
    drop(host);
}

#[test]
fn a_create_killed_with_its_apt_is_retried_at_once_and_finishes_the_half_done_packages() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start("f-repair", "10.211.0.96", &public_key, false);

    create_killed_during_the_install(&store, &key, &host, "repaired");
    wait_until_dockerd_is_unpacked_by_the_running_apt(&host);
    // The host loses the apt too (an OOM kill, a reboot): SIGKILL the install script, apt-get and dpkg.
    // ("[.]" keeps pgrep from finding this very command line.)
    on_host(&host, "kill -9 $(pgrep -f 'install-packages-apt[.]sh: installs') $(pgrep -x apt-get) $(pgrep -x dpkg)");
    assert_ne!(on_host(&host, "dpkg --audit || true").trim(), "", "dpkg must have something half-done");
    let (stderr, took) = remove_and_create_again(&store, &key, &host, "repaired");
    assert!(stderr.contains("finishing the packages an interrupted install left half-done ("), "{stderr}");
    assert!(stderr.contains("it was finished with dpkg --configure -a"), "the warning says what was done: {stderr}");
    println!("figure: retried_create_repairing_the_killed_apt {:.1} s", took.as_secs_f64());
    assert_working_engine(&store, &host, "repaired", folder.path());
    succeeds("rm", rmachine(&store, &["rm", "-y", "repaired"]));
    drop(host);
}
