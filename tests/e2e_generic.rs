//! End to end against real Debian 12 and 13 hosts (systemd, OpenSSH) started on this machine by
//! tests/testbed: create installs and configures Docker over SSH, the docker CLI here talks to it
//! over TLS with what `env` printed, and every failure leaves nothing half-made behind.
//! Needs root, debootstrap and a network namespace per host; `.ci/run` installs all of it.

mod common;

use common::{TestHost, fails, image_tarball, rmachine, ssh_keypair, succeeds, text, with_env};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

/// Runs a command on a test host as root with the system ssh, outside rmachine.
fn host_ssh(key: &Path, ip: &str, command: &str, stdin: Option<&Path>) -> Output {
    let mut ssh = Command::new("ssh");
    ssh.args(["-i"]).arg(key).args([
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "BatchMode=yes",
        &format!("root@{ip}"),
        command,
    ]);
    if let Some(file) = stdin {
        ssh.stdin(std::fs::File::open(file).unwrap());
    }
    ssh.output().expect("ssh runs")
}

fn machines(store: &Path) -> Vec<String> {
    match std::fs::read_dir(store.join("machines")) {
        Ok(entries) => entries.map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect(),
        Err(_) => vec![],
    }
}

#[test]
fn create_installs_and_secures_docker_on_a_fresh_debian_host() {
    fresh_host_end_to_end("e2e-fresh", "10.211.0.11", "bookworm", "20.10.24+dfsg1");
}

/// The same on Debian 13, whose docker.io is 26.1: rmachine against a current engine.
#[test]
fn create_installs_and_secures_docker_on_a_fresh_debian_13_host() {
    fresh_host_end_to_end("d-fresh13", "10.211.0.202", "trixie", "26.1.5+dfsg1");
}

