//! End to end, the hostile inputs that need a host (the rest are in `tests/cli_hostile_input.rs`):
//! engine labels and environment with shell syntax (`$(…)`, backticks, quotes, `;`) reach
//! daemon.json and the systemd unit as data and never run on the host; an engine option with
//! shell syntax that dockerd refuses fails the create with dockerd's reason and leaves the host's
//! engine as it was; a host whose login shell and sudo print banners (and lecture) is provisioned,
//! and provisioned again without a change; a host whose SSH answers slowly is provisioned, and one
//! that answers too slowly fails within the timeout with nothing left. Prints
//! `figure: hostile inputs on a host tried N`. Host c-hostile at 10.211.0.226 (tests/testbed);
//! needs root.

mod common;

use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// Values with shell syntax, each one case; none may ever run.
const LABELS: &[&str] = &[
    "dollar=$(touch /tmp/rmachine-pwned-dollar)",
    "backtick=`touch /tmp/rmachine-pwned-backtick`",
    "quotes='single' \"double\" \\back",
    "semicolon=x; touch /tmp/rmachine-pwned-semicolon; #",
];
const ENVIRONMENT: &str = "HTTP_PROXY=$(touch /tmp/rmachine-pwned-env)";
const REFUSED_OPTION: &str = "x=\"; touch /tmp/rmachine-pwned-option; echo \"";

fn no_marker_ran(host: &TestHost) {
    let found = on_host(host, "find / -xdev -name 'rmachine-pwned*' 2>/dev/null");
    assert_eq!(found.trim(), "", "a value ran as a command on the host");
}

/// The engine's labels asked over TLS as machine `name`, sorted (dockerd does not keep their order).
fn labels_over_tls(store: &Path, name: &str) -> Vec<String> {
    let info = succeeds("docker info", with_env(store, name, "docker info --format '{{json .Labels}}'"));
    sorted(serde_json::from_str(info.trim()).unwrap())
}

fn sorted(mut labels: Vec<String>) -> Vec<String> {
    labels.sort();
    labels
}

/// The engine's labels and security options asked on the host, labels sorted.
fn engine_now(host: &TestHost) -> (Vec<String>, String) {
    let state = engine_state(host);
    let (labels, options) = state.split_once('|').unwrap_or((&state, ""));
    (sorted(serde_json::from_str(labels).unwrap_or_default()), options.to_string())
}

/// A socket-activated sshd on `port` that waits `seconds` before it says anything.
fn slow_sshd(host: &TestHost, port: u16, seconds: u32) {
    on_host(
        host,
        &format!(
            "printf '[Socket]\\nListenStream={port}\\nAccept=yes\\n' >/etc/systemd/system/slowssh{port}.socket; \
             printf '[Service]\\nExecStart=-/bin/sh -c \"sleep {seconds}; exec /usr/sbin/sshd -i\"\\nStandardInput=socket\\nStandardError=journal\\n' \
                 >/etc/systemd/system/slowssh{port}@.service; \
             systemctl daemon-reload && systemctl start slowssh{port}.socket"
        ),
    );
}

/// The tester account prints a banner from ~/.bashrc (before the non-interactive return), sudo is
/// wrapped by one that prints a notice on both streams, and sudo lectures.
fn make_noisy(host: &TestHost) {
    on_host(
        host,
        "sed -i '1i echo \"Welcome to $(hostname): managed by ops\"' ~tester/.bashrc; \
         printf '#!/bin/sh\\necho \"*** NOTICE: sudo use is audited ***\"\\necho \"*** NOTICE: sudo use is audited ***\" >&2\\nexec /usr/bin/sudo \"$@\"\\n' >/usr/local/bin/sudo; \
         chmod 755 /usr/local/bin/sudo; echo 'Defaults lecture=always' >/etc/sudoers.d/lecture; chmod 440 /etc/sudoers.d/lecture",
    );
}

