//! The crate against a real Go plugin: tests/fake-docker-machine-plugin built with Go's own
//! net/rpc and encoding/gob (path from RMACHINE_FAKE_MACHINE_PLUGIN, else
//! $RMACHINE_CACHE/go-plugin/docker-machine-driver-fake; `.ci/run` or the folder's build.sh
//! builds it). docker-machine's create sequence, power operations, remove and close, asserted
//! through the plugin's call log; heartbeats during a slow call; plugins that die, hang, stop
//! answering heartbeats or print garbage; no zombies left.

use rmachine_driver_docker_machine::{
    FlagKind, FlagValue, FlagValues, MachinePlugin, PluginError, PluginLine, PluginOptions, PluginSpec, PluginState,
    RpcError, flag_values_with_defaults, initial_config,
};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn fake_plugin() -> PathBuf {
    let path = std::env::var_os("RMACHINE_FAKE_MACHINE_PLUGIN").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("RMACHINE_CACHE").unwrap_or_else(|| "/var/cache/rmachine-ci".into());
        PathBuf::from(cache).join("go-plugin/docker-machine-driver-fake")
    });
    assert!(
        path.is_file(),
        "the Go fake plugin {} is missing: run `.ci/run`, or `bash drivers/docker-machine/tests/fake-docker-machine-plugin/build.sh` \
         (needs golang-go), or point RMACHINE_FAKE_MACHINE_PLUGIN at it",
        path.display()
    );
    path
}

/// One test's plugin environment: a folder with the call log, a "host" (a listening port the
/// fake's Create dials), and the lines the plugin printed.
struct Fixture {
    dir: PathBuf,
    host: TcpListener,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("rmachine-dm-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let host = TcpListener::bind("127.0.0.1:0").unwrap();
        Fixture { dir, host, lines: Arc::new(Mutex::new(Vec::new())) }
    }

    fn port(&self) -> u16 {
        self.host.local_addr().unwrap().port()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("calls.log")
    }

    fn spec(&self, env: &[(&str, &str)]) -> PluginSpec {
        let mut vars = vec![("FAKE_CALL_LOG".to_owned(), self.log_path().display().to_string())];
        vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        PluginSpec::new("fake", fake_plugin()).env(vars)
    }

