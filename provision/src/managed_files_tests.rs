//! Tests of managed files, including the real write-files.sh and restore-files.sh run locally on
//! a scratch directory.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::*;
use crate::shell::{RESTORE_FILES, Script, WRITE_FILES};

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("rmachine-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `script` locally as `sh -c SCRIPT NAME ARGUMENTS…` with `input` on stdin.
fn run(script: &Script, arguments: &[String], input: &[u8]) -> (i32, String, String) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script.text)
        .arg(script.name)
        .args(arguments)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn mode_of(path: &str) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn hash_and_mode_match_what_the_host_reports() {
    let file = ManagedFile::new("/x", 0o600, "abc");
    assert_eq!(file.sha256(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(file.mode_text(), "600");
    let same = FileState { sha256: file.sha256(), mode: "600".into() };
    assert!(file.is_on_host(Some(&same)));
    let wrong_mode = FileState { mode: "644".into(), ..same.clone() };
    assert!(!file.is_on_host(Some(&wrong_mode)));
    assert!(!file.is_on_host(None));
}

#[test]
fn certificates_get_their_paths_and_modes() {
    let files = certificate_files(&EngineCertificates {
        ca_pem: "ca".into(),
        server_cert_pem: "cert".into(),
        server_key_pem: "key".into(),
    });
    let summary: Vec<_> = files.iter().map(|file| (file.path.as_str(), file.mode)).collect();
    assert_eq!(
        summary,
        [("/etc/docker/ca.pem", 0o644), ("/etc/docker/server.pem", 0o644), ("/etc/docker/server-key.pem", 0o600)]
    );
}

#[test]
fn write_files_input_lists_path_mode_and_length() {
    let first = ManagedFile::new("/etc/a", 0o644, "12345");
    let second = ManagedFile::new("/etc/b c", 0o600, "");
    let (arguments, input) = write_files_input("run-1", &[&first, &second]);
    assert_eq!(arguments, [WRITE_MARKER_PATH, "run-1", "/etc/a", "0644", "5", "/etc/b c", "0600", "0"]);
    assert_eq!(input, b"12345");
}

#[test]
fn write_then_restore_round_trip() {
    let scratch = Scratch::new("write-restore");
    let existing = scratch.path("daemon.json");
    std::fs::write(&existing, "old content\n").unwrap();
    let fresh = scratch.path("drop-in.d/10-rmachine.conf");
    let key = scratch.path("server-key.pem");
    let files = [
        ManagedFile::new(&existing, 0o644, "{\n  \"tls\": true\n}\n"),
        ManagedFile::new(&fresh, 0o644, "no trailing newline"),
        ManagedFile::new(&key, 0o600, "it's a 'key' with $dollar and \\ backslash\n"),
    ];
    let (mut arguments, input) = write_files_input("run-7", &files.iter().collect::<Vec<_>>());
    arguments[0] = scratch.path(".rmachine-write");

    let (status, stdout, stderr) = run(&WRITE_FILES, &arguments, &input);
    assert_eq!(status, 0, "{stdout}{stderr}");
    for file in &files {
        assert_eq!(read(&file.path), file.content, "{}", file.path);
        assert_eq!(mode_of(&file.path), file.mode, "{}", file.path);
        assert!(!Path::new(&format!("{}.rmachine-new", file.path)).exists());
    }
    assert_eq!(read(&format!("{existing}.rmachine-bak")), b"old content\n");
    assert!(!Path::new(&format!("{fresh}.rmachine-bak")).exists());
    assert_eq!(read(&arguments[0]), b"run-7\n");

    let mut restore_arguments = vec![arguments[0].clone(), "run-7".to_string()];
    restore_arguments.extend(files.iter().map(|file| file.path.clone()));
    let (status, stdout, stderr) = run(&RESTORE_FILES, &restore_arguments, b"");
    assert_eq!(status, 0, "{stdout}{stderr}");
    assert_eq!(read(&existing), b"old content\n");
    assert!(!Path::new(&fresh).exists());
    assert!(!Path::new(&key).exists());
    assert!(!Path::new(&arguments[0]).exists());
    assert!(stdout.contains(&format!("restored {existing}")), "{stdout}");
    assert!(stdout.contains(&format!("removed {fresh}")), "{stdout}");
}

#[test]
fn short_input_changes_nothing() {
    let scratch = Scratch::new("write-short");
    let existing = scratch.path("daemon.json");
    std::fs::write(&existing, "old").unwrap();
    let file = ManagedFile::new(&existing, 0o644, "new content");
    let (mut arguments, input) = write_files_input("run-1", &[&file]);
    arguments[0] = scratch.path(".rmachine-write");
    let (status, _, stderr) = run(&WRITE_FILES, &arguments, &input[..4]);
    assert_eq!(status, 10, "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(read(&existing), b"old");
    assert!(!Path::new(&format!("{existing}.rmachine-new")).exists());
    assert!(!Path::new(&arguments[0]).exists());

    let (status, _, stderr) =
        run(&WRITE_FILES, &[arguments[0].clone(), "r".into(), "relative".into(), "0644".into(), "0".into()], b"");
    assert_eq!(status, 10, "{stderr}");
}

#[test]
fn restore_of_another_run_touches_nothing() {
    let scratch = Scratch::new("restore-other");
    let existing = scratch.path("daemon.json");
    std::fs::write(&existing, "current").unwrap();
    std::fs::write(format!("{existing}.rmachine-bak"), "older run").unwrap();
    let marker = scratch.path(".rmachine-write");
    std::fs::write(&marker, "run-old\n").unwrap();
    let (status, stdout, _) = run(&RESTORE_FILES, &[marker.clone(), "run-new".into(), existing.clone()], b"");
    assert_eq!(status, 0);
    assert!(stdout.contains("nothing to restore"), "{stdout}");
    assert_eq!(read(&existing), b"current");
}

#[test]
fn files_are_renamed_into_place_and_a_dropped_connection_does_not_stop_the_renames() {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let scratch = Scratch::new("write-dropped");
    let first = scratch.path("daemon.json");
    let second = scratch.path("server-key.pem");
    std::fs::write(&first, "old daemon.json").unwrap();
    std::fs::write(&second, "old key").unwrap();
    let mut opened_before = std::fs::File::open(&first).unwrap();
    let inode_before = std::fs::metadata(&first).unwrap().ino();
    let files = [ManagedFile::new(&first, 0o644, "new daemon.json"), ManagedFile::new(&second, 0o600, "new key")];
    let (mut arguments, input) = write_files_input("run-3", &files.iter().collect::<Vec<_>>());
    arguments[0] = scratch.path(".rmachine-write");

    // rmachine killed: the SSH channel is gone, so the script's "wrote …" lines hit a closed pipe.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(WRITE_FILES.text)
        .arg(WRITE_FILES.name)
        .args(&arguments)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "write-files.sh died with the connection ({status}): the files are half replaced");
    assert_eq!(read(&first), b"new daemon.json");
    assert_eq!(read(&second), b"new key");
    assert_eq!(read(&arguments[0]), b"run-3\n");
    assert_eq!(read(&format!("{second}.rmachine-bak")), b"old key");
    // Renamed, not rewritten: the old file is whole for whoever had it open.
    assert_ne!(std::fs::metadata(&first).unwrap().ino(), inode_before);
    let mut old = String::new();
    opened_before.read_to_string(&mut old).unwrap();
    assert_eq!(old, "old daemon.json");
    let leftovers: Vec<_> = std::fs::read_dir(&scratch.0)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with("-new"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
