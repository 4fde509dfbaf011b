//! Tests of the store: atomic records, the lock under concurrent writers, names, corrupt records;
//! what it refuses or repairs (symbolic links, folders and keys others can read) is in guard_tests.rs.

use super::*;
use rmachine_drivers::{Driver, GenericConfig};
use rmachine_provision::EngineOptions;
use std::os::unix::fs::PermissionsExt;

pub(super) fn record(name: &str) -> MachineRecord {
    let generic = GenericConfig {
        ip_address: "10.0.0.5".into(),
        ssh_user: "root".into(),
        ssh_port: 22,
        ssh_key: Some(Path::new("machines").join(name).join("id_ssh")),
        engine_port: 2376,
    };
    let driver = DriverRecord { name: generic.name().to_string(), settings: generic.settings() };
    MachineRecord::new(name, driver, EngineOptions::default(), vec![])
}

pub(super) fn ignore(_notice: &str) {}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn records_round_trip_with_private_permissions() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(&folder.path().join("store"), ignore).unwrap();
    let mut saved = record("node1");
    store.add(&mut saved).unwrap();
    // Made 0700 by `add` itself (the loads below would repair it, with a warning).
    assert_eq!(mode(&store.machine_directory("node1")), 0o700);
    assert_eq!(store.load("node1").unwrap(), saved);
    store.save(&mut saved).unwrap();
    assert_eq!(store.load("node1").unwrap(), saved);
    assert_eq!(mode(store.root()), 0o700);
    assert_eq!(mode(&store.machine_directory("node1")), 0o700);
    assert_eq!(mode(&store.machine_directory("node1").join(RECORD_FILE_NAME)), 0o600);
}

#[test]
fn a_machine_is_added_once_with_its_record_and_no_temporary_folder() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path(), ignore).unwrap();
    store.add(&mut record("node1")).unwrap();
    let mut second = record("node1");
    second.last_error = Some("the second".into());
    let error = store.add(&mut second).unwrap_err().to_string();
    assert!(error.contains("already exists"), "{error}");
    assert_eq!(store.load("node1").unwrap().last_error, None, "the first record is kept");
    let names: Vec<_> =
        std::fs::read_dir(folder.path().join("machines")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("node1")]);
}

#[test]
fn invalid_names_never_touch_disk() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path(), ignore).unwrap();
    for name in ["..", "../escape", "", "a/b"] {
        let mut invalid = record("node1");
        invalid.name = name.to_string();
        assert!(matches!(store.add(&mut invalid), Err(StoreError::InvalidName(_))), "{name:?}");
    }
    assert!(!folder.path().join("escape").exists());
    assert_eq!(std::fs::read_dir(folder.path().join("machines")).unwrap().count(), 0);
}

#[test]
fn a_moved_store_still_resolves_its_paths() {
    let folder = tempfile::tempdir().unwrap();
    let first = folder.path().join("first");
    let store = Store::open(&first, ignore).unwrap();
    store.add(&mut record("node1")).unwrap();
    store.write_file(Path::new("machines/node1/id_ssh"), b"KEY", 0o600).unwrap();
    let second = folder.path().join("second");
    std::fs::rename(&first, &second).unwrap();
    let moved = Store::open(&second, ignore).unwrap();
    let loaded = moved.load("node1").unwrap();
    let generic: GenericConfig = serde_json::from_value(loaded.driver.settings.clone()).unwrap();
    let ssh_key = generic.ssh_key.clone().unwrap();
    assert!(ssh_key.is_relative());
    assert_eq!(std::fs::read(moved.resolve(&ssh_key)).unwrap(), b"KEY");
}

#[test]
fn corrupt_and_future_records_are_listed_with_their_error() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path(), ignore).unwrap();
    store.add(&mut record("good")).unwrap();
    for name in ["broken", "future", "empty"] {
        std::fs::create_dir(store.machine_directory(name)).unwrap();
    }
    std::fs::write(store.machine_directory("broken").join(RECORD_FILE_NAME), "{ not json").unwrap();
    let mut future = serde_json::to_value(record("future")).unwrap();
    future["version"] = 99.into();
    std::fs::write(store.machine_directory("future").join(RECORD_FILE_NAME), future.to_string()).unwrap();

    let listed = store.list().unwrap();
    let names: Vec<&str> = listed.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, vec!["broken", "empty", "future", "good"]);
    let error = |name: &str| listed.iter().find(|(n, _)| n == name).unwrap().1.as_ref().unwrap_err().to_string();
    assert!(error("broken").contains("rmachine rm -f broken"), "{}", error("broken"));
    assert!(error("empty").contains("has no record"), "{}", error("empty"));
    assert!(error("future").contains("version 99"), "{}", error("future"));
    assert!(listed.iter().find(|(n, _)| n == "good").unwrap().1.is_ok());

    store.remove("broken").unwrap();
    assert!(!store.exists("broken"));
}

