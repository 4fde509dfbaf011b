//! Driver plugins through the rmachine binary, without test hosts: the small Python plugins of
//! tests/plugins/small (machines that need no SSH; one behaves, the others hang, crash, print
//! garbage, answer with the wrong id, fail their handshake or leak a secret) and the Go fake
//! docker-machine plugin. `rmachine drivers`, a plugin's options as create flags and cluster-file
//! keys, clear errors that name the plugin while the records stay intact, `ls` within its
//! timeout with the others unaffected, no plugin process left behind, Ctrl-C cancelling a
//! create, and a machine `rmachine import` took from docker-machine driven by its plugin. Needs
//! python3 and the Go fake (`.ci/run` builds it).

mod common;

use common::{
    driver_path, fails, go_fake_plugin_folder, python_plugins, rmachine_command, small_plugins, succeeds, text,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A store and the plugins' event log (MISBEHAVE_LOG).
struct Bench {
    _folder: tempfile::TempDir,
    store: PathBuf,
    events: PathBuf,
}

impl Bench {
    fn new() -> Bench {
        let folder = tempfile::tempdir().unwrap();
        let (store, events) = (folder.path().join("store"), folder.path().join("events.log"));
        Bench { _folder: folder, store, events }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = rmachine_command(&self.store);
        let path = driver_path(&[&small_plugins(), &python_plugins(), &go_fake_plugin_folder()]);
        command.env("RMACHINE_DRIVER_PATH", path).env("MISBEHAVE_LOG", &self.events).args(args);
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("rmachine runs")
    }

    fn events(&self) -> String {
        std::fs::read_to_string(&self.events).unwrap_or_default()
    }

    fn record(&self, machine: &str) -> String {
        std::fs::read_to_string(self.store.join("machines").join(machine).join("machine.json")).unwrap_or_default()
    }

    /// Every machine's record, `updated_at` left out.
    fn records(&self) -> Vec<(String, serde_json::Value)> {
        let record = |name: &str| {
            let mut record: serde_json::Value = serde_json::from_str(&self.record(name)).unwrap();
            record.as_object_mut().unwrap().remove("updated_at");
            record
        };
        self.machines().into_iter().map(|name| (name.clone(), record(&name))).collect()
    }

    fn machines(&self) -> Vec<String> {
        let entries = std::fs::read_dir(self.store.join("machines")).into_iter().flatten();
        let mut names: Vec<String> = entries.map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }

    /// The pids the plugins wrote to the event log (their own, their children's).
    fn plugin_pids(&self) -> Vec<u32> {
        self.events().lines().filter_map(|line| line.strip_prefix("pid ")?.trim().parse().ok()).collect()
    }
}

/// Waits up to 3 s for every pid to be gone (reaped, or never a zombie of ours).
fn assert_gone(pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(3);
    let alive = || pids.iter().copied().filter(|pid| Path::new(&format!("/proc/{pid}")).exists()).collect::<Vec<_>>();
    while !alive().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(alive().is_empty(), "plugin processes {:?} are still there", alive());
}

fn row<'a>(listing: &'a str, machine: &str) -> &'a str {
    listing
        .lines()
        .find(|line| line.starts_with(&format!("{machine} ")))
        .unwrap_or_else(|| panic!("no {machine} in:\n{listing}"))
}

#[test]
fn drivers_lists_plugins_of_both_protocols_and_why_a_handshake_fails() {
    let bench = Bench::new();
    let listing = succeeds("drivers --json", bench.run(&["drivers", "--json"]));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&listing).unwrap();
    let find = |name: &str| rows.iter().find(|row| row["Name"] == name).unwrap_or_else(|| panic!("{name}: {listing}"));
    assert_eq!(find("generic")["Kind"], "built-in");
    let pyhost = find("pyhost");
    assert_eq!(
        (&pyhost["Kind"], &pyhost["Version"], &pyhost["Protocol"]),
        (&"plugin".into(), &"1.0.0".into(), &"rmachine/1".into())
    );
    assert_eq!(pyhost["Path"], python_plugins().join("rmachine-driver-pyhost").display().to_string());
    assert_eq!(pyhost["Error"], "");
    let fake = find("fake");
    assert_eq!(fake["Protocol"], "docker-machine/1");
    assert!(fake["Description"].as_str().unwrap().contains("8 create flags"), "{fake}");
    let broken = find("nohandshake");
    assert!(
        broken["Error"].as_str().unwrap().contains("speaks protocol version 9, this rmachine speaks [1]"),
        "{broken}"
    );
    let table = succeeds("drivers", bench.run(&["drivers"]));
    assert!(row(&table, "nohandshake").contains("unusable: driver plugin rmachine-driver-nohandshake"), "{table}");
    assert!(row(&table, "fake").contains("docker-machine/1"), "{table}");
}