    async fn launch(&self, env: &[(&str, &str)], options: PluginOptions) -> Result<MachinePlugin, PluginError> {
        let lines = self.lines.clone();
        let sink = Arc::new(move |line: &PluginLine<'_>| lines.lock().unwrap().push(line.tagged()));
        MachinePlugin::launch(self.spec(env), options, sink).await
    }

    /// The call log's lines, heartbeats left out.
    fn calls(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        log.lines().filter(|l| *l != "Heartbeat").map(str::to_owned).collect()
    }

    fn methods(&self) -> Vec<String> {
        self.calls().iter().map(|l| l.split(' ').next().unwrap_or_default().to_owned()).collect()
    }

    fn heartbeats(&self) -> usize {
        std::fs::read_to_string(self.log_path()).unwrap_or_default().lines().filter(|l| *l == "Heartbeat").count()
    }

    fn printed(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A process that has been reaped has no /proc entry; a zombie still has one (state Z).
async fn assert_reaped(pid: u32) {
    let stat = PathBuf::from(format!("/proc/{pid}/stat"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while stat.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let state = std::fs::read_to_string(&stat).unwrap_or_default();
    assert!(!stat.exists(), "plugin process {pid} was not reaped: {state}");
}

fn store(fixture: &Fixture) -> PathBuf {
    fixture.dir.join("store")
}

/// Runs docker-machine's create sequence; returns the saved config blob.
async fn create_node(fixture: &Fixture, plugin: &MachinePlugin) -> Vec<u8> {
    plugin.set_config_raw(&initial_config("node1", &store(fixture))).await.unwrap();
    assert_eq!(plugin.get_machine_name().await.unwrap(), "node1");
    assert_eq!(plugin.driver_name().await.unwrap(), "fake");
    let flags = plugin.get_create_flags().await.unwrap();
    let kinds: Vec<_> = flags.iter().map(|f| (f.name.as_str(), f.kind)).collect();
    assert_eq!(kinds[0], ("fake-ip-address", FlagKind::String));
    assert_eq!(kinds[2], ("fake-ssh-port", FlagKind::Int));
    assert_eq!(kinds[4], ("fake-tags", FlagKind::StringSlice));
    assert_eq!(kinds[7], ("fake-fail", FlagKind::Bool));
    assert_eq!(flags[0].env_var, "FAKE_IP_ADDRESS");
    let given: FlagValues = [
        ("fake-ip-address", FlagValue::String("127.0.0.1".into())),
        ("fake-ssh-port", FlagValue::Int(fixture.port().into())),
        ("fake-tags", FlagValue::StringSlice(vec!["a=1".into(), "b c=2".into()])),
        ("fake-api-token", FlagValue::String("s3cr3t-token".into())),
    ]
    .into_iter()
    .collect();
    plugin.set_config_from_flags(&flag_values_with_defaults(&flags, &given)).await.unwrap();
    plugin.pre_create_check().await.unwrap();
    plugin.create().await.unwrap();
    plugin.get_config_raw().await.unwrap()
}

#[tokio::test]
async fn docker_machines_create_sequence_runs_against_a_go_plugin() {
    let fixture = Fixture::new("create");
    let plugin = fixture.launch(&[], PluginOptions::default()).await.unwrap();
    assert_eq!(plugin.plugin().service(), "RPCServerDriver");
    let pid = plugin.plugin().pid().unwrap();
    let config = create_node(&fixture, &plugin).await;
    let json: serde_json::Value = serde_json::from_slice(&config).unwrap();
    assert_eq!(json["MachineName"], "node1");
    assert_eq!(json["IPAddress"], "127.0.0.1");
    assert_eq!(json["SSHPort"], fixture.port());
    assert_eq!(json["SSHUser"], "root");
    assert_eq!(json["Tags"], serde_json::json!(["a=1", "b c=2"]));
    assert_eq!(json["APIToken"], "s3cr3t-token");
    assert_eq!(json["State"], "Running");
    assert_eq!(json["StorePath"], store(&fixture).display().to_string());
    assert_eq!(plugin.get_state().await.unwrap(), PluginState::Running);
    assert_eq!(plugin.get_ip().await.unwrap(), "127.0.0.1");
    assert_eq!(plugin.get_url().await.unwrap(), "tcp://127.0.0.1:2376");
    assert_eq!(plugin.get_ssh_hostname().await.unwrap(), "127.0.0.1");
    assert_eq!(plugin.get_ssh_port().await.unwrap(), fixture.port());
    assert_eq!(plugin.get_ssh_username().await.unwrap(), "root");
    let key = store(&fixture).join("machines/node1/id_rsa");
    assert_eq!(plugin.get_ssh_key_path().await.unwrap(), key.display().to_string());
    assert_eq!(plugin.get_version().await.unwrap(), 1);
    let status = plugin.shutdown().await;
    assert_eq!(status.and_then(|s| s.code()), Some(0), "Close makes the plugin exit 0");
    assert_reaped(pid).await;

    let methods = fixture.methods();
    let expected = [
        "GetVersion",
        "SetConfigRaw",
        "GetMachineName",
        "DriverName",
        "GetCreateFlags",
        "SetConfigFromFlags",
        "PreCreateCheck",
        "Create",
        "GetConfigRaw",
        "GetState",
        "GetIP",
        "GetURL",
        "GetSSHHostname",
        "GetSSHPort",
        "GetSSHUsername",
        "GetSSHKeyPath",
        "GetVersion",
        "Close",
    ];
    assert_eq!(methods, expected);
    // What Go's gob decoded from our encoder, value by value and type by type.
    let port = fixture.port();
    let flags_line = fixture.calls().into_iter().find(|l| l.starts_with("SetConfigFromFlags")).unwrap();
    assert_eq!(
        flags_line,
        format!(
            "SetConfigFromFlags engine-install-url=string:\"https://get.docker.com\" fake-api-token=string:\"s3cr3t-token\" \
             fake-call-log=string:\"\" fake-fail=bool:false fake-ip-address=string:\"127.0.0.1\" fake-ssh-key=string:\"\" \
             fake-ssh-port=int:{port} fake-ssh-user=string:\"root\" fake-tags=[]string:[\"a=1\" \"b c=2\"] \
             swarm-discovery=string:\"\" swarm-host=string:\"tcp://0.0.0.0:3376\" swarm-master=bool:false"
        )
    );
    let printed = fixture.printed();
    let creating = format!("(node1) Creating the fake machine node1 at 127.0.0.1:{port}");
    assert!(printed.contains(&creating), "{printed:#?}");
    assert!(printed.contains(&format!("(node1) DBG | dialing 127.0.0.1:{port}")), "{printed:#?}");
}

#[tokio::test]
async fn power_operations_and_remove_act_on_the_state_kept_in_the_config_blob() {
    let fixture = Fixture::new("power");
    let plugin = fixture.launch(&[], PluginOptions::default()).await.unwrap();
    let config = create_node(&fixture, &plugin).await;
    plugin.shutdown().await;

    // A later command: a new plugin process, given the stored blob (as `docker-machine stop`).
    let plugin = fixture.launch(&[], PluginOptions::default()).await.unwrap();
    plugin.set_config_raw(&config).await.unwrap();
    assert_eq!(plugin.get_machine_name().await.unwrap(), "node1");
    plugin.stop().await.unwrap();
    assert_eq!(plugin.get_state().await.unwrap(), PluginState::Stopped);
    let config = plugin.get_config_raw().await.unwrap();
    plugin.shutdown().await;

    let plugin = fixture.launch(&[], PluginOptions::default()).await.unwrap();
    plugin.set_config_raw(&config).await.unwrap();
    assert_eq!(plugin.get_state().await.unwrap(), PluginState::Stopped, "the state survived the process");
    plugin.start().await.unwrap();
    assert_eq!(plugin.get_state().await.unwrap(), PluginState::Running);
    plugin.kill().await.unwrap();
    assert_eq!(plugin.get_state().await.unwrap(), PluginState::Stopped);
    plugin.restart().await.unwrap();
    assert_eq!(plugin.get_state().await.unwrap(), PluginState::Running);
    let json: serde_json::Value = serde_json::from_slice(&plugin.get_config_raw().await.unwrap()).unwrap();
    assert_eq!(json["Restarts"], 1);
    plugin.remove().await.unwrap();
    assert_eq!(plugin.get_state().await.unwrap(), PluginState::None);
    let pid = plugin.plugin().pid().unwrap();
    plugin.shutdown().await;
    assert_reaped(pid).await;

    let methods = fixture.methods();
    let tail: Vec<_> = methods.iter().rev().take(14).rev().map(String::as_str).collect();
    let expected = [
        "GetVersion",
        "SetConfigRaw",
        "GetState",
        "Start",
        "GetState",
        "Kill",
        "GetState",
        "Restart",
        "GetState",
        "GetConfigRaw",
        "Remove",
        "GetState",
        "Close",
    ];
    assert_eq!(&tail[1..], expected);
    assert_eq!(methods.iter().filter(|m| *m == "Stop").count(), 1);
    assert_eq!(methods.iter().filter(|m| *m == "Close").count(), 3);
}

#[tokio::test]
async fn a_drivers_error_comes_back_typed_with_method_and_message() {
    let fixture = Fixture::new("errors");
    let plugin = fixture.launch(&[], PluginOptions::default()).await.unwrap();
    let missing_ip = plugin.set_config_from_flags(&FlagValues::new()).await.unwrap_err();
    let PluginError::Driver { plugin: name, method, message } = &missing_ip else { panic!("{missing_ip:?}") };
    assert_eq!((name.as_str(), method.as_str()), ("docker-machine-driver-fake", "SetConfigFromFlags"));
    assert_eq!(message, "fake driver requires the --fake-ip-address option");
    let fail: FlagValues =
        [("fake-ip-address", FlagValue::String("127.0.0.1".into())), ("fake-fail", FlagValue::Bool(true))]
            .into_iter()
            .collect();
    plugin.set_config_from_flags(&fail).await.unwrap();
    let error = plugin.pre_create_check().await.unwrap_err();
    assert_eq!(error.driver_message(), Some("fake: the pre-create check fails, as --fake-fail asks"));
    assert_eq!(
        error.to_string(),
        "the plugin docker-machine-driver-fake failed PreCreateCheck: fake: the pre-create check fails, as --fake-fail asks"
    );
    // A driver error leaves the plugin usable.
    assert_eq!(plugin.get_version().await.unwrap(), 1);
    plugin.shutdown().await;
}

#[tokio::test]
async fn heartbeats_keep_a_slow_create_alive() {
    let fixture = Fixture::new("slow");
    let plugin = fixture.launch(&[("FAKE_SLEEP_IN", "Create:16s")], PluginOptions::default()).await.unwrap();
    let started = Instant::now();
    create_node(&fixture, &plugin).await;
    assert!(started.elapsed() >= Duration::from_secs(16));
    // The plugin exits after 10 s without a heartbeat: answered ones arrived during Create.
    assert!(fixture.heartbeats() >= 2, "{} heartbeats", fixture.heartbeats());
    assert_eq!(plugin.get_state().await.unwrap(), PluginState::Running);
    plugin.shutdown().await;
}

#[tokio::test]
async fn a_plugin_that_dies_mid_call_is_named_with_the_method_its_status_and_its_stderr() {
    let fixture = Fixture::new("die");
    let plugin = fixture.launch(&[("FAKE_DIE_IN", "Create")], PluginOptions::default()).await.unwrap();
    let pid = plugin.plugin().pid().unwrap();
    plugin.set_config_raw(&initial_config("node1", &store(&fixture))).await.unwrap();
    let error = plugin.create().await.unwrap_err();
    let PluginError::Rpc { source, .. } = &error else { panic!("{error:?}") };
    assert!(matches!(**source, RpcError::Closed { ref method, .. } if method == "Create"), "{source:?}");
    let text = error.to_string();
    assert!(text.starts_with("the plugin docker-machine-driver-fake closed the connection during Create"), "{text}");
    assert!(text.contains("(it exited with status 3)"), "{text}");
    assert!(text.contains("  | fake: about to die in Create"), "{text}");
    assert!(error.stderr_lines().iter().any(|l| l == "fake: exiting with status 3 (FAKE_DIE_IN=Create)"));
    // Later calls fail at once, naming themselves.
    let later = plugin.get_state().await.unwrap_err();
    assert!(later.to_string().contains("closed the connection during GetState"), "{later}");
    drop(plugin);
    assert_reaped(pid).await;
}

#[tokio::test]
async fn a_plugin_that_stops_answering_heartbeats_fails_the_pending_call() {
    let fixture = Fixture::new("hung");
    let options = PluginOptions {
        heartbeat_interval: Duration::from_secs(2),
        heartbeat_timeout: Duration::from_secs(2),
        ..PluginOptions::default()
    };
    let env = [("FAKE_HANG_HEARTBEAT", "1"), ("FAKE_HANG_IN", "Create")];
    let plugin = fixture.launch(&env, options).await.unwrap();
    let started = Instant::now();
    let error = plugin.create().await.unwrap_err();
    let elapsed = started.elapsed();
    let PluginError::Rpc { source, .. } = &error else { panic!("{error:?}") };
    assert!(matches!(**source, RpcError::Unresponsive { ref method, .. } if method == "Create"), "{source:?}");
    // Detected at ~4 s (2 s interval + 2 s timeout), before the plugin exits on its own at 10 s.
    assert!(elapsed < Duration::from_secs(9), "detected after {elapsed:?}");
    assert!(error.to_string().contains("stopped answering heartbeats"), "{error}");
    assert!(error.to_string().contains("fake: hanging in Create forever"), "{error}");
    let later = plugin.get_ip().await.unwrap_err();
    assert!(later.to_string().contains("during GetIP"), "{later}");
    let pid = plugin.plugin().pid().unwrap();
    plugin.shutdown().await;
    assert_reaped(pid).await;
}

#[tokio::test]
async fn a_hanging_call_times_out_by_its_own_limit_and_the_plugin_stays_usable() {
    let fixture = Fixture::new("timeout");
    let options = PluginOptions { long_call_timeout: Some(Duration::from_secs(3)), ..PluginOptions::default() };
    let plugin = fixture.launch(&[("FAKE_HANG_IN", "Create")], options).await.unwrap();
    let error = plugin.create().await.unwrap_err();
    let PluginError::Rpc { source, .. } = &error else { panic!("{error:?}") };
    assert!(matches!(**source, RpcError::Timeout { ref method, .. } if method == "Create"), "{source:?}");
    assert_eq!(
        error.to_string().lines().next(),
        Some("the plugin docker-machine-driver-fake did not answer Create within 3s")
    );
    // Heartbeats are still answered, so the plugin lives on (it would exit 10 s without one).
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(plugin.get_version().await.unwrap(), 1);
    plugin.shutdown().await;
}

#[tokio::test]
async fn garbage_instead_of_an_address_fails_at_once() {
    let fixture = Fixture::new("garbage");
    let started = Instant::now();
    let error = fixture.launch(&[("FAKE_ADDRESS", "garbage")], PluginOptions::default()).await.err().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(matches!(&error, PluginError::BadAddress { line, .. } if line == "garbage"), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("the plugin docker-machine-driver-fake printed \"garbage\" instead of its address")
    );
}

#[tokio::test]
async fn no_address_within_10s_fails_clearly() {
    let fixture = Fixture::new("silent");
    let started = Instant::now();
    let error = fixture.launch(&[("FAKE_ADDRESS", "none")], PluginOptions::default()).await.err().unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(10) && elapsed < Duration::from_secs(15), "{elapsed:?}");
    assert!(
        error.to_string().starts_with("the plugin docker-machine-driver-fake did not print its address within 10s"),
        "{error}"
    );
}

#[tokio::test]
async fn a_binary_that_exits_before_its_address_is_reported_with_its_status_and_stderr() {
    let dir = std::env::temp_dir().join(format!("rmachine-dm-{}-exits", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("docker-machine-driver-broken");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"cannot load: $MACHINE_PLUGIN_DRIVER_NAME $MACHINE_PLUGIN_TOKEN\" >&2\nexit 4\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let spec = PluginSpec::new("broken", &script);
    let sink = rmachine_driver_docker_machine::output::discard();
    let error = MachinePlugin::launch(spec, PluginOptions::default(), sink).await.err().unwrap();
    let text = error.to_string();
    assert!(text.starts_with("the plugin docker-machine-driver-broken stopped before printing its address"), "{text}");
    assert!(text.contains("(it exited with status 4)"), "{text}");
    assert!(text.contains("  | cannot load: broken 42"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_fake_refuses_to_run_without_the_token_as_real_plugins_do() {
    let output = std::process::Command::new(fake_plugin()).env_remove("MACHINE_PLUGIN_TOKEN").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("This is a Docker Machine plugin binary."));
}

#[tokio::test]
async fn a_plugin_older_than_0_5_1_is_reached_on_rpcserverdriver() {
    let fixture = Fixture::new("v0");
    let plugin = fixture.launch(&[("FAKE_ONLY_V0", "1")], PluginOptions::default()).await.unwrap();
    assert_eq!(plugin.plugin().service(), "RpcServerDriver");
    assert_eq!(plugin.driver_name().await.unwrap(), "fake");
    plugin.shutdown().await;
    // The call to RPCServerDriver.GetVersion failed in net/rpc, before any method ran.
    assert_eq!(fixture.methods(), ["GetVersion", "DriverName", "Close"]);
}

#[tokio::test]
async fn a_dropped_plugin_is_killed_and_reaped() {
    let fixture = Fixture::new("drop");
    let plugin = fixture.launch(&[], PluginOptions::default()).await.unwrap();
    let pid = plugin.plugin().pid().unwrap();
    assert_eq!(plugin.get_version().await.unwrap(), 1);
    drop(plugin);
    assert_reaped(pid).await;
}

/// The committed transcripts (golden/) are what Go records today: the recorder built beside
/// the fake plugin runs a Go net/rpc client against the fake and must write the same bytes.
#[test]
fn the_committed_golden_transcripts_are_what_go_records() {
    let recorder = fake_plugin().with_file_name("golden-recorder");
    assert!(recorder.is_file(), "{} is missing: run the fake plugin's build.sh", recorder.display());
    let out = std::env::temp_dir().join(format!("rmachine-dm-{}-golden", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let status = std::process::Command::new(&recorder).arg(&out).stderr(std::process::Stdio::null()).status().unwrap();
    assert!(status.success(), "{} failed: {status}", recorder.display());
    let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden");
    let mut compared = 0;
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "bin") {
            let name = path.file_name().unwrap();
            let want = std::fs::read(committed.join(name)).unwrap_or_default();
            assert!(
                std::fs::read(&path).unwrap() == want,
                "golden/{} differs from what Go records",
                name.to_string_lossy()
            );
            compared += 1;
        }
    }
    assert_eq!(
        compared,
        std::fs::read_dir(&committed)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "bin"))
            .count()
    );
    std::fs::remove_dir_all(out).unwrap();
}
