//! The driver registry as users meet it, without any host: `create --help` lists the drivers,
//! `create -d NAME --help` shows the shared flags and that driver's flags only, an unknown driver
//! names the known ones, a mistyped flag gets clap's "did you mean", `rmachine drivers` lists them,
//! a cluster file's driver maps go through the same options, and `destroy` (the one removal flow)
//! removes the machines' docker contexts.

mod common;

use common::{fails, rmachine, rmachine_command, succeeds, text};
use std::path::Path;

fn help(store: &Path, args: &[&str]) -> String {
    succeeds("help", rmachine(store, args))
}

#[test]
fn create_help_lists_the_drivers_and_each_driver_shows_its_own_flags_only() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path();
    let general = help(store, &["create", "--help"]);
    for line in
        ["generic  an existing host", "none     an engine that already runs", "rmachine create --driver NAME --help"]
    {
        assert!(general.contains(line), "create --help lacks {line:?}:\n{general}");
    }
    assert!(!general.contains("--generic-ip-address") && !general.contains("--aws-region"), "{general}");
    assert!(general.contains("--engine-storage-driver") && general.contains("--tls-san"), "{general}");

    let generic = help(store, &["create", "-d", "generic", "--help"]);
    assert!(generic.contains("generic driver:") && generic.contains("--generic-ip-address <ADDRESS>"), "{generic}");
    assert!(generic.contains("[env: GENERIC_SSH_USER=]") && generic.contains("[default: root]"), "{generic}");
    assert!(generic.contains("--engine-userns-remap"), "shared flags are there too:\n{generic}");
    assert!(!generic.contains("--aws-") && !generic.contains("--url"), "{generic}");

    #[cfg(feature = "aws")]
    {
        let aws = help(store, &["create", "--driver=aws", "--help"]);
        assert!(aws.contains("aws driver:") && aws.contains("--aws-region <REGION>"), "{aws}");
        assert!(aws.contains("--aws-instance-type <TYPE>") && aws.contains("[default: t3.small]"), "{aws}");
        assert!(!aws.contains("--generic-"), "{aws}");
        let alias = help(store, &["create", "-d", "amazonec2", "-h"]);
        assert!(alias.contains("--aws-region"), "{alias}");
    }
}

#[test]
fn unknown_drivers_and_mistyped_flags_say_what_exists() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path();
    let unknown = fails("create -d virtualbox", rmachine(store, &["create", "-d", "virtualbox", "node1"]));
    assert!(unknown.contains("unknown driver 'virtualbox'; rmachine knows: generic, none"), "{unknown}");
    let typo = fails(
        "create with a typo",
        rmachine(store, &["create", "-d", "generic", "--generic-ip-adress", "10.0.0.5", "node1"]),
    );
    assert!(typo.contains("a similar argument exists: '--generic-ip-address'"), "{typo}");
    let other_driver =
        fails("a flag of another driver", rmachine(store, &["create", "-d", "none", "--generic-ip-address", "x", "n"]));
    assert!(other_driver.contains("unexpected argument '--generic-ip-address'"), "{other_driver}");
    let bad_port = fails(
        "a bad port",
        rmachine(
            store,
            &["create", "-d", "generic", "--generic-ip-address", "10.0.0.5", "--generic-ssh-port", "0", "n"],
        ),
    );
    assert!(bad_port.contains("--generic-ssh-port") && bad_port.contains("nonzero"), "{bad_port}");
    let from_environment =
        rmachine_command(store).args(["create", "node1"]).env("RMACHINE_DRIVER", "none").output().unwrap();
    assert!(
        text(&from_environment.stderr).contains("--url"),
        "RMACHINE_DRIVER picks the driver: {}",
        text(&from_environment.stderr)
    );
    assert!(!store.join("machines/node1").exists() && !store.join("machines/n").exists());
}

#[test]
fn drivers_lists_the_built_in_drivers() {
    let folder = tempfile::tempdir().unwrap();
    let listing = help(folder.path(), &["drivers"]);
    let lines: Vec<&str> = listing.lines().collect();
    assert!(lines[0].starts_with("NAME") && lines[0].contains("PROTOCOL"), "{listing}");
    assert!(lines.iter().any(|line| line.starts_with("generic ") && line.contains("built-in")), "{listing}");
    let json: serde_json::Value = serde_json::from_str(&help(folder.path(), &["drivers", "--json"])).unwrap();
    assert!(json.as_array().unwrap().iter().any(|driver| driver["Name"] == "none" && driver["Kind"] == "built-in"));
}

#[test]
fn a_cluster_file_goes_through_the_drivers_options_and_destroy_removes_the_docker_contexts() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let docker_config = folder.path().join("docker-config");
    std::fs::create_dir_all(&docker_config).unwrap();
    let file = folder.path().join("lab.yaml");
    std::fs::write(
        &file,
        "defaults:\n  driver: none\nmachines:\n  - name: n1\n    none: { url: 'tcp://127.0.0.1:1' }\n  - name: n2\n    none: { url: 'tcp://127.0.0.1:2' }\n",
    )
    .unwrap();
    let docker = |args: &[&str]| {
        std::process::Command::new("docker")
            .args(args)
            .env("DOCKER_CONFIG", &docker_config)
            .env_remove("DOCKER_HOST")
            .output()
            .expect("the docker CLI runs")
    };
    let with_config =
        |args: &[&str]| rmachine_command(&store).args(args).env("DOCKER_CONFIG", &docker_config).output().unwrap();
    succeeds("apply", with_config(&["apply", "-f", file.to_str().unwrap()]));
    assert_eq!(succeeds("url", rmachine(&store, &["url", "n1", "n2"])), "tcp://127.0.0.1:1\ntcp://127.0.0.1:2\n");
    succeeds("use n1", with_config(&["use", "n1"]));
    succeeds("use n2", with_config(&["use", "n2"]));
    let contexts = succeeds("docker context ls", docker(&["context", "ls", "--format", "{{.Name}}"]));
    assert!(contexts.lines().any(|name| name == "n1") && contexts.lines().any(|name| name == "n2"), "{contexts}");

    succeeds("destroy", with_config(&["destroy", "-f", file.to_str().unwrap()]));
    let contexts = succeeds("docker context ls", docker(&["context", "ls", "--format", "{{.Name}}"]));
    assert!(!contexts.lines().any(|name| name == "n1" || name == "n2"), "destroy left contexts: {contexts}");
    assert!(!store.join("machines/n1").exists() && !store.join("machines/n2").exists());

    std::fs::write(
        &file,
        "machines:\n  - name: n3\n    driver: none\n    none: { url: 'tcp://127.0.0.1:1', port: 3 }\n",
    )
    .unwrap();
    let unknown_key = fails("apply with an unknown none key", with_config(&["apply", "-f", file.to_str().unwrap()]));
    assert!(
        unknown_key.contains("lab.yaml:4:") && unknown_key.contains("unknown field `port`, expected one of `url`"),
        "{unknown_key}"
    );
}
