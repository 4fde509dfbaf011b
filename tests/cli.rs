//! The command line without any host: names, drivers' flags, env for every shell, ls with a
//! corrupt record, rm's confirmation and -f. Fast; runs the real binary against a temporary store.

use std::path::Path;
use std::process::{Command, Output};

fn rmachine(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rmachine"))
        .arg("--storage-path")
        .arg(store)
        .args(args)
        .env_remove("DOCKER_HOST")
        .env_remove("RMACHINE_STORAGE_PATH")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env("SHELL", "/bin/bash")
        .output()
        .expect("rmachine runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn succeeds(output: Output) -> Output {
    assert!(output.status.success(), "rmachine failed: {}\n{}", stderr(&output), stdout(&output));
    output
}

fn machines(store: &Path) -> Vec<String> {
    match std::fs::read_dir(store.join("machines")) {
        Ok(entries) => entries.map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect(),
        Err(_) => vec![],
    }
}

#[test]
fn bad_names_are_refused_before_anything_touches_disk() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    for name in ["../escape", "..", "a/b", "_x", &"n".repeat(64)] {
        let output = rmachine(&store, &["create", "--driver", "none", "--url", "tcp://127.0.0.1:2376", name]);
        assert!(!output.status.success(), "{name} was accepted");
        assert!(stderr(&output).contains("invalid machine name"), "{name}: {}", stderr(&output));
    }
    assert!(machines(&store).is_empty());
    assert!(!folder.path().join("escape").exists());
}

#[test]
fn drivers_and_their_flags_are_checked() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path();
    // Without --driver, create uses the default driver, qemu (a local VM); here its binary is
    // missing, so the pre-create check stops it before anything is made or downloaded.
    let no_driver = Command::new(env!("CARGO_BIN_EXE_rmachine"))
        .arg("--storage-path")
        .arg(store)
        .args(["create", "node1"])
        .env("RMACHINE_QEMU_BINARY", "/nonexistent/qemu-system-x86_64")
        .env_remove("RMACHINE_DRIVER")
        .env_remove("MACHINE_DRIVER")
        .output()
        .unwrap();
    assert_eq!(no_driver.status.code(), Some(3), "{}", stderr(&no_driver));
    assert!(stderr(&no_driver).contains("/nonexistent/qemu-system-x86_64 does not exist"), "{}", stderr(&no_driver));
    assert!(stderr(&no_driver).contains("apt-get install qemu-system-x86"), "{}", stderr(&no_driver));
    assert!(machines(store).is_empty());
    let unknown = rmachine(store, &["create", "--driver", "virtualbox", "node1"]);
    assert!(stderr(&unknown).contains("unknown driver 'virtualbox'"), "{}", stderr(&unknown));
    let no_address = rmachine(store, &["create", "--driver", "generic", "node1"]);
    assert_eq!(no_address.status.code(), Some(3), "pre-create check failures exit with 3");
    assert!(stderr(&no_address).contains("--generic-ip-address"), "{}", stderr(&no_address));
    let missing_key = rmachine(
        store,
        &[
            "create",
            "--driver",
            "generic",
            "--generic-ip-address",
            "10.211.0.99",
            "--generic-ssh-key",
            "/nonexistent/id",
            "node1",
        ],
    );
    assert!(stderr(&missing_key).contains("/nonexistent/id"), "{}", stderr(&missing_key));
    let bad_storage = rmachine(
        store,
        &[
            "create",
            "--driver",
            "generic",
            "--generic-ip-address",
            "10.211.0.99",
            "--engine-storage-driver",
            "nosuchfs",
            "node1",
        ],
    );
    assert!(!bad_storage.status.success());
    assert!(stderr(&bad_storage).contains("nosuchfs"), "{}", stderr(&bad_storage));
    assert!(machines(store).is_empty(), "failed creates left {:?}", machines(store));
}