#[test]
fn the_lock_serialises_concurrent_writers() {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path().to_path_buf();
    Store::open(&root, ignore).unwrap();
    let counter = Path::new("certs/counter");
    Store::open(&root, ignore).unwrap().write_file(counter, b"0", 0o600).unwrap();
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let root = root.clone();
            std::thread::spawn(move || {
                let store = Store::open(&root, ignore).unwrap();
                for _ in 0..25 {
                    let _lock = store.lock().unwrap();
                    let value: u32 = store.read_file(counter).unwrap().parse().unwrap();
                    std::thread::yield_now();
                    store.write_file(counter, (value + 1).to_string().as_bytes(), 0o600).unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(Store::open(&root, ignore).unwrap().read_file(counter).unwrap(), "200");
}

#[test]
fn concurrent_saves_of_one_record_always_leave_valid_json() {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path().to_path_buf();
    let store = Store::open(&root, ignore).unwrap();
    store.add(&mut record("node1")).unwrap();
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let root = root.clone();
            std::thread::spawn(move || {
                let store = Store::open(&root, ignore).unwrap();
                for round in 0..20 {
                    let mut record = record("node1");
                    record.last_error = Some(format!("writer {writer} round {round} {}", "x".repeat(writer * 1000)));
                    store.save(&mut record).unwrap();
                    store.load("node1").unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    store.load("node1").unwrap();
}

/// The version-1 records kept as fixtures, one per driver (tests/fixtures/records-v1).
const VERSION_1_RECORDS: &[(&str, &str)] = &[
    ("v1-generic", include_str!("../../tests/fixtures/records-v1/generic.json")),
    ("v1-none", include_str!("../../tests/fixtures/records-v1/none.json")),
    ("v1-aws", include_str!("../../tests/fixtures/records-v1/aws.json")),
];

#[test]
fn version_1_records_load_and_are_rewritten_as_version_2_only_when_saved() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path(), ignore).unwrap();
    for (name, text) in VERSION_1_RECORDS {
        let path = store.machine_directory(name).join(RECORD_FILE_NAME);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        let mut loaded = store.load(name).unwrap();
        assert_eq!(loaded.version, RECORD_VERSION, "{name}");
        let original: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(loaded.driver.settings, original["driver"]["settings"], "{name}: the driver's settings are kept");
        assert_eq!(loaded.host_key.as_ref(), original["ssh"]["host_key"].as_str().map(str::to_string).as_ref());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), *text, "{name}: loading does not rewrite it");
        store.save(&mut loaded).unwrap();
        let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(saved["version"], 2, "{name}");
        assert!(saved.get("ssh").is_none() && saved["engine"].get("port").is_none(), "{name}: {saved}");
        assert_eq!(store.load(name).unwrap(), loaded, "{name}: version 2 reads back the same");
    }
}

#[test]
fn removal_is_never_seen_half_done_and_cleans_what_killed_runs_left() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path(), ignore).unwrap();
    store.add(&mut record("keep")).unwrap();
    store.add(&mut record("gone")).unwrap();
    let machines = folder.path().join("machines");
    std::fs::create_dir(machines.join(".new-killed")).unwrap();
    std::fs::create_dir(machines.join(".removing-killed-1")).unwrap();
    let names = |store: &Store| store.list().unwrap().into_iter().map(|(name, _)| name).collect::<Vec<_>>();
    assert_eq!(names(&store), vec!["gone", "keep"], "leftovers are never listed");
    store.remove("gone").unwrap();
    assert_eq!(names(&store), vec!["keep"]);
    let mut left: Vec<_> = std::fs::read_dir(&machines).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, vec![std::ffi::OsString::from("keep")]);
    assert!(matches!(store.remove("gone"), Err(StoreError::NotFound { .. })));
}

#[test]
fn rmachines_opening_a_new_store_at_once_all_succeed() {
    // Two `create`s in a store that does not exist yet (a script's first commands in parallel):
    // each sees `machines` missing, one makes it first; the other must take it, not fail.
    for _ in 0..100 {
        let folder = tempfile::tempdir().unwrap();
        let root = folder.path().join("store");
        let start = std::sync::Barrier::new(4);
        std::thread::scope(|scope| {
            let openers: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        start.wait();
                        Store::open(&root, |_| {}).map(drop)
                    })
                })
                .collect();
            for opener in openers {
                opener.join().unwrap().unwrap();
            }
        });
        assert!(root.join("machines").is_dir() && root.join("certs").is_dir());
    }
}