#[test]
fn a_plugins_options_are_create_flags_with_their_help_and_environment_variables() {
    let bench = Bench::new();
    let help = succeeds("create -d pyhost --help", bench.run(&["create", "-d", "pyhost", "--help"]));
    assert!(help.contains("pyhost driver:"), "{help}");
    assert!(help.contains("--pyhost-address <ADDRESS>") && help.contains("[env: PYHOST_ADDRESS=]"), "{help}");
    assert!(help.contains("--pyhost-ssh-port <N>") && help.contains("[default: 22]"), "{help}");
    let token_help = help.split("--pyhost-api-token").nth(1).and_then(|rest| rest.split("--pyhost-").next()).unwrap();
    assert!(token_help.contains("[env: PYHOST_API_TOKEN]") && !token_help.contains("PYHOST_API_TOKEN="), "{help}");
    let fake = succeeds("create -d fake --help", bench.run(&["create", "-d", "fake", "--help"]));
    assert!(fake.contains("--fake-api-token") && fake.contains("[env: FAKE_API_TOKEN=]"), "{fake}");
    assert!(fake.contains("--fake-tags") && fake.contains("[default: team=rmachine]"), "{fake}");
    // A required option missing fails the pre-create check, naming the flag and its variable.
    let missing = bench.run(&["create", "-d", "pyhost", "--pyhost-api-token", "t0ken", "node1"]);
    assert_eq!(missing.status.code(), Some(3), "{}", text(&missing.stderr));
    assert!(
        text(&missing.stderr).contains("--pyhost-address: is required")
            && text(&missing.stderr).contains("PYHOST_ADDRESS")
    );
    // The variable gives the value; the plugin's own check then runs (the address is bad).
    let from_env = bench
        .command(&["create", "-d", "pyhost", "node1"])
        .env("PYHOST_ADDRESS", "10.0.0.1/24")
        .env("PYHOST_API_TOKEN", "t0ken")
        .output()
        .unwrap();
    assert_eq!(from_env.status.code(), Some(3));
    assert!(
        text(&from_env.stderr).contains("--pyhost-address: '10.0.0.1/24' is not an address"),
        "{}",
        text(&from_env.stderr)
    );
    let unknown = fails("create -d nosuch", bench.run(&["create", "-d", "nosuch", "node1"]));
    assert!(
        unknown.contains("unknown driver 'nosuch'")
            && unknown.contains("rmachine-driver-nosuch")
            && unknown.contains("docker-machine-driver-nosuch"),
        "{unknown}"
    );
    assert!(bench.machines().is_empty());
}

#[test]
fn cluster_files_take_a_plugins_options_as_its_map() {
    let bench = Bench::new();
    let file = bench.store.parent().unwrap().join("cluster.yaml");
    std::fs::write(&file, "name: c1\ndefaults:\n  driver: steady\nmachines:\n  - name: s1\n    steady: { size: 3 }\n")
        .unwrap();
    let file_text = file.to_str().unwrap();
    let plan = succeeds("apply --dry-run", bench.run(&["apply", "-f", file_text, "--dry-run"]));
    assert!(plan.contains("s1"), "{plan}");
    succeeds("apply", bench.run(&["apply", "-f", file_text]));
    assert!(
        bench.events().contains("call pre_create_check settings={} options={\"steady-size\": 3"),
        "{}",
        bench.events()
    );
    assert_eq!(bench.machines(), ["s1"]);
    std::fs::write(&file, "name: c1\ndefaults:\n  driver: steady\nmachines:\n  - name: s2\n    steady: { sise: 3 }\n")
        .unwrap();
    let error = fails("apply with a bad key", bench.run(&["apply", "-f", file_text, "--dry-run"]));
    assert!(error.contains(":6:") && error.contains("unknown field `sise`") && error.contains("`size`"), "{error}");
}

