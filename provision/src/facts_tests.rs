//! Tests of facts parsing, on a recorded Debian 12 sample and on the real script run locally.

use super::*;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/facts/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

#[test]
fn parses_a_debian_host_running_docker_io() {
    let facts = HostFacts::parse(&fixture("debian-12-docker-io.txt")).unwrap();
    assert_eq!(facts.os_release.id(), "debian");
    assert!(facts.has_os_release);
    assert_eq!(facts.user_id, 1000);
    assert_eq!(facts.user_name, "admin");
    assert_eq!(facts.sudo, SudoState::Passwordless);
    assert_eq!(facts.hostname, "debian");
    assert_eq!(facts.init_process, "systemd");
    assert!(facts.systemd_booted);
    assert_eq!(facts.program("dockerd"), Some("/usr/sbin/dockerd"));
    assert_eq!(facts.program("wget"), None);
    let service = facts.docker_service.as_ref().unwrap();
    assert_eq!(service.load_state, "loaded");
    assert_eq!(service.active_state, "active");
    assert_eq!(service.fragment_path, "/lib/systemd/system/docker.service");
    assert_eq!(service.socket_load_state, "loaded");
    assert!(service.unit_text.as_ref().unwrap().contains("ExecStart=/usr/sbin/dockerd -H fd://"));
    assert_eq!(service.drop_ins.len(), 1);
    assert_eq!(service.drop_ins[0].0, "/etc/systemd/system/docker.service.d/10-machine.conf");
    assert!(facts.docker_service_active());
    assert_eq!(facts.storage_driver_in_use.as_deref(), Some("overlay2"));
    assert_eq!(facts.file("/etc/hostname"), Some("debian\n"));
    assert_eq!(facts.file("/etc/docker/daemon.json"), Some("{\"log-driver\": \"journald\"}"));
    assert_eq!(facts.file("/etc/docker/server.pem"), None);
    assert_eq!(
        facts.file_state("/etc/docker/ca.pem"),
        Some(&FileState {
            sha256: "5f9c4ab08cac7457e9111a30e4664920607ea2c115a1433d7be98e97e64244ca".into(),
            mode: "644".into()
        })
    );
    assert_eq!(facts.docker_root_filesystem.as_deref(), Some("ext2/ext3"));
    assert!(facts.overlay_filesystem);
    assert!(!facts.fuse_device);
}

#[test]
fn bodies_keep_their_exact_bytes() {
    let output = "@@rmachine-section@@ user-id\n0\n@@rmachine-section@@ sudo\nroot\n\n\
                  @@rmachine-section@@ file /a\nno newline\n\
                  @@rmachine-section@@ file /b\ntwo newlines\n\n\n\
                  @@rmachine-section@@ file /c\n\n";
    let facts = HostFacts::parse(output).unwrap();
    assert_eq!(facts.file("/a"), Some("no newline"));
    assert_eq!(facts.file("/b"), Some("two newlines\n\n"));
    assert_eq!(facts.file("/c"), Some(""));
}

#[test]
fn sudo_denial_keeps_what_sudo_said() {
    let output = "@@rmachine-section@@ user-id\n1000\n\
                  @@rmachine-section@@ sudo\ndenied\nsudo: a password is required\n";
    let facts = HostFacts::parse(output).unwrap();
    assert_eq!(facts.sudo, SudoState::Denied("sudo: a password is required".into()));
    assert_eq!(facts.user_name, "1000", "falls back to the user id");
    assert!(facts.docker_service.is_none());
    assert!(!facts.docker_service_active());
}

#[test]
fn garbage_is_refused() {
    assert!(HostFacts::parse("bash: sh: command not found\n").is_err());
    assert!(HostFacts::parse("").is_err());
    assert!(HostFacts::parse("@@rmachine-section@@ user-id\nroot\n@@rmachine-section@@ sudo\nroot\n").is_err());
    assert!(HostFacts::parse("@@rmachine-section@@ user-id\n0\n@@rmachine-section@@ sudo\nmaybe\n").is_err());
}

#[test]
fn the_real_script_runs_and_parses_here() {
    let directory = std::env::temp_dir().join(format!("rmachine-facts-test-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let managed = directory.join("managed.pem");
    std::fs::write(&managed, "abc").unwrap();
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(crate::shell::FACTS.text)
        .arg(crate::shell::FACTS.name)
        .arg(&managed)
        .arg(directory.join("missing.pem"))
        .output()
        .unwrap();
    std::fs::remove_dir_all(&directory).unwrap();
    assert!(output.status.success(), "{output:?}");
    let facts = HostFacts::parse(&String::from_utf8_lossy(&output.stdout)).unwrap();
    assert!(!facts.hostname.is_empty());
    assert!(!facts.init_process.is_empty());
    let state = facts.file_state(&managed.to_string_lossy()).expect("managed file reported");
    assert_eq!(state.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert!(facts.file_state(&directory.join("missing.pem").to_string_lossy()).is_none());
}
