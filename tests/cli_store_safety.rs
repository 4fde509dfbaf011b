//! What the store refuses or repairs, as a user meets it through the CLI: a private key others can
//! read is refused with a `chmod 600` hint, store folders others can enter are made 0700 again
//! with a warning, and a machine folder that is a symbolic link is listed with its error, never
//! followed, and `rm -f` deletes only the link.

mod common;

use common::{fails, rmachine, succeeds, text};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn store_with_a_none_machine(store: &Path, name: &str) {
    let created = rmachine(store, &["create", "-d", "none", "--url", "tcp://127.0.0.1:1", name]);
    let stderr = text(&created.stderr);
    succeeds("create", created);
    // The store makes its own folders 0700: nothing for it to repair (and warn about) on a create.
    assert!(!stderr.contains("could be read by others"), "{stderr}");
}

#[test]
fn a_private_key_others_can_read_is_refused_until_it_is_chmod_600() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    store_with_a_none_machine(&store, "node1");
    for key in ["machines/node1/key.pem", "certs/key.pem", "certs/ca-key.pem"] {
        let path = store.join(key);
        chmod(&path, 0o644);
        let command: &[&str] = if key.starts_with("machines") { &["env", "node1"] } else { &["ls", "--timeout", "1"] };
        let error = fails(&format!("{command:?} with {key} 0644"), rmachine(&store, command));
        assert!(
            error.contains(&format!("private key {} can be read by others (mode 0644)", path.display()))
                && error.contains(&format!("'chmod 600 {}'", path.display())),
            "{error}"
        );
        chmod(&path, 0o600);
        succeeds(&format!("{command:?} after chmod 600 {key}"), rmachine(&store, command));
    }
}

#[test]
fn store_folders_others_can_enter_are_made_private_again_with_a_warning() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    store_with_a_none_machine(&store, "node1");
    let machine = store.join("machines/node1");
    for path in [&store, &store.join("machines"), &store.join("certs"), &machine] {
        chmod(path, 0o755);
    }
    let output = rmachine(&store, &["env", "node1"]);
    let warnings = text(&output.stderr);
    succeeds("env", output);
    for path in [&store, &store.join("machines"), &machine] {
        assert_eq!(mode(path), 0o700, "{}", path.display());
        let expected =
            format!("warning: {} could be read by others (mode 0755); rmachine made it 0700", path.display());
        assert!(warnings.contains(&expected), "{warnings}");
    }
    assert_eq!(mode(&store.join("certs")), 0o700);
    let again = rmachine(&store, &["env", "node1"]);
    assert!(!text(&again.stderr).contains("warning"), "repaired once: {}", text(&again.stderr));
}

#[test]
fn a_machine_folder_that_is_a_symbolic_link_is_refused_and_rm_removes_only_the_link() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    store_with_a_none_machine(&store, "node1");
    let elsewhere = folder.path().join("elsewhere");
    std::fs::rename(store.join("machines/node1"), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, store.join("machines/node1")).unwrap();
    let before: Vec<_> = std::fs::read_dir(&elsewhere).unwrap().map(|entry| entry.unwrap().file_name()).collect();

    let rows: serde_json::Value =
        serde_json::from_str(&succeeds("ls", rmachine(&store, &["ls", "--json", "--timeout", "1"]))).unwrap();
    let error = rows[0]["Error"].as_str().unwrap();
    assert!(rows[0]["Name"] == "node1" && error.contains("is a symbolic link"), "{rows}");
    for command in [&["env", "node1"][..], &["inspect", "node1"], &["rm", "-y", "node1"]] {
        let error = fails(&format!("{command:?}"), rmachine(&store, command));
        assert!(error.contains("is a symbolic link") && error.contains(&elsewhere.display().to_string()), "{error}");
    }
    succeeds("rm -f", rmachine(&store, &["rm", "-f", "-y", "node1"]));
    assert!(std::fs::symlink_metadata(store.join("machines/node1")).is_err(), "the link is gone");
    let after: Vec<_> = std::fs::read_dir(&elsewhere).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert_eq!(after, before, "what the link pointed to is untouched");
}