#[test]
fn a_none_machine_gets_env_config_ip_url_and_inspect() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path();
    succeeds(rmachine(store, &["create", "--driver", "none", "--url", "tcp://127.0.0.1:2376", "node1"]));
    let again = rmachine(store, &["create", "--driver", "none", "--url", "tcp://127.0.0.1:2376", "node1"]);
    assert!(stderr(&again).contains("machine 'node1' already exists"), "{}", stderr(&again));

    let cert_path = store.join("machines/node1");
    let env = stdout(&succeeds(rmachine(store, &["env", "node1"])));
    let store_argument = store.display();
    assert_eq!(
        env,
        format!(
            "export DOCKER_TLS_VERIFY=\"1\"\nexport DOCKER_HOST=\"tcp://127.0.0.1:2376\"\nexport DOCKER_CERT_PATH=\"{}\"\nexport DOCKER_MACHINE_NAME=\"node1\"\n# Run this command to configure your shell:\n# eval \"$({} --storage-path {store_argument} env node1)\"\n",
            cert_path.display(),
            env!("CARGO_BIN_EXE_rmachine"),
        )
    );
    for file in ["ca.pem", "cert.pem", "key.pem"] {
        assert!(cert_path.join(file).exists(), "DOCKER_CERT_PATH lacks {file}");
    }
    let fish = stdout(&succeeds(rmachine(store, &["env", "--shell", "fish", "node1"])));
    assert!(fish.contains("set -gx DOCKER_HOST \"tcp://127.0.0.1:2376\";"), "{fish}");
    let unset = stdout(&succeeds(rmachine(store, &["env", "-u", "--shell", "powershell"])));
    assert!(unset.contains("Remove-Item Env:\\\\DOCKER_HOST"), "{unset}");
    let no_proxy = stdout(&succeeds(rmachine(store, &["env", "--no-proxy", "node1"])));
    assert!(no_proxy.contains("export NO_PROXY=\"127.0.0.1\""), "{no_proxy}");
    let bad_shell = rmachine(store, &["env", "--shell", "nushell", "node1"]);
    assert!(stderr(&bad_shell).contains("unknown shell 'nushell'"), "{}", stderr(&bad_shell));

    let config = stdout(&succeeds(rmachine(store, &["config", "node1"])));
    assert_eq!(
        config,
        format!(
            "--tlsverify\n--tlscacert={0}/ca.pem\n--tlscert={0}/cert.pem\n--tlskey={0}/key.pem\n-H=tcp://127.0.0.1:2376\n",
            cert_path.display()
        )
    );
    assert_eq!(stdout(&succeeds(rmachine(store, &["ip", "node1"]))), "127.0.0.1\n");
    assert_eq!(stdout(&succeeds(rmachine(store, &["url", "node1"]))), "tcp://127.0.0.1:2376\n");
    let inspect: serde_json::Value =
        serde_json::from_str(&stdout(&succeeds(rmachine(store, &["inspect", "node1"])))).unwrap();
    assert_eq!(inspect["name"], "node1");
    assert_eq!(inspect["version"], 2, "records are written in format version 2");
    assert_eq!(inspect["driver"]["name"], "none");
    assert_eq!(inspect["status"], "ready");

    let missing = rmachine(store, &["env", "nosuch"]);
    assert!(stderr(&missing).contains("machine 'nosuch' does not exist"), "{}", stderr(&missing));
}

#[test]
fn a_corrupt_record_is_listed_and_removed_with_force() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path();
    succeeds(rmachine(store, &["create", "--driver", "none", "--url", "tcp://127.0.0.1:9", "good"]));
    std::fs::create_dir_all(store.join("machines/broken")).unwrap();
    std::fs::write(store.join("machines/broken/machine.json"), "{ this is not json").unwrap();

    let listing = stdout(&succeeds(rmachine(store, &["ls", "--timeout", "2"])));
    let lines: Vec<&str> = listing.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{listing}");
    assert!(
        lines[1].starts_with("broken") && lines[1].contains("Error") && lines[1].contains("rm -f broken"),
        "{listing}"
    );
    assert!(lines[2].starts_with("good") && lines[2].contains("none") && lines[2].contains("Stopped"), "{listing}");
    assert_eq!(stdout(&succeeds(rmachine(store, &["ls", "-q"]))), "broken\ngood\n");

    let without_force = rmachine(store, &["rm", "-y", "broken"]);
    assert!(!without_force.status.success());
    assert!(stderr(&without_force).contains("rm -f broken"), "{}", stderr(&without_force));
    succeeds(rmachine(store, &["rm", "-f", "broken"]));
    assert_eq!(machines(store), vec!["good".to_string()]);
}

#[test]
fn rm_asks_unless_told_yes() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path();
    succeeds(rmachine(store, &["create", "--driver", "none", "--url", "tcp://127.0.0.1:2376", "node1"]));
    let unconfirmed = rmachine(store, &["rm", "node1"]);
    assert!(!unconfirmed.status.success());
    assert!(stderr(&unconfirmed).contains("pass -y"), "{}", stderr(&unconfirmed));
    assert_eq!(machines(store), vec!["node1".to_string()]);
    succeeds(rmachine(store, &["rm", "-y", "node1"]));
    assert!(machines(store).is_empty());
    let gone = rmachine(store, &["rm", "-y", "node1"]);
    assert!(stderr(&gone).contains("does not exist"), "{}", stderr(&gone));
}

#[test]
fn version_prints_rmachine_version() {
    let folder = tempfile::tempdir().unwrap();
    let output = succeeds(rmachine(folder.path(), &["version"]));
    assert_eq!(stdout(&output), format!("rmachine version {}\n", env!("CARGO_PKG_VERSION")));
}