#[test]
fn misbehaving_plugins_get_clear_errors_records_stay_and_ls_keeps_its_timeout() {
    let bench = Bench::new();
    for driver in ["steady", "hangs", "crashes", "garbage", "wrongid"] {
        succeeds(&format!("create -d {driver}"), bench.run(&["create", "-d", driver, &format!("m-{driver}")]));
    }
    succeeds("create -d none", bench.run(&["create", "-d", "none", "--url", "tcp://127.0.0.1:9", "m-none"]));
    let records = bench.records();

    let started = Instant::now();
    let listing = succeeds("ls --timeout 2", bench.run(&["ls", "--timeout", "2"]));
    let took = started.elapsed();
    assert!(took < Duration::from_millis(3500), "ls --timeout 2 took {took:?}:\n{listing}");
    assert!(row(&listing, "m-steady").contains("Running"), "{listing}");
    assert!(row(&listing, "m-none").contains("nothing listens on 127.0.0.1:9"), "{listing}");
    let hangs = row(&listing, "m-hangs");
    assert!(
        hangs.contains("Timeout")
            && hangs.contains("driver plugin rmachine-driver-hangs did not answer `state` within 2s"),
        "{listing}"
    );
    let crashes = row(&listing, "m-crashes");
    assert!(
        crashes.contains("Error") && crashes.contains("rmachine-driver-crashes: exited with status 3 during `state`"),
        "{listing}"
    );
    assert!(crashes.contains("panic: the state table is corrupt"), "its last log line goes with it: {listing}");
    let garbage = row(&listing, "m-garbage");
    assert!(garbage.contains("printed something that is not a JSON-RPC message on stdout during `state`"), "{listing}");
    assert!(garbage.contains("Hello! Checking the machine's state now..."), "{listing}");
    assert!(
        row(&listing, "m-wrongid").contains("rmachine-driver-wrongid: answered request 2 with id 43 during `state`"),
        "{listing}"
    );
    // The hanging plugin and the child it started went with ls: SIGKILL to its process group.
    assert_gone(&bench.plugin_pids());

    let status = bench.run(&["status", "m-crashes"]);
    assert_eq!(text(&status.stdout), "Error\n");
    assert!(text(&status.stderr).contains("exited with status 3 during `state`"), "{}", text(&status.stderr));
    for (machine, expected) in [
        ("m-garbage", "not a JSON-RPC message on stdout during `remove`"),
        ("m-wrongid", "answered request 2 with id 43 during `remove`"),
    ] {
        let error = fails(&format!("rm {machine}"), bench.run(&["rm", "-y", machine]));
        assert!(error.contains(expected) && error.contains(&format!("'rmachine rm -f {machine}'")), "{error}");
    }
    let stop = fails("stop m-crashes", bench.run(&["stop", "m-crashes"]));
    assert!(stop.contains("rmachine-driver-crashes: exited with status 3 during `power`"), "{stop}");
    assert!(stop.contains("its last log lines:\n") && stop.contains("panic: the state table is corrupt"), "{stop}");
    assert_eq!(bench.records(), records, "a misbehaving plugin changed a machine record");
    let forced = bench.run(&["rm", "-f", "-y", "m-garbage"]);
    assert!(
        forced.status.success() && text(&forced.stderr).contains("removing the record anyway"),
        "{}",
        text(&forced.stderr)
    );
    assert!(!bench.machines().contains(&"m-garbage".to_string()));
    assert_gone(&bench.plugin_pids());
}

#[test]
fn a_failed_handshake_or_a_leaked_secret_stops_create_before_anything_is_made() {
    let bench = Bench::new();
    let broken = fails("create -d nohandshake", bench.run(&["create", "-d", "nohandshake", "m1"]));
    assert!(broken.contains("driver plugin rmachine-driver-nohandshake: speaks protocol version 9"), "{broken}");
    let leaky = bench.run(&["create", "-d", "leaky", "--leaky-token", "s3cret-value", "m2"]);
    assert_eq!(leaky.status.code(), Some(3));
    let error = text(&leaky.stderr);
    assert!(error.contains("driver plugin rmachine-driver-leaky: answered `pre_create_check` with settings that contain the value of the secret option --leaky-token"), "{error}");
    assert!(bench.machines().is_empty());
    // The secret went to the plugin (options and secrets), and nowhere into the store.
    assert!(bench.events().contains("\"leaky-token\": \"s3cret-value\""), "{}", bench.events());
    let stored = Command::new("grep").args(["-r", "s3cret-value"]).arg(&bench.store).output().unwrap();
    assert!(stored.stdout.is_empty(), "the secret is in the store: {}", text(&stored.stdout));
}

