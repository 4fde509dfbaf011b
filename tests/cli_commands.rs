//! The everyday commands without a host: ls filters, formats and quiet mode, JSON from status/ip/
//! url/inspect/version, completion scripts and machine-name completion, man pages, what drivers
//! without power control say to start/stop/restart/kill, and scp's argument checks. Machines use
//! the none driver pointed at a closed local port, so every answer is immediate.

use std::path::Path;
use std::process::{Command, Output};

fn rmachine_with(store: &Path, args: &[&str], environment: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rmachine"));
    command
        .arg("--storage-path")
        .arg(store)
        .args(args)
        .env_remove("DOCKER_HOST")
        .env_remove("RMACHINE_STORAGE_PATH")
        .env("SHELL", "/bin/bash");
    for (name, value) in environment {
        command.env(name, value);
    }
    command.output().expect("rmachine runs")
}

fn rmachine(store: &Path, args: &[&str]) -> Output {
    rmachine_with(store, args, &[])
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn succeeds(output: Output) -> String {
    assert!(output.status.success(), "rmachine failed: {}\n{}", stderr(&output), stdout(&output));
    stdout(&output)
}

fn fails(output: Output) -> String {
    assert!(!output.status.success(), "rmachine succeeded but should have failed: {}", stdout(&output));
    stderr(&output)
}

/// A store with none-driver machines web1, web2, web10 and db1, all pointing at a closed port.
fn store_with_machines(folder: &Path) -> std::path::PathBuf {
    let store = folder.join("store");
    for name in ["web10", "db1", "web2", "web1"] {
        succeeds(rmachine(&store, &["create", "--driver", "none", "--url", "tcp://127.0.0.1:1", name]));
    }
    store
}

#[test]
fn ls_filters_and_formats() {
    let folder = tempfile::tempdir().unwrap();
    let store = store_with_machines(folder.path());
    assert_eq!(succeeds(rmachine(&store, &["ls", "-q"])), "db1\nweb1\nweb2\nweb10\n");
    let web = succeeds(rmachine(&store, &["ls", "-q", "--filter", "name=^WEB", "--filter", "driver=none"]));
    assert_eq!(web, "web1\nweb2\nweb10\n");
    let either = succeeds(rmachine(&store, &["ls", "-q", "--filter", "name=1$", "--filter", "name=^db"]));
    assert_eq!(either, "db1\nweb1\n");
    assert_eq!(succeeds(rmachine(&store, &["ls", "-q", "--filter", "driver=generic"])), "");
    assert_eq!(
        succeeds(rmachine(&store, &["ls", "-q", "-t", "2", "--filter", "state=stopped", "--filter", "name=db"])),
        "db1\n"
    );
    let unsupported = fails(rmachine(&store, &["ls", "--filter", "swarm=master"]));
    assert!(unsupported.contains("Unsupported filter key 'swarm'"), "{unsupported}");

    let rows: serde_json::Value =
        serde_json::from_str(&succeeds(rmachine(&store, &["ls", "--format", "json", "-f", "name=db"]))).unwrap();
    // The documented keys (more may be added, never renamed).
    let expected = serde_json::json!({
        "Name": "db1", "Active": "-", "DriverName": "none", "State": "Stopped", "URL": "tcp://127.0.0.1:1",
        "DockerVersion": "Unknown", "Error": "nothing listens on 127.0.0.1:1"
    });
    assert_eq!(rows.as_array().unwrap().len(), 1);
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&rows[0][key], value, "{key} in {rows}");
    }
    let same: serde_json::Value =
        serde_json::from_str(&succeeds(rmachine(&store, &["ls", "--json", "-f", "name=db"]))).unwrap();
    assert_eq!(same, rows);
    let template = succeeds(rmachine(&store, &["ls", "-f", "name=web", "--format", "{{.Name}} {{.State}} {{.URL}}"]));
    assert_eq!(
        template,
        "web1 Stopped tcp://127.0.0.1:1\nweb2 Stopped tcp://127.0.0.1:1\nweb10 Stopped tcp://127.0.0.1:1\n"
    );
    let table = succeeds(rmachine(
        &store,
        &["ls", "-f", "name=web1", "--format", "table {{.Name}}\\t{{.DriverName}}\\t{{.DockerVersion}}"],
    ));
    assert_eq!(table, "NAME    DRIVER   DOCKER\nweb1    none     Unknown\nweb10   none     Unknown\n");
    let active = rmachine_with(
        &store,
        &["ls", "-f", "name=db", "--format", "{{.Name}}{{.Active}}"],
        &[("DOCKER_HOST", "tcp://127.0.0.1:1")],
    );
    assert_eq!(stdout(&active), "db1*\n");
    let unknown_field = fails(rmachine(&store, &["ls", "--format", "{{.Nope}}"]));
    assert!(unknown_field.contains("no field .Nope") && unknown_field.contains(".DockerVersion"), "{unknown_field}");
    // Go templates in full (tests/cli_templates.rs has more): range over the row, in key order.
    let ranged =
        succeeds(rmachine(&store, &["ls", "-f", "name=db", "--format", "{{range $k, $v := .}}{{$k}} {{end}}"]));
    assert!(ranged.starts_with("Active DockerVersion DriverName Error Name State Swarm URL"), "{ranged}");
}

