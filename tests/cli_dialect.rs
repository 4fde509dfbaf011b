//! docker-machine's dialect on the command line, without a host: the machine named `default` when
//! no name is given, `env -u NAME` refused, connection settings refused for a machine that does
//! not run (a generic machine whose SSH port is closed), MACHINE_DRIVER, docker-machine's global
//! flags, the `--amazonec2-*` flags rmachine refuses with the reason, and the exit codes README
//! documents. Fast: none machines and records pointing at a closed local port.

mod common;

use common::{rmachine_command, text};
use std::path::{Path, PathBuf};
use std::process::Output;

/// rmachine with a clean environment (no driver variables either) plus `environment`.
fn rmachine_with(store: &Path, args: &[&str], environment: &[(&str, &str)]) -> Output {
    let mut command = rmachine_command(store);
    command.args(args).env_remove("RMACHINE_DRIVER").env_remove("MACHINE_DRIVER");
    for (name, value) in environment {
        command.env(name, value);
    }
    command.output().expect("rmachine runs")
}

fn rmachine(store: &Path, args: &[&str]) -> Output {
    rmachine_with(store, args, &[])
}

fn succeeds(output: Output) -> String {
    common::succeeds("rmachine", output)
}

/// Asserts the exit code and returns stderr.
fn exits(code: i32, output: Output) -> String {
    let (out, err) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(code), "stdout: {out}\nstderr: {err}");
    err
}

fn create_none(store: &Path, name: &str, url: &str) {
    succeeds(rmachine(store, &["create", "--driver", "none", "--url", url, name]));
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Makes machine `name` a generic machine at 127.0.0.1 whose SSH port is closed: a host that is
/// down, as its record says (format version 2, as `create` writes it).
fn make_stopped_generic(store: &Path, name: &str, port: u16) -> PathBuf {
    let path = store.join("machines").join(name).join("machine.json");
    let mut record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    record["driver"] = serde_json::json!({
        "name": "generic",
        "settings": {"ip_address": "127.0.0.1", "ssh_user": "root", "ssh_port": port, "ssh_key": null, "engine_port": 2376}
    });
    std::fs::write(&path, serde_json::to_string_pretty(&record).unwrap()).unwrap();
    path
}

#[test]
fn commands_without_a_name_use_the_machine_named_default() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    create_none(&store, "web1", "tcp://127.0.0.1:1");
    for args in
        [&["env"][..], &["url"], &["ip"], &["config"], &["inspect"], &["status"], &["ssh"], &["start"], &["provision"]]
    {
        let error = exits(1, rmachine(&store, args));
        assert!(error.contains("no machine named 'default' exists"), "{args:?}: {error}");
    }
    create_none(&store, "default", "tcp://127.0.0.1:2");
    assert_eq!(succeeds(rmachine(&store, &["url"])), "tcp://127.0.0.1:2\n");
    assert_eq!(succeeds(rmachine(&store, &["ip"])), "127.0.0.1\n");
    assert!(succeeds(rmachine(&store, &["env"])).contains("export DOCKER_MACHINE_NAME=\"default\""));
    assert!(succeeds(rmachine(&store, &["config"])).contains("-H=tcp://127.0.0.1:2"));
    assert_eq!(succeeds(rmachine(&store, &["status"])), "Stopped\n");
    assert_eq!(succeeds(rmachine(&store, &["inspect", "-f", "{{.Name}}"])), "default\n");
    // The default machine is the one acted on: here its driver says it cannot.
    for verb in ["start", "stop", "restart", "kill"] {
        let error = exits(1, rmachine(&store, &[verb]));
        assert!(error.contains(&format!("default: the none driver cannot {verb}")), "{error}");
    }
    for args in [&["provision"][..], &["upgrade"], &["regenerate-certs", "-y"]] {
        let error = exits(1, rmachine(&store, args));
        assert!(error.contains("machine 'default' uses the none driver"), "{args:?}: {error}");
    }
    let ssh = exits(1, rmachine(&store, &["ssh"]));
    assert!(ssh.contains("machine 'default' uses the none driver"), "{ssh}");
    // A name still wins, and `version` alone is rmachine's own (as docker-machine's).
    assert_eq!(succeeds(rmachine(&store, &["url", "web1"])), "tcp://127.0.0.1:1\n");
    assert!(succeeds(rmachine(&store, &["version"])).starts_with("rmachine version "));
}