#[test]
fn a_secret_option_reaches_the_plugin_on_every_call_from_its_variable_and_is_never_stored() {
    let bench = Bench::new();
    succeeds("create", bench.run(&["create", "-d", "steady", "--steady-token", "tok-from-flag", "m1"]));
    assert!(
        bench.events().contains(
            "call create settings={\"made_by\": \"steady\"} options=null secrets={\"steady-token\": \"tok-from-flag\"}"
        ),
        "{}",
        bench.events()
    );
    assert!(!bench.record("m1").contains("tok-from-flag"), "{}", bench.record("m1"));
    succeeds("status", bench.command(&["status", "m1"]).env("STEADY_TOKEN", "tok-from-env").output().unwrap());
    assert!(
        bench.events().contains(
            "call state settings={\"made_by\": \"steady\"} options=null secrets={\"steady-token\": \"tok-from-env\"}"
        ),
        "{}",
        bench.events()
    );
    succeeds("status without the variable", bench.run(&["status", "m1"]));
    assert!(
        bench.events().contains("call state settings={\"made_by\": \"steady\"} options=null secrets={}"),
        "{}",
        bench.events()
    );
}

#[test]
fn ctrl_c_cancels_a_plugins_create_and_the_clean_up_removes_what_it_made() {
    let bench = Bench::new();
    let child = bench
        .command(&["create", "-d", "slowcreate", "m1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !bench.events().contains("creating") {
        assert!(Instant::now() < deadline, "the plugin never started creating: {}", bench.events());
        std::thread::sleep(Duration::from_millis(50));
    }
    // A terminal's Ctrl-C: SIGINT to rmachine (the plugin is in a process group of its own).
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let output = child.wait_with_output().unwrap();
    let error = text(&output.stderr);
    assert!(
        !output.status.success() && error.contains("interrupted") && error.contains("nothing was left behind"),
        "{error}"
    );
    let events = bench.events();
    assert!(events.contains("cancel 2\nstopping the create"), "{events}");
    // The clean-up's remove got the settings the cancelled create answered with.
    assert!(
        events.contains("call remove settings={\"half_made\": \"vm-17\", \"made_by\": \"slowcreate\"}"),
        "{events}"
    );
    assert!(bench.machines().is_empty());
    assert_gone(&bench.plugin_pids());
}

#[test]
fn a_machine_imported_from_docker_machine_is_driven_by_its_plugin_once_installed() {
    let bench = Bench::new();
    let folder = bench.store.parent().unwrap().to_path_buf();
    let source = common::docker_machine_store(&folder, "127.0.0.1");
    // The Go fake, installed under the name of the fixture's driver (hetzner).
    let plugins = folder.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::os::unix::fs::symlink(
        go_fake_plugin_folder().join("docker-machine-driver-fake"),
        plugins.join("docker-machine-driver-hetzner"),
    )
    .unwrap();
    let calls = folder.join("calls.log");
    let command = |args: &[&str]| {
        let mut command = rmachine_command(&bench.store);
        command.env("RMACHINE_DRIVER_PATH", &plugins).env("FAKE_CALL_LOG", &calls).args(args);
        command.output().unwrap()
    };
    let imported = command(&["import", "--from", source.to_str().unwrap(), "hetzner3"]);
    succeeds("import hetzner3", imported);
    assert!(!bench.record("hetzner3").is_empty());
    let config = std::fs::read_to_string(source.join("machines/hetzner3/config.json")).unwrap();
    let blob: serde_json::Value = serde_json::from_str::<serde_json::Value>(&config).unwrap()["Driver"].clone();
    let listing = succeeds("ls", command(&["ls", "--filter", "name=hetzner3"]));
    // The fixture's config has no fake State: the plugin answers None, rmachine says so.
    assert!(
        row(&listing, "hetzner3").contains("hetzner   Error") && listing.contains("the plugin reports no state"),
        "{listing}"
    );
    let log = std::fs::read_to_string(&calls).unwrap();
    let handed: serde_json::Value =
        serde_json::from_str(log.lines().rev().find_map(|line| line.strip_prefix("SetConfigRaw ")).unwrap()).unwrap();
    assert_eq!(handed, blob, "docker-machine's driver config goes back to the plugin as it was");
    assert!(log.lines().any(|line| line == "GetState"), "{log}");
}