#[test]
fn data_commands_print_json_and_templates() {
    let folder = tempfile::tempdir().unwrap();
    let store = store_with_machines(folder.path());
    let status: serde_json::Value =
        serde_json::from_str(&succeeds(rmachine(&store, &["status", "--json", "web1", "db1"]))).unwrap();
    assert_eq!(status[0]["Name"], "web1");
    assert_eq!(status[1]["State"], "Stopped");
    assert_eq!(status[1]["Reason"], "nothing listens on 127.0.0.1:1");
    let ips: serde_json::Value =
        serde_json::from_str(&succeeds(rmachine(&store, &["ip", "--json", "web1", "web2"]))).unwrap();
    assert_eq!(ips, serde_json::json!([{"Name": "web1", "IP": "127.0.0.1"}, {"Name": "web2", "IP": "127.0.0.1"}]));
    let urls: serde_json::Value = serde_json::from_str(&succeeds(rmachine(&store, &["url", "--json", "db1"]))).unwrap();
    assert_eq!(urls, serde_json::json!([{"Name": "db1", "URL": "tcp://127.0.0.1:1"}]));
    let inspected =
        succeeds(rmachine(&store, &["inspect", "--format", "{{.name}}={{.driver.settings.url}}", "web1", "db1"]));
    assert_eq!(inspected, "web1=tcp://127.0.0.1:1\ndb1=tcp://127.0.0.1:1\n");
    let version: serde_json::Value = serde_json::from_str(&succeeds(rmachine(&store, &["version", "--json"]))).unwrap();
    assert_eq!(version["Client"], env!("CARGO_PKG_VERSION"));
    let active = rmachine_with(&store, &["active"], &[("DOCKER_HOST", "tcp://127.0.0.1:1")]);
    assert_eq!(succeeds(active).lines().count(), 1);
    let none_active = rmachine_with(&store, &["active"], &[("DOCKER_HOST", "tcp://10.9.9.9:2376")]);
    assert!(fails(none_active).contains("no machine in the store has the URL tcp://10.9.9.9:2376"));
}

#[test]
fn drivers_without_power_control_say_so_for_each_machine() {
    let folder = tempfile::tempdir().unwrap();
    let store = store_with_machines(folder.path());
    for verb in ["start", "stop", "restart", "kill"] {
        let error = fails(rmachine(&store, &[verb, "web1", "db1"]));
        assert!(error.contains(&format!("could not {verb}")), "{error}");
        for name in ["web1", "db1"] {
            assert!(error.contains(&format!("{name}: the none driver cannot {verb}")), "{error}");
        }
    }
    let missing = fails(rmachine(&store, &["stop", "web1", "ghost"]));
    assert!(missing.contains("machine 'ghost' does not exist"), "{missing}");
}

#[test]
fn scp_needs_a_machine_side() {
    let folder = tempfile::tempdir().unwrap();
    let store = store_with_machines(folder.path());
    let neither = fails(rmachine(&store, &["scp", "a", "b"]));
    assert!(neither.contains("neither 'a' nor 'b' names a machine"), "{neither}");
    let no_ssh = fails(rmachine(&store, &["scp", "web1:/etc/hostname", "."]));
    assert!(no_ssh.contains("none driver, which rmachine does not reach over SSH"), "{no_ssh}");
    let env_ssh = fails(rmachine(&store, &["env", "--transport", "ssh", "web1"]));
    assert!(env_ssh.contains("not reached over SSH"), "{env_ssh}");
}

#[test]
fn completion_scripts_and_machine_names() {
    let folder = tempfile::tempdir().unwrap();
    let store = store_with_machines(folder.path());
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = succeeds(rmachine(&store, &["completion", shell]));
        assert!(script.contains("RMACHINE_COMPLETE"), "{shell}: {script}");
    }
    // What the bash script does on Tab after `rmachine status w`.
    let store_text = store.to_str().unwrap();
    let candidates = Command::new(env!("CARGO_BIN_EXE_rmachine"))
        .args(["--", "rmachine", "status", "w"])
        .env("RMACHINE_COMPLETE", "bash")
        .env("RMACHINE_STORAGE_PATH", store_text)
        .env("_CLAP_COMPLETE_INDEX", "2")
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_COMPLETE_SPACE", "true")
        .env("_CLAP_IFS", "\n")
        .output()
        .unwrap();
    assert_eq!(stdout(&candidates), "web1\nweb2\nweb10");
    let man = folder.path().join("man");
    succeeds(rmachine(&store, &["man", man.to_str().unwrap()]));
    for page in ["rmachine.1", "rmachine-ls.1", "rmachine-scp.1", "rmachine-use.1"] {
        let text = std::fs::read_to_string(man.join(page)).unwrap_or_else(|_| panic!("no {page}"));
        assert!(text.contains(".TH"), "{page}");
    }
}
