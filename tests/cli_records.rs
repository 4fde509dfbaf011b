//! Records written by the previous release (format version 1, one per driver, kept as fixtures in
//! tests/fixtures/records-v1) load, are listed by `ls` and shown by `inspect`, and stay untouched
//! on disk until the machine changes.

mod common;

use common::{rmachine, succeeds};
use std::path::Path;

fn store_with_version_1_records(store: &Path) -> Vec<(String, String)> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/records-v1");
    let mut written = Vec::new();
    for (file, name) in [("generic.json", "v1-generic"), ("none.json", "v1-none"), ("aws.json", "v1-aws")] {
        let folder = store.join("machines").join(name);
        std::fs::create_dir_all(&folder).unwrap();
        let text = std::fs::read_to_string(fixtures.join(file)).unwrap();
        std::fs::write(folder.join("machine.json"), &text).unwrap();
        written.push((name.to_string(), text));
    }
    written
}

#[test]
fn version_1_records_are_listed_and_inspected_without_being_rewritten() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path();
    let written = store_with_version_1_records(store);
    let rows: serde_json::Value =
        serde_json::from_str(&succeeds("ls", rmachine(store, &["ls", "--format", "json", "--timeout", "2"]))).unwrap();
    let summary: Vec<(String, String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let field = |key: &str| row[key].as_str().unwrap().to_string();
            (field("Name"), field("DriverName"), field("URL"))
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("v1-aws".to_string(), "aws".to_string(), "tcp://54.214.1.2:2376".to_string()),
            ("v1-generic".to_string(), "generic".to_string(), "tcp://10.211.0.250:2376".to_string()),
            ("v1-none".to_string(), "none".to_string(), "tcp://127.0.0.1:2376".to_string()),
        ]
    );
    let inspected: serde_json::Value =
        serde_json::from_str(&succeeds("inspect", rmachine(store, &["inspect", "v1-generic"]))).unwrap();
    assert_eq!(inspected["version"], 2);
    assert_eq!(inspected["driver"]["settings"]["ssh_port"], 2222);
    assert_eq!(inspected["cluster"], "lab");
    assert!(inspected["host_key"].as_str().unwrap().starts_with("ssh-ed25519 "));
    let ip = succeeds("ip", rmachine(store, &["ip", "v1-generic", "v1-aws"]));
    assert_eq!(ip, "10.211.0.250\n54.214.1.2\n");
    for (name, text) in &written {
        let now = std::fs::read_to_string(store.join("machines").join(name).join("machine.json")).unwrap();
        assert_eq!(&now, text, "{name} was rewritten although nothing changed");
    }
}
