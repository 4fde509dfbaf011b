//! `rmachine import` without a host: a docker-machine store built from the hand-written fixtures
//! (generic, none, amazonec2 and a plugin driver; ConfigVersion 0 to 3; unknown fields; a
//! truncated file and one from the future), imported into empty stores and one with its own CA.
//! Checks the records, keys and certificates made, the summary, what `ls`, `inspect`, `env` and
//! `rm` make of the machines, that a second import changes nothing, and that docker-machine's
//! store keeps every byte.

mod common;

use common::{docker_machine_store, file_hashes, fixture_hosts_answer, rmachine, rmachine_command, succeeds, text};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

fn import(store: &Path, args: &[&str]) -> Output {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    // No AWS call may leave this machine: static credentials, no instance metadata.
    rmachine_command(store)
        .args(&all)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("rmachine runs")
}

/// The summary's line for `name`.
fn line<'a>(summary: &'a str, name: &str) -> &'a str {
    summary
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no {name} in {summary}"))
}

fn record(store: &Path, name: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(store.join("machines").join(name).join("machine.json")).unwrap()).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_whole_store_is_imported_once_and_docker_machines_files_stay_as_they_were() {
    let folder = tempfile::tempdir().unwrap();
    let source = docker_machine_store(folder.path(), "127.0.0.1");
    let before = file_hashes(&source);
    let store = folder.path().join("rmachine");
    let from = source.to_str().unwrap();

    let first = import(&store, &["--from", from]);
    assert!(!first.status.success(), "two fixtures cannot be imported");
    let summary = text(&first.stdout);
    for (name, driver) in [
        ("gen3", "generic"),
        ("none2", "none"),
        ("aws3", "aws"),
        ("gen1", "generic"),
        ("gen0", "generic"),
        ("hetzner3", "hetzner"),
        ("odd3", "generic"),
    ] {
        let row = line(&summary, name);
        assert!(row.contains(&format!(" {driver} ")) && row.contains("imported"), "{row}");
    }
    assert!(line(&summary, "broken").contains("failed") && line(&summary, "broken").contains("not JSON"), "{summary}");
    assert!(line(&summary, "future4").contains("from the future"), "{summary}");
    assert!(
        text(&first.stderr).contains("2 of 9 machine(s) could not be imported: broken, future4"),
        "{}",
        text(&first.stderr)
    );
    assert!(summary.contains("it now uses docker-machine's"), "{summary}");
    for note in [
        "aws3: the AWS credentials",
        "gen0: classic Swarm (swarm master, discovery token://abc)",
        "odd3: engine option \"host=tcp://0.0.0.0:2375\"",
        "odd3: classic Swarm",
        "odd3: fields rmachine does not know: Flavour, Provisioned",
        "hetzner3: its driver: rmachine has no hetzner driver; install docker-machine-driver-hetzner",
    ] {
        assert!(summary.contains(note), "{note} in {summary}");
    }
    assert!(!summary.contains("rmachine provision"), "the CA was adopted: nothing to provision\n{summary}");

    // The store's CA is docker-machine's; keys are copied 0600, paths relative.
    for file in ["ca.pem", "ca-key.pem", "cert.pem", "key.pem"] {
        assert_eq!(
            std::fs::read(store.join("certs").join(file)).unwrap(),
            std::fs::read(source.join("certs").join(file)).unwrap()
        );
    }
    assert_eq!(mode(&store.join("certs/ca-key.pem")), 0o600);
    let gen3 = record(&store, "gen3");
    assert_eq!((gen3["version"].as_u64(), gen3["status"].as_str()), (Some(2), Some("ready")));
    assert_eq!(gen3["driver"]["settings"]["ssh_key"], "machines/gen3/id_ssh");
    assert_eq!(gen3["driver"]["settings"]["ssh_port"], 1);
    assert!(gen3.get("host_key").is_none(), "trust on first use at the next SSH: {gen3}");
    assert_eq!(gen3["engine"]["labels"], serde_json::json!(["env=test", "team=web"]));
    assert_eq!(gen3["engine"]["userns-remap"], "default");
    assert_eq!(gen3["engine"]["options"], serde_json::json!(["log-opt=max-size=10m"]));
    assert_eq!(gen3["tls_sans"], serde_json::json!(["gen3.example"]));
    assert_eq!(gen3["imported_from"], source.join("machines/gen3").display().to_string());
    let key = store.join("machines/gen3/id_ssh");
    assert_eq!(std::fs::read(&key).unwrap(), std::fs::read(source.join("machines/gen3/id_rsa")).unwrap());
    assert_eq!(mode(&key), 0o600);
    for file in ["ca.pem", "cert.pem", "key.pem", "server.pem", "server-key.pem", "id_ssh.pub"] {
        assert!(store.join("machines/gen3").join(file).is_file(), "{file}");
    }
    assert_eq!(mode(&store.join("machines/gen3/server-key.pem")), 0o600);
    let aws = record(&store, "aws3");
    assert_eq!(aws["driver"]["name"], "aws");
    assert_eq!(aws["driver"]["settings"]["created"]["instance_id"], "i-0123456789abcdef0");
    assert_eq!(aws["driver"]["settings"]["created"]["key_pair_name"], "aws3");
    let aws_text = std::fs::read_to_string(store.join("machines/aws3/machine.json")).unwrap();
    assert!(!aws_text.contains("fixture-secret") && !aws_text.contains("AKIAFIXTURE"), "credentials stay behind");
    let plugin = record(&store, "hetzner3");
    // The shape of a docker-machine plugin's machine: the plugin gets `config` back verbatim.
    let settings = &plugin["driver"]["settings"];
    assert_eq!(settings["protocol"], "docker-machine/1");
    let config: serde_json::Value = serde_json::from_str(settings["config"].as_str().unwrap()).unwrap();
    assert_eq!((&config["ServerType"], &config["ServerID"]), (&serde_json::json!("cx22"), &serde_json::json!(4711)));
    assert_eq!(settings["endpoint"]["ssh"]["private_key"], "machines/hetzner3/id_ssh");

    // What the other commands make of them (gen3's SSH port answers: its driver says Running).
    fixture_hosts_answer();
    let listed = succeeds("ls", rmachine(&store, &["ls", "--filter", "name=hetzner3|gen3"]));
    assert!(line(&listed, "hetzner3").contains("install its plugin docker-machine-driver-hetzner"), "{listed}");
    assert!(line(&listed, "gen3").contains("Running"), "{listed}");
    assert_eq!(
        succeeds("inspect", rmachine(&store, &["inspect", "-f", "{{.DriverName}} {{.Driver.ServerType}}", "hetzner3"])),
        "hetzner cx22\n"
    );
    let env = succeeds("env", rmachine(&store, &["env", "gen3"]));
    assert!(env.contains(&format!("DOCKER_CERT_PATH=\"{}\"", store.join("machines/gen3").display())), "{env}");
    assert!(env.contains("DOCKER_HOST=\"tcp://127.0.0.1:2376\""), "{env}");

    // Importing again changes nothing.
    let records = file_hashes(&store.join("machines"));
    let second = import(&store, &["--from", from]);
    let again = text(&second.stdout);
    assert!(line(&again, "gen3").contains("skipped") && line(&again, "gen3").contains("already imported"), "{again}");
    assert_eq!(file_hashes(&store.join("machines")), records);

    // A name that exists is taken with --rename.
    let renamed = import(&store, &["--from", from, "--rename", "gen3=gen3b", "gen3"]);
    let renamed_text = succeeds("import --rename", renamed);
    assert!(line(&renamed_text, "gen3b").contains("imported"), "{renamed_text}");
    assert_eq!(record(&store, "gen3b")["driver"]["settings"]["ssh_key"], "machines/gen3b/id_ssh");
    let missing = import(&store, &["--from", from, "nosuch"]);
    assert!(text(&missing.stdout).contains("has no machine 'nosuch'"), "{}", text(&missing.stdout));

    // Imported machines go with rm, the plugin's too though its driver is missing.
    succeeds("rm", rmachine(&store, &["rm", "-y", "hetzner3", "gen3b"]));
    assert!(!store.join("machines/hetzner3").exists());
    assert_eq!(file_hashes(&source), before, "docker-machine's store must keep every byte");
}