/// create → env → docker info (overlay2, userns) → a container's uid_map → ls, ssh, version →
/// provision again (no change), a refused configuration rolled back, a changed host key refused
/// → rm, on a fresh host of `suite` whose docker.io reports `engine_version`.
fn fresh_host_end_to_end(host_name: &str, ip: &str, suite: &str, engine_version: &str) {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start_suite(host_name, ip, &public_key, false, suite);
    let key_text = key.to_str().unwrap();

    let started = Instant::now();
    let create = rmachine(
        &store,
        &[
            "create",
            "--driver",
            "generic",
            "--generic-ip-address",
            &host.ip,
            "--generic-ssh-key",
            key_text,
            "--engine-storage-driver",
            "overlay2",
            "--engine-userns-remap",
            "default",
            "--engine-label",
            "env=test",
            "node1",
        ],
    );
    succeeds("create", create.clone());
    eprintln!("create on a host without Docker took {:.1}s: {}", started.elapsed().as_secs_f64(), text(&create.stderr));
    assert!(text(&create.stderr).contains("freshly installed"), "{}", text(&create.stderr));

    // Only the server key left the store, readable by root alone.
    let files = succeeds("stat on the host", host_ssh(&key, &host.ip, "stat -c '%n %a' /etc/docker/*.pem", None));
    assert!(files.contains("/etc/docker/server-key.pem 600"), "{files}");
    assert!(files.contains("/etc/docker/server.pem") && files.contains("/etc/docker/ca.pem"), "{files}");
    assert!(!files.contains("ca-key") && !files.contains("/key.pem"), "a store key reached the host: {files}");

    // The docker CLI on this machine talks to the engine over TLS with what env printed.
    let info = succeeds(
        "docker info",
        with_env(&store, "node1", "docker info --format '{{.Driver}}|{{json .SecurityOptions}}|{{json .Labels}}'"),
    );
    let parts: Vec<&str> = info.trim().split('|').collect();
    assert_eq!(parts[0], "overlay2", "{info}");
    assert!(parts[1].contains("name=userns"), "{info}");
    assert!(parts[2].contains("provider=generic") && parts[2].contains("env=test"), "{info}");

    // A container sees the remapped user namespace.
    let tarball = image_tarball(folder.path());
    let uid_map = succeeds(
        "docker run",
        with_env(
            &store,
            "node1",
            &format!(
                "docker import '{}' rmtest/busybox:1 >/dev/null && docker run --rm rmtest/busybox:1 cat /proc/self/uid_map",
                tarball.display()
            ),
        ),
    );
    assert_eq!(uid_map.split_whitespace().collect::<Vec<_>>(), vec!["0", "100000", "65536"], "{uid_map}");

    // Without TLS the engine refuses us.
    let plain = Command::new("docker")
        .args(["-H", &format!("tcp://{}:2376", host.ip), "info"])
        .env_remove("DOCKER_TLS_VERIFY")
        .output()
        .unwrap();
    assert!(!plain.status.success(), "the engine answered without a client certificate");

    let listing = succeeds("ls", rmachine(&store, &["ls"]));
    let row = listing.lines().find(|line| line.starts_with("node1")).unwrap_or_else(|| panic!("{listing}"));
    let columns: Vec<&str> = row.split_whitespace().collect();
    // Debian's docker.io reports its version as 20.10.24+dfsg1 (or 26.1.5+dfsg1); ls shows what
    // the engine says.
    let url = format!("tcp://{ip}:2376");
    let version_column = format!("v{engine_version}");
    assert_eq!(columns, vec!["node1", "-", "generic", "Running", &url, &version_column], "{listing}");

    assert_eq!(succeeds("ssh", rmachine(&store, &["ssh", "node1", "--", "uname", "-n"])), "node1\n");
    assert_eq!(rmachine(&store, &["ssh", "node1", "--", "exit", "7"]).status.code(), Some(7));
    assert_eq!(succeeds("version", rmachine(&store, &["version", "node1"])), format!("{engine_version}\n"));

    let duplicate = fails(
        "a second create with the same name",
        rmachine(
            &store,
            &[
                "create",
                "--driver",
                "generic",
                "--generic-ip-address",
                &host.ip,
                "--generic-ssh-key",
                key_text,
                "node1",
            ],
        ),
    );
    assert!(duplicate.contains("machine 'node1' already exists"), "{duplicate}");

    // Provisioning again changes nothing.
    let started = Instant::now();
    let again = rmachine(&store, &["provision", "node1"]);
    succeeds("provision", again.clone());
    eprintln!("re-provisioning an unchanged host took {:.1}s", started.elapsed().as_secs_f64());
    assert!(text(&again.stderr).contains("no change"), "{}", text(&again.stderr));

    // A configuration dockerd refuses is rolled back and the engine keeps running.
    let record_path = store.join("machines/node1/machine.json");
    let original = std::fs::read_to_string(&record_path).unwrap();
    let mut record: serde_json::Value = serde_json::from_str(&original).unwrap();
    record["engine"]["options"] = serde_json::json!(["no-such-directive=1"]);
    std::fs::write(&record_path, record.to_string()).unwrap();
    let broken = fails("provision with a bad engine option", rmachine(&store, &["provision", "node1"]));
    assert!(broken.contains("no-such-directive"), "the daemon's own error is shown: {broken}");
    assert!(broken.contains("restored"), "{broken}");
    std::fs::write(&record_path, &original).unwrap();
    assert_eq!(
        succeeds("docker info after rollback", with_env(&store, "node1", "docker info --format '{{.Driver}}'")).trim(),
        "overlay2"
    );

    // A changed host key is refused, naming both fingerprints.
    succeeds(
        "host key change",
        host_ssh(
            &key,
            &host.ip,
            "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && systemctl restart ssh",
            None,
        ),
    );
    let refused = fails("ssh after the host key changed", rmachine(&store, &["ssh", "node1", "--", "true"]));
    assert!(refused.contains(&format!("host key for {ip}:22 has changed")), "{refused}");
    assert_eq!(refused.matches("SHA256:").count(), 2, "{refused}");

    succeeds("rm", rmachine(&store, &["rm", "-y", "node1"]));
    assert!(machines(&store).is_empty());
    drop(host);
}