#[test]
fn env_unset_takes_no_machine_name() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    create_none(&store, "node1", "tcp://127.0.0.1:1");
    let error = exits(1, rmachine(&store, &["env", "-u", "node1"]));
    assert!(error.contains("--unset takes no machine name"), "{error}");
    assert!(text(&rmachine(&store, &["env", "-u", "node1"]).stdout).is_empty(), "nothing to eval on stdout");
    assert!(succeeds(rmachine(&store, &["env", "-u"])).contains("unset DOCKER_HOST"));
}

#[test]
fn a_machine_that_does_not_run_has_no_connection_settings() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    create_none(&store, "down", "tcp://127.0.0.1:1");
    let port = closed_port();
    make_stopped_generic(&store, "down", port);
    let stopped = format!("machine 'down' is stopped (the host answers but nothing listens on SSH port {port})");
    for args in [&["env", "down"][..], &["url", "down"], &["config", "down"], &["version", "down"]] {
        let output = rmachine(&store, args);
        assert!(text(&output.stdout).is_empty(), "{args:?} printed settings: {}", text(&output.stdout));
        let error = exits(1, output);
        assert!(error.contains(&stopped) && error.contains("rmachine start down"), "{args:?}: {error}");
    }
    let ssh = exits(1, rmachine(&store, &["ssh", "down", "--", "true"]));
    assert!(ssh.contains("cannot run SSH") && ssh.contains(&stopped), "{ssh}");
    // ls and status still describe it; ip needs no running machine (as docker-machine).
    assert_eq!(succeeds(rmachine(&store, &["status", "down"])), "Stopped\n");
    assert_eq!(succeeds(rmachine(&store, &["ip", "down"])), "127.0.0.1\n");
    // active: DOCKER_HOST points at it, but it does not run.
    let active = exits(1, rmachine_with(&store, &["active", "-t", "2"], &[("DOCKER_HOST", "tcp://127.0.0.1:2376")]));
    assert!(active.contains("no active machine") && active.contains(&stopped), "{active}");
}

#[test]
fn machine_driver_picks_the_driver() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    succeeds(rmachine_with(&store, &["create", "--url", "tcp://127.0.0.1:1", "node1"], &[("MACHINE_DRIVER", "none")]));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(store.join("machines/node1/machine.json")).unwrap()).unwrap();
    assert_eq!(record["driver"]["name"], "none");
    // --driver wins over the variable.
    let generic =
        exits(3, rmachine_with(&store, &["create", "--driver", "generic", "node2"], &[("MACHINE_DRIVER", "none")]));
    assert!(generic.contains("--generic-ip-address"), "{generic}");
    let unknown = exits(1, rmachine_with(&store, &["create", "node3"], &[("MACHINE_DRIVER", "virtualbox")]));
    assert!(unknown.contains("unknown driver 'virtualbox'"), "{unknown}");
}

#[test]
fn docker_machine_global_flags_are_accepted_or_refused_with_the_reason() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    create_none(&store, "node1", "tcp://127.0.0.1:1");
    assert_eq!(succeeds(rmachine(&store, &["--native-ssh", "ls", "-q"])), "node1\n");
    assert_eq!(succeeds(rmachine(&store, &["ls", "-q", "--native-ssh"])), "node1\n");
    assert_eq!(
        succeeds(rmachine(&store, &["--bugsnag-api-token", "t", "--github-api-token", "g", "ls", "-q"])),
        "node1\n"
    );
    for flag in ["--tls-ca-cert", "--tls-ca-key", "--tls-client-cert", "--tls-client-key"] {
        let error = exits(1, rmachine(&store, &[flag, "/tmp/x.pem", "ls"]));
        assert!(error.contains(flag) && error.contains("rmachine import"), "{error}");
    }
}

