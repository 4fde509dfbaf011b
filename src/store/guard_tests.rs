//! Tests of what the store refuses or repairs: machine folders that are symbolic links, folders
//! others can enter, private keys others can read; and that two stores never share a lock.

use super::tests::{ignore, record};
use super::*;
use std::os::unix::fs::PermissionsExt;
use std::sync::Mutex;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every notice any store of these tests gave (tests run in parallel: each looks for its paths).
static NOTICES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn remember(notice: &str) {
    NOTICES.lock().unwrap().push(notice.to_string());
}

fn noticed(path: &Path) -> Vec<String> {
    let path = path.display().to_string();
    NOTICES.lock().unwrap().iter().filter(|notice| notice.starts_with(&format!("{path} "))).cloned().collect()
}

#[test]
fn a_machine_folder_that_is_a_symbolic_link_is_never_followed() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(&folder.path().join("store"), ignore).unwrap();
    store.add(&mut record("real")).unwrap();
    let outside = folder.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let json = serde_json::to_string(&record("linked")).unwrap();
    std::fs::write(outside.join(RECORD_FILE_NAME), &json).unwrap();
    std::fs::write(outside.join("precious"), "keep me").unwrap();
    std::os::unix::fs::symlink(&outside, store.machine_directory("linked")).unwrap();

    let refused = |error: StoreError| {
        let message = error.to_string();
        assert!(
            message.contains("is a symbolic link") && message.contains(&outside.display().to_string()),
            "{message}"
        );
    };
    refused(store.load("linked").unwrap_err());
    refused(store.save(&mut record("linked")).unwrap_err());
    refused(store.write_file(Path::new("machines/linked/key.pem"), b"KEY", 0o600).unwrap_err());
    refused(store.read_file(Path::new("machines/linked/precious")).unwrap_err());
    assert!(matches!(store.add(&mut record("linked")), Err(StoreError::AlreadyExists(_))));
    let listed = store.list().unwrap();
    let names: Vec<&str> = listed.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, vec!["linked", "real"], "the link is listed, with its error");
    assert!(listed[0].1.as_ref().is_err_and(|error| error.to_string().contains("symbolic link")));

    store.remove("linked").unwrap();
    assert!(std::fs::symlink_metadata(store.machine_directory("linked")).is_err(), "the link is gone");
    assert_eq!(std::fs::read_to_string(outside.join("precious")).unwrap(), "keep me", "what it pointed to is not");
    assert_eq!(std::fs::read_to_string(outside.join(RECORD_FILE_NAME)).unwrap(), json);
    store.load("real").unwrap();
}

#[test]
fn a_store_folder_others_can_enter_is_made_private_again_with_a_notice() {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path().join("store");
    let store = Store::open(&root, remember).unwrap();
    store.add(&mut record("node1")).unwrap();
    let machine = store.machine_directory("node1");
    for path in [&root, &root.join("machines"), &root.join("certs"), &machine] {
        chmod(path, 0o755);
    }
    let store = Store::open(&root, remember).unwrap();
    store.load("node1").unwrap();
    for path in [&root, &root.join("machines"), &root.join("certs"), &machine] {
        assert_eq!(mode(path), 0o700, "{}", path.display());
        let notices = noticed(path);
        assert_eq!(notices.len(), 1, "{}: {notices:?}", path.display());
        assert!(notices[0].contains("mode 0755") && notices[0].contains("made it 0700"), "{}", notices[0]);
    }
}

#[test]
fn a_sticky_shared_folder_used_as_the_store_root_keeps_its_mode() {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path().join("shared");
    std::fs::create_dir(&root).unwrap();
    chmod(&root, 0o1777);
    let store = Store::open(&root, remember).unwrap();
    assert_eq!(std::fs::metadata(&root).unwrap().permissions().mode() & 0o7777, 0o1777);
    assert_eq!(mode(&store.root().join("machines")), 0o700);
    assert!(noticed(&root).is_empty());
}

#[test]
fn a_private_key_others_can_read_is_refused_with_a_chmod_hint() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path(), ignore).unwrap();
    let key = Path::new("certs/key.pem");
    store.write_file(key, b"PRIVATE", 0o600).unwrap();
    assert_eq!(store.read_private(key).unwrap(), "PRIVATE");
    store.check_private(key).unwrap();
    for exposed in [0o640, 0o604, 0o644] {
        chmod(&store.resolve(key), exposed);
        let path = store.resolve(key).display().to_string();
        for error in [store.read_private(key).unwrap_err(), store.check_private(key).unwrap_err()] {
            let message = error.to_string();
            assert!(message.contains(&format!("mode {exposed:04o}")), "{message}");
            assert!(message.contains(&format!("'chmod 600 {path}'")), "{message}");
        }
    }
    store.write_file(key, b"NEW", 0o600).unwrap();
    assert_eq!(mode(&store.resolve(key)), 0o600, "a rewrite is private again");
}

#[test]
fn two_stores_are_locked_at_once_each_with_its_own_lock_file() {
    let folder = tempfile::tempdir().unwrap();
    let first = Store::open(&folder.path().join("first"), ignore).unwrap();
    let second = Store::open(&folder.path().join("second"), ignore).unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    let _first_lock = first.lock().unwrap();
    let second_root = second.root().to_path_buf();
    std::thread::spawn(move || {
        let second = Store::open(&second_root, ignore).unwrap();
        let _lock = second.lock().unwrap();
        sender.send(()).unwrap();
    });
    receiver
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the second store's lock is taken while the first store is locked");
    assert!(first.root().join(".lock").is_file() && second.root().join(".lock").is_file());

    let (sender, receiver) = std::sync::mpsc::channel();
    let first_root = first.root().to_path_buf();
    std::thread::spawn(move || {
        let first = Store::open(&first_root, ignore).unwrap();
        let _lock = first.lock().unwrap();
        sender.send(()).unwrap();
    });
    assert!(
        receiver.recv_timeout(std::time::Duration::from_millis(300)).is_err(),
        "the same store's lock waits for its holder"
    );
    drop(_first_lock);
    receiver.recv_timeout(std::time::Duration::from_secs(10)).expect("and is taken once it lets go");
}

#[test]
fn write_files_leaves_no_temporary_file_and_refuses_paths_outside_the_store() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path(), ignore).unwrap();
    store.write_files(&[(Path::new("certs/a.pem"), b"A", 0o644), (Path::new("certs/a-key.pem"), b"K", 0o600)]).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(store.resolve(Path::new("certs")))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec!["a-key.pem", "a.pem"]);
    for bad in ["../escape.pem", "certs/../../escape.pem", "/etc/escape.pem"] {
        let error = store.write_file(Path::new(bad), b"X", 0o600).unwrap_err();
        assert!(matches!(error, StoreError::OutsideStore(_)), "{bad}: {error}");
    }
    assert!(!folder.path().parent().unwrap().join("escape.pem").exists());
}
