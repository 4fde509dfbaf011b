//! Driver plugins end to end against real Debian 12 test hosts (tests/testbed): the Python
//! plugin of rmachine's protocol (tests/plugins/rmachine-driver-pyhost) and the Go fake
//! docker-machine plugin (built by `.ci/run`), each driven as a user would: create (the host is
//! provisioned over SSH), env and docker, ls and status, stop/start/kill/restart through the
//! plugin, rm. The secret option never reaches the store; the docker-machine config blob is handed
//! back verbatim; a docker-machine plugin that dies mid-call or stops answering heartbeats gets a
//! clear error and leaves the record as it was. Needs root (test hosts), python3 and Go's fake.

mod common;

use common::{
    TestHost, driver_path, fails, go_fake_plugin_folder, python_plugins, rmachine_command, ssh_keypair, succeeds,
    testbed_script, text,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Machines {
    store: PathBuf,
    variables: Vec<(String, String)>,
}

impl Machines {
    fn run(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut command = rmachine_command(&self.store);
        command.envs(self.variables.iter().map(|(k, v)| (k, v))).envs(extra.iter().copied()).args(args);
        command.output().expect("rmachine runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        succeeds(&args.join(" "), self.run(args, &[]))
    }

    fn record(&self, machine: &str) -> serde_json::Value {
        let path = self.store.join("machines").join(machine).join("machine.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default()).unwrap_or_default()
    }

    /// The record without its update time, to see that nothing changed.
    fn record_as_was(&self, machine: &str) -> serde_json::Value {
        let mut record = self.record(machine);
        if let Some(fields) = record.as_object_mut() {
            fields.remove("updated_at");
        }
        record
    }

    fn ls_row(&self, machine: &str) -> Vec<String> {
        let listing = self.ok(&["ls"]);
        let row = listing
            .lines()
            .find(|line| line.starts_with(&format!("{machine} ")))
            .unwrap_or_else(|| panic!("{listing}"));
        row.split_whitespace().map(str::to_string).collect()
    }
}

fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|line| *line != "Heartbeat")
        .map(str::to_string)
        .collect()
}

/// The engine's version as the docker CLI on this machine sees it over TLS with what `env`
/// printed (`env` finds the plugin too: the machine's driver is opened from its record).
fn docker_version(machines: &Machines, machine: &str) -> String {
    let eval = format!(
        "set -e; eval \"$('{}' -s '{}' env --shell bash {machine})\"; docker version --format '{{{{.Server.Version}}}}'",
        env!("CARGO_BIN_EXE_rmachine"),
        machines.store.display()
    );
    let mut bash = Command::new("bash");
    bash.arg("-c").arg(eval).env_remove("DOCKER_HOST").envs(machines.variables.iter().map(|(k, v)| (k, v)));
    succeeds("docker version", bash.output().unwrap()).trim().to_string()
}

#[test]
fn a_python_plugin_drives_a_test_host_from_create_to_rm() {
    let folder = tempfile::tempdir().unwrap();
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start("p-py", "10.211.0.14", &public_key, true);
    let calls = folder.path().join("pyhost-calls.log");
    let machines = Machines {
        store: folder.path().join("store"),
        variables: vec![
            ("RMACHINE_DRIVER_PATH".into(), driver_path(&[&python_plugins()])),
            ("PYHOST_CALL_LOG".into(), calls.display().to_string()),
            ("PYHOST_TESTBED_SCRIPT".into(), testbed_script().display().to_string()),
        ],
    };
    let token = "pyhost-t0ken-5ecret";
    let created = machines.run(
        &[
            "create",
            "-d",
            "pyhost",
            "--pyhost-address",
            &host.ip,
            "--pyhost-ssh-key",
            key.to_str().unwrap(),
            "--pyhost-api-token",
            token,
            "--pyhost-tags",
            "team=a",
            "--pyhost-tags",
            "tier=b",
            "--pyhost-testbed-host",
            &host.name,
            "py1",
        ],
        &[],
    );
    succeeds("create -d pyhost", created.clone());
    assert!(text(&created.stderr).contains("is up and running on Debian GNU/Linux 12"), "{}", text(&created.stderr));
    let record = machines.record("py1");
    let settings = &record["driver"]["settings"];
    assert_eq!(
        (record["driver"]["name"].as_str(), settings["protocol"].as_str()),
        (Some("pyhost"), Some("rmachine/1"))
    );
    assert_eq!(settings["endpoint"]["ssh"]["private_key"], "machines/py1/id_pyhost", "{record}");
    assert_eq!(settings["settings"]["tags"], serde_json::json!(["team=a", "tier=b"]));
    assert!(record["host_key"].as_str().is_some_and(|key| key.starts_with("ssh-ed25519 ")), "{record}");
    // The secret option went to the plugin and nowhere into the store.
    let grep = Command::new("grep").args(["-r", token]).arg(&machines.store).output().unwrap();
    assert!(grep.stdout.is_empty(), "the API token is in the store: {}", text(&grep.stdout));
    assert_eq!(
        lines_of(&calls)[2..],
        ["pre_create_check secrets=pyhost-api-token", "initialize secrets=", "create secrets=pyhost-api-token"]
    );

    // Later commands get the secret from its variable only; without it the plugin says so (env
    // asks the machine's state first, as docker-machine does).
    let row = machines.ls_row("py1");
    assert_eq!(row[..4], ["py1", "-", "pyhost", "Error"], "{row:?}");
    assert!(row.join(" ").contains("no API token: set PYHOST_API_TOKEN"), "{row:?}");
    assert!(fails("env without the token", machines.run(&["env", "py1"], &[])).contains("no API token"));
    let with_token = Machines {
        variables: [machines.variables.clone(), vec![("PYHOST_API_TOKEN".into(), token.into())]].concat(),
        store: machines.store.clone(),
    };
    assert_eq!(docker_version(&with_token, "py1"), "20.10.24+dfsg1");
    assert_eq!(with_token.ls_row("py1")[3..], ["Running", "tcp://10.211.0.14:2376", "v20.10.24+dfsg1"]);
    assert_eq!(with_token.ok(&["status", "py1"]), "Running\n");
    assert_eq!(with_token.ok(&["ip", "py1"]), "10.211.0.14\n");
    let wrong = with_token.run(&["status", "py1"], &[("PYHOST_API_TOKEN", "another")]);
    assert!(
        text(&wrong.stderr).contains("the API token is not the one the machine was made with"),
        "{}",
        text(&wrong.stderr)
    );

    // Power through the plugin (systemctl in the host): stopped means nothing answers on SSH.
    assert!(with_token.ok(&["stop", "py1"]).contains("stopped"));
    assert_eq!(with_token.ls_row("py1")[3], "Stopped");
    let ssh = fails("ssh to a stopped host", with_token.run(&["ssh", "py1", "--", "true"], &[]));
    assert!(ssh.contains("machine 'py1' is stopped (nothing listens on 10.211.0.14:22)"), "{ssh}");
    assert!(with_token.ok(&["start", "py1"]).contains("engine v20.10.24+dfsg1 answers"));
    assert_eq!(docker_version(&with_token, "py1"), "20.10.24+dfsg1");
    assert!(with_token.ok(&["kill", "py1"]).contains("killed"));
    assert_eq!(with_token.ok(&["status", "py1"]), "Stopped\n");
    assert!(with_token.ok(&["start", "py1"]).contains("answers"));
    assert!(with_token.ok(&["restart", "py1"]).contains("restarted, engine v20.10.24+dfsg1 answers"));
    assert_eq!(with_token.ok(&["ssh", "py1", "--", "hostname"]).trim(), "py1");

    with_token.ok(&["rm", "-y", "py1"]);
    assert!(!machines.store.join("machines/py1").exists());
    let methods: Vec<String> =
        lines_of(&calls).iter().map(|line| line.split(' ').next().unwrap().to_string()).collect();
    for method in ["state", "power", "remove"] {
        assert!(methods.iter().any(|called| called == method), "{method} never called: {methods:?}");
    }
    assert!(
        lines_of(&calls)
            .iter()
            .filter(|line| line.starts_with("power"))
            .all(|line| line.ends_with("secrets=pyhost-api-token"))
    );
    host.stop();
}

#[test]
fn a_docker_machine_plugin_drives_a_test_host_from_create_to_rm() {
    let folder = tempfile::tempdir().unwrap();
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start("p-dm", "10.211.0.15", &public_key, true);
    let calls = folder.path().join("fake-calls.log");
    let machines = Machines {
        store: folder.path().join("store"),
        variables: vec![
            ("RMACHINE_DRIVER_PATH".into(), driver_path(&[&go_fake_plugin_folder()])),
            ("FAKE_CALL_LOG".into(), calls.display().to_string()),
        ],
    };
    // A flag from its environment variable, as docker-machine's CLI reads it.
    let created = machines.run(
        &["create", "-d", "fake", "--fake-ssh-key", key.to_str().unwrap(), "--fake-api-token", "dm-token", "dm1"],
        &[("FAKE_IP_ADDRESS", &host.ip)],
    );
    succeeds("create -d fake", created.clone());
    assert!(text(&created.stderr).contains("is up and running on Debian GNU/Linux 12"), "{}", text(&created.stderr));
    let methods: Vec<String> =
        lines_of(&calls).iter().map(|line| line.split(' ').next().unwrap().to_string()).collect();
    assert_eq!(
        methods,
        [
            "GetVersion",
            "SetConfigRaw",
            "GetMachineName",
            "DriverName",
            "GetCreateFlags",
            "Close",
            "GetVersion",
            "SetConfigRaw",
            "GetMachineName",
            "DriverName",
            "GetCreateFlags",
            "SetConfigFromFlags",
            "PreCreateCheck",
            "GetConfigRaw",
            "Create",
            "GetConfigRaw",
            "GetState",
            "GetSSHKeyPath",
            "GetSSHHostname",
            "GetSSHPort",
            "GetSSHUsername",
            "GetIP",
            "GetURL",
            "GetConfigRaw",
            "Close"
        ]
    );
    let store_path = machines.store.display().to_string();
    assert!(
        lines_of(&calls)[7] == format!("SetConfigRaw {{\"MachineName\":\"dm1\",\"StorePath\":\"{store_path}\"}}"),
        "{:?}",
        lines_of(&calls)
    );
    let flags = &lines_of(&calls)[11];
    for sent in [
        "fake-ip-address=string:\"10.211.0.15\"",
        "fake-ssh-port=int:22",
        "fake-tags=[]string:[\"team=rmachine\"]",
        "fake-fail=bool:false",
        "swarm-master=bool:false",
        "engine-install-url=string:\"https://get.docker.com\"",
    ] {
        assert!(flags.contains(sent), "{sent} not in {flags}");
    }
    let record = machines.record("dm1");
    let settings = &record["driver"]["settings"];
    assert_eq!(settings["protocol"], "docker-machine/1");
    assert_eq!(settings["endpoint"]["engine_url"], "tcp://10.211.0.15:2376");
    assert_eq!(settings["endpoint"]["ssh"]["private_key"], key.display().to_string());
    let config: serde_json::Value = serde_json::from_str(settings["config"].as_str().unwrap()).unwrap();
    assert_eq!((config["MachineName"].as_str(), config["State"].as_str()), (Some("dm1"), Some("Running")));
    assert_eq!(docker_version(&machines, "dm1"), "20.10.24+dfsg1");
    assert_eq!(machines.ls_row("dm1"), ["dm1", "-", "fake", "Running", "tcp://10.211.0.15:2376", "v20.10.24+dfsg1"]);

    // The stored blob goes back verbatim with SetConfigRaw; power calls go through the plugin.
    std::fs::remove_file(&calls).unwrap();
    assert_eq!(machines.ok(&["status", "dm1"]), "Running\n");
    assert_eq!(lines_of(&calls)[1], format!("SetConfigRaw {}", settings["config"].as_str().unwrap()));
    assert!(machines.ok(&["stop", "dm1"]).contains("stopped"));
    assert_eq!(machines.ok(&["status", "dm1"]), "Stopped\n");
    assert!(machines.ok(&["start", "dm1"]).contains("engine v20.10.24+dfsg1 answers"));
    assert!(machines.ok(&["kill", "dm1"]).contains("killed"));
    assert!(machines.ok(&["restart", "dm1"]).contains("restarted"));
    let power: Vec<String> = lines_of(&calls)
        .into_iter()
        .filter(|line| ["Start", "Stop", "Kill", "Restart"].contains(&line.as_str()))
        .collect();
    assert_eq!(power, ["Stop", "Start", "Kill", "Restart"]);
    let config: serde_json::Value =
        serde_json::from_str(machines.record("dm1")["driver"]["settings"]["config"].as_str().unwrap()).unwrap();
    assert_eq!(
        (config["State"].as_str(), config["Restarts"].as_i64()),
        (Some("Running"), Some(1)),
        "the config after each call is kept"
    );

    // A plugin that dies mid-call, and one that stops answering heartbeats: clear errors, the record as it was.
    let before = machines.record_as_was("dm1");
    let died = machines.run(&["status", "dm1"], &[("FAKE_DIE_IN", "GetState")]);
    assert_eq!(text(&died.stdout), "Error\n");
    let reason = text(&died.stderr);
    assert!(
        reason.contains(
            "driver plugin docker-machine-driver-fake: closed the connection during GetState (it exited with status 3)"
        ),
        "{reason}"
    );
    assert!(reason.contains("fake: exiting with status 3 (FAKE_DIE_IN=GetState)"), "{reason}");
    let row = succeeds("ls", machines.run(&["ls"], &[("FAKE_DIE_IN", "GetState")]));
    assert!(row.contains("Error") && row.contains("exited with status 3"), "{row}");
    let hung = machines.run(&["stop", "dm1"], &[("FAKE_HANG_HEARTBEAT", "1"), ("FAKE_SLEEP_IN", "Stop:60s")]);
    let error = fails("stop with a hung plugin", hung);
    assert!(
        error.contains("driver plugin docker-machine-driver-fake: stopped answering heartbeats")
            && error.contains("during Stop"),
        "{error}"
    );
    assert!(error.contains("fake: sleeping 1m0s in Stop"), "its last log lines: {error}");
    let remove = fails("rm with a plugin that dies", machines.run(&["rm", "-y", "dm1"], &[("FAKE_DIE_IN", "Remove")]));
    assert!(
        remove.contains("closed the connection during Remove") && remove.contains("'rmachine rm -f dm1'"),
        "{remove}"
    );
    assert_eq!(machines.record_as_was("dm1"), before);
    assert_eq!(machines.ok(&["status", "dm1"]), "Running\n");

    std::fs::remove_file(&calls).unwrap();
    machines.ok(&["rm", "-y", "dm1"]);
    assert!(!machines.store.join("machines/dm1").exists());
    assert!(lines_of(&calls).contains(&"Remove".to_string()), "{:?}", lines_of(&calls));
    host.stop();
}