#[test]
fn create_adopts_a_host_that_already_runs_docker_through_sudo() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start("e2e-adopt", "10.211.0.12", &public_key, true);

    // The host already has an image and a container of its own.
    let tarball = image_tarball(folder.path());
    succeeds(
        "import on the host",
        host_ssh(
            &key,
            &host.ip,
            "docker import - existing/image:1 >/dev/null && docker create --name keeper existing/image:1 sleep 1 >/dev/null",
            Some(&tarball),
        ),
    );

    let started = Instant::now();
    let create = rmachine(
        &store,
        &[
            "create",
            "--driver",
            "generic",
            "--generic-ip-address",
            &host.ip,
            "--generic-ssh-user",
            "tester",
            "--generic-ssh-key",
            key.to_str().unwrap(),
            "adopted",
        ],
    );
    succeeds("create as a sudo user", create.clone());
    eprintln!("create on a host with Docker took {:.1}s: {}", started.elapsed().as_secs_f64(), text(&create.stderr));
    assert!(!text(&create.stderr).contains("freshly installed"), "{}", text(&create.stderr));

    let kept = succeeds(
        "docker on the adopted host",
        with_env(
            &store,
            "adopted",
            "docker image ls --format '{{.Repository}}:{{.Tag}}'; docker ps -a --format '{{.Names}}'",
        ),
    );
    assert!(
        kept.contains("existing/image:1") && kept.contains("keeper"),
        "adoption lost the host's images or containers: {kept}"
    );
    assert_eq!(succeeds("ssh", rmachine(&store, &["ssh", "adopted", "--", "id", "-un"])), "tester\n");

    succeeds("rm", rmachine(&store, &["rm", "-y", "adopted"]));
    drop(host);
}

#[test]
fn failed_creates_say_why_and_leave_nothing_half_made() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let other = folder.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let (wrong_key, _) = ssh_keypair(&other);
    let host = TestHost::start("e2e-fail", "10.211.0.13", &public_key, false);

    let refused = fails(
        "create with a key the host does not know",
        rmachine(
            &store,
            &[
                "create",
                "--driver",
                "generic",
                "--generic-ip-address",
                &host.ip,
                "--generic-ssh-key",
                wrong_key.to_str().unwrap(),
                "wrongkey",
            ],
        ),
    );
    assert!(refused.contains("SSH authentication failed for root@10.211.0.13:22"), "{refused}");
    assert!(refused.contains("nothing was left behind"), "{refused}");
    assert!(machines(&store).is_empty(), "{:?}", machines(&store));

    let unreachable = fails(
        "create at an address nobody answers",
        rmachine(
            &store,
            &[
                "create",
                "--driver",
                "generic",
                "--generic-ip-address",
                "10.211.0.250",
                "--generic-ssh-key",
                wrong_key.to_str().unwrap(),
                "--ssh-timeout",
                "5",
                "nobody",
            ],
        ),
    );
    assert!(unreachable.contains("10.211.0.250:22 did not answer SSH within 5s"), "{unreachable}");
    assert!(machines(&store).is_empty(), "{:?}", machines(&store));

    let password_sudo = fails(
        "create as a user whose sudo wants a password",
        rmachine(
            &store,
            &[
                "create",
                "--driver",
                "generic",
                "--generic-ip-address",
                &host.ip,
                "--generic-ssh-user",
                "pwuser",
                "--generic-ssh-key",
                key.to_str().unwrap(),
                "pwsudo",
            ],
        ),
    );
    assert!(password_sudo.contains("passwordless sudo"), "{password_sudo}");
    let listing = succeeds("ls", rmachine(&store, &["ls", "--timeout", "5"]));
    let row = listing.lines().find(|line| line.starts_with("pwsudo")).unwrap_or_else(|| panic!("{listing}"));
    assert!(row.contains("sudo"), "ls shows the error: {listing}");
    succeeds("rm", rmachine(&store, &["rm", "-y", "pwsudo"]));
    assert!(machines(&store).is_empty());
    drop(host);
}