#[test]
fn hostile_input_on_a_host_stays_data_fails_cleanly_or_is_tolerated() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start("c-hostile", "10.211.0.226", &public_key, true);
    let mut tried = 0;

    // Labels and the engine's environment with shell syntax: data, byte for byte.
    let mut extra = Vec::new();
    for label in LABELS {
        extra.extend(["--engine-label", label]);
    }
    extra.extend(["--engine-env", ENVIRONMENT]);
    succeeds("create with shell syntax in labels", create_generic(&store, &key, &host.ip, "data", &extra));
    tried += LABELS.len() + 1;
    let daemon_json: serde_json::Value =
        serde_json::from_str(&on_host(&host, "cat /etc/docker/daemon.json")).expect("daemon.json is JSON");
    let mut written: Vec<String> = LABELS.iter().map(|label| label.to_string()).collect();
    written.push("provider=generic".into());
    assert_eq!(daemon_json["labels"], serde_json::json!(written));
    let expected = sorted(written);
    assert_eq!(labels_over_tls(&store, "data"), expected, "the engine runs them as written");
    let environment =
        on_host(&host, "tr '\\0' '\\n' </proc/$(systemctl show -p MainPID --value docker.service)/environ");
    assert!(environment.lines().any(|line| line == ENVIRONMENT), "dockerd's environment: {environment}");
    no_marker_ran(&host);

    // An option dockerd refuses: the create fails with dockerd's reason; the engine is as it was.
    let before = engine_now(&host);
    let refused = create_generic(&store, &key, &host.ip, "refused", &["--engine-opt", REFUSED_OPTION]);
    tried += 1;
    let message = fails("create with an option dockerd refuses", refused);
    assert!(message.contains("The previous configuration was restored"), "{message}");
    assert!(message.contains("and the engine is running again"), "{message}");
    assert!(message.contains("don't match any configuration option: x"), "dockerd's reason: {message}");
    assert_eq!(engine_now(&host), before, "the host's engine runs what it ran");
    assert_eq!(labels_over_tls(&store, "data"), expected, "machine 'data' still works");
    no_marker_ran(&host);
    succeeds("rm", rmachine(&store, &["rm", "-y", "refused"]));

    // A login banner, a sudo that prints notices, a sudo that lectures.
    make_noisy(&host);
    let noisy = create_generic(&store, &key, &host.ip, "noisy", &["--generic-ssh-user", "tester"]);
    tried += 3;
    let stderr = text(&noisy.stderr);
    succeeds("create as tester on a noisy host", noisy);
    assert!(stderr.contains("prints text before each command rmachine runs"), "{stderr}");
    let again = succeeds("provision again", rmachine(&store, &["provision", "noisy"]));
    assert!(again.contains("no change"), "the banners make every run look like a change: {again}");

    // SSH that answers slowly (6 s before its banner), then too slowly for --ssh-timeout 10.
    slow_sshd(&host, 2222, 6);
    slow_sshd(&host, 2223, 40);
    let started = Instant::now();
    succeeds(
        "create over a slow sshd",
        create_generic(&store, &key, &host.ip, "slow", &["--generic-ssh-port", "2222"]),
    );
    tried += 1;
    println!("figure: create over an sshd that waits 6 s {:.1} s", started.elapsed().as_secs_f64());
    let before = snapshot_names(&store);
    let started = Instant::now();
    let too_slow =
        create_generic(&store, &key, &host.ip, "too-slow", &["--generic-ssh-port", "2223", "--ssh-timeout", "10"]);
    let took = started.elapsed();
    tried += 1;
    let message = fails("create over an sshd slower than --ssh-timeout", too_slow);
    assert!(took < Duration::from_secs(35), "it took {took:?}: {message}");
    assert!(message.contains("10.211.0.226:2223") && message.contains("nothing was left behind"), "{message}");
    assert_eq!(snapshot_names(&store), before, "the store is as it was");

    println!("figure: hostile inputs on a host tried {tried}");
    drop(host);
}

fn snapshot_names(store: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store.join("machines"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