/// Every `--amazonec2-*` flag rmachine has no meaning for, with a word its refusal must contain.
const REFUSED: &[(&str, Option<&str>, &str)] = &[
    ("--amazonec2-access-key", Some("AKIA"), "AWS_ACCESS_KEY_ID"),
    ("--amazonec2-secret-key", Some("x"), "AWS_SECRET_ACCESS_KEY"),
    ("--amazonec2-session-token", Some("x"), "AWS_SESSION_TOKEN"),
    ("--amazonec2-device-name", Some("/dev/sda1"), "root device"),
    ("--amazonec2-security-group-readonly", None, "adds none"),
    ("--amazonec2-block-duration-minutes", Some("60"), "--aws-spot"),
    ("--amazonec2-monitoring", None, "monitor-instances"),
    ("--amazonec2-use-ebs-optimized-instance", None, "EBS-optimized"),
    ("--amazonec2-retries", Some("5"), "AWS_MAX_ATTEMPTS"),
    ("--amazonec2-insecure-transport", None, "http://"),
];

#[test]
fn amazonec2_flags_without_a_meaning_are_refused_with_the_reason() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    for (flag, value, hint) in REFUSED {
        let mut args = vec!["create", "--driver", "amazonec2", "--amazonec2-region", "eu-west-1", flag];
        args.extend(value);
        args.push("node1");
        let error = exits(3, rmachine(&store, &args));
        assert!(error.contains(&format!("{flag}: ")) && error.contains(hint), "{flag}: {error}");
    }
    assert!(!store.join("machines/node1").exists(), "a refused create left a machine behind");
    let tags = exits(3, rmachine(&store, &["create", "-d", "amazonec2", "--amazonec2-tags", "a,1,b", "node1"]));
    assert!(tags.contains("key1,value1") && tags.contains("--aws-tags"), "{tags}");
    // docker-machine's spellings are listed in create's help beside rmachine's.
    let help = succeeds(rmachine(&store, &["create", "--driver", "amazonec2", "--help"]));
    for alias in
        ["--amazonec2-region", "--amazonec2-zone", "--amazonec2-security-group", "--amazonec2-request-spot-instance"]
    {
        assert!(help.contains(alias), "{alias} missing from the help:\n{help}");
    }
    assert!(!help.contains("--amazonec2-monitoring"), "refused flags stay out of the help");
}

#[test]
fn exit_codes_are_docker_machine_s() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    // 1: an error; 2: the command line itself is wrong; 3: the pre-create check failed.
    exits(1, rmachine(&store, &["url", "ghost"]));
    exits(2, rmachine(&store, &["ls", "--no-such-flag"]));
    exits(3, rmachine(&store, &["create", "--driver", "generic", "node1"]));
    let storage = exits(
        1,
        rmachine(
            &store,
            &["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "--engine-storage-driver", "ext4", "n"],
        ),
    );
    assert!(storage.contains("unknown storage driver \"ext4\""), "{storage}");
}

#[test]
fn classic_swarm_flags_point_to_cluster_files_and_the_install_url_variable_is_read() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    for flags in [&["--swarm"][..], &["--swarm-master"], &["--swarm-discovery", "token://x"], &["--swarm-opt", "a=b"]] {
        let mut args = vec!["create", "--driver", "none", "--url", "tcp://127.0.0.1:1"];
        args.extend_from_slice(flags);
        args.push("node1");
        let error = exits(1, rmachine(&store, &args));
        assert!(error.contains(&format!("{}: classic Swarm", flags[0])) && error.contains("rmachine apply"), "{error}");
    }
    assert!(!store.join("machines/node1").exists());
    create_none(&store, "node1", "tcp://127.0.0.1:1");
    for command in ["env", "config"] {
        let error = exits(1, rmachine(&store, &[command, "--swarm", "node1"]));
        assert!(error.contains("--swarm: classic Swarm"), "{error}");
    }
    let url = "https://get.docker.com";
    succeeds(rmachine_with(
        &store,
        &["create", "--driver", "none", "--url", "tcp://127.0.0.1:1", "node2"],
        &[("MACHINE_DOCKER_INSTALL_URL", url)],
    ));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(store.join("machines/node2/machine.json")).unwrap()).unwrap();
    assert_eq!(record["engine"]["install-url"], url);
}