#[test]
fn a_store_with_its_own_ca_names_the_machines_to_provision() {
    let folder = tempfile::tempdir().unwrap();
    let source = docker_machine_store(folder.path(), "127.0.0.1");
    let before = file_hashes(&source);
    let store = folder.path().join("rmachine");
    succeeds("ls (makes the store's CA)", rmachine(&store, &["ls"]));
    let own_ca = std::fs::read(store.join("certs/ca.pem")).unwrap();

    // The docker-machine store comes from MACHINE_STORAGE_PATH when --from is not given.
    let output = rmachine_command(&store)
        .args(["import", "gen3", "none2"])
        .env("MACHINE_STORAGE_PATH", &source)
        .output()
        .unwrap();
    let summary = succeeds("import", output);
    assert!(line(&summary, "gen3").contains("needs 'rmachine provision'"), "{summary}");
    assert!(summary.contains("rmachine's store has its own CA"), "{summary}");
    assert!(summary.contains("Run 'rmachine provision gen3' to move it"), "{summary}");
    assert_eq!(std::fs::read(store.join("certs/ca.pem")).unwrap(), own_ca, "the store keeps its CA");
    // docker-machine's client material stays with the machine, so docker works until provision.
    assert_eq!(
        std::fs::read(store.join("machines/gen3/ca.pem")).unwrap(),
        std::fs::read(source.join("certs/ca.pem")).unwrap()
    );
    fixture_hosts_answer();
    let env = rmachine(&store, &["env", "gen3"]);
    assert!(env.status.success(), "{}", text(&env.stderr));
    assert!(
        text(&env.stderr).contains("still uses the certificate authority it was imported with"),
        "{}",
        text(&env.stderr)
    );
    assert_eq!(file_hashes(&source), before);
}
