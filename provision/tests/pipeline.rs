//! The whole provisioning pipeline against a fake host (`fake_host`): what runs, in which order,
//! as whom, and what the host ends up with — fresh install, adoption, no-change re-runs, sudo,
//! refusals, and rollback when the engine does not come back.

mod fake_host;

use std::sync::Mutex;

use fake_host::{FakeCheck, FakeHost, certificates, run, split_shell_words};
use rmachine_provision::{EngineOptions, ProvisionError, ProvisionRequest, provision};

const DAEMON_JSON: &str = "/etc/docker/daemon.json";
const DROP_IN: &str = "/etc/systemd/system/docker.service.d/10-rmachine.conf";

#[tokio::test]
async fn fresh_debian_host_gets_docker_io_configured_and_checked() {
    let host = FakeHost::debian();
    let check = FakeCheck::ready();
    let (result, phases) = run(&host, &check, &EngineOptions::default()).await;
    let report = result.unwrap();
    assert_eq!(
        host.command_names(),
        [
            "rmachine-facts",
            "rmachine-set-hostname",
            "rmachine-install-packages",
            "rmachine-facts",
            "rmachine-write-files",
            "rmachine-rollback-watchdog arm",
            "rmachine-restart-docker",
            "rmachine-rollback-watchdog extend",
            "rmachine-rollback-watchdog extend",
            "rmachine-verify-engine",
            "rmachine-rollback-watchdog confirm"
        ]
    );
    assert_eq!(host.commands()[2].arguments, ["docker.io"]);
    // The driver the freshly installed engine chose is kept, written down and checked.
    assert!(host.file(DAEMON_JSON).unwrap().contains("\"storage-driver\": \"overlay2\""));
    assert_eq!(report.os_pretty_name, "Debian GNU/Linux 12 (bookworm)");
    assert_eq!(report.family, "debian");
    assert!(report.engine_installed && report.changed);
    assert_eq!(report.engine_version, "20.10.24");
    assert_eq!(report.remote_commands, 11);
    assert_eq!(host.file("/etc/docker/.rmachine-write"), None, "confirmed: no unconfirmed run is left");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(check.calls(), 1);

    let daemon_json = host.file(DAEMON_JSON).unwrap();
    assert!(daemon_json.contains("\"fd://\",\n    \"tcp://0.0.0.0:2376\""), "{daemon_json}");
    assert!(daemon_json.contains("\"provider=generic\""), "{daemon_json}");
    let drop_in = host.file(DROP_IN).unwrap();
    assert!(drop_in.contains(
        "ExecStart=\nExecStart=/usr/sbin/dockerd --containerd=/run/containerd/containerd.sock $DOCKER_OPTS\n"
    ));
    assert_eq!(host.mode("/etc/docker/server-key.pem"), Some(0o600));
    assert_eq!(host.mode("/etc/docker/ca.pem"), Some(0o644));
    assert_eq!(host.file("/etc/hostname").as_deref(), Some("node1\n"));
    assert_eq!(
        phases,
        [
            "detecting the OS",
            "setting the hostname to node1",
            "installing docker.io",
            "detecting the installed engine",
            "writing /etc/docker/daemon.json, /etc/systemd/system/docker.service.d/10-rmachine.conf, /etc/docker/ca.pem, /etc/docker/server.pem, /etc/docker/server-key.pem",
            "restarting docker",
            "waiting for the engine",
            "checking what the engine runs",
        ]
    );
}

#[tokio::test]
async fn a_second_run_changes_nothing_and_restarts_nothing() {
    let host = FakeHost::debian();
    let check = FakeCheck::ready();
    run(&host, &check, &EngineOptions::default()).await.0.unwrap();
    host.clear_commands();
    let (result, phases) = run(&host, &check, &EngineOptions::default()).await;
    let report = result.unwrap();
    assert_eq!(host.command_names(), ["rmachine-facts"]);
    assert!(!report.changed && !report.engine_installed);
    assert_eq!(report.remote_commands, 1);
    assert_eq!(report.engine_version, "20.10.24");
    assert_eq!(phases, ["detecting the OS", "waiting for the engine"]);
}

#[tokio::test]
async fn a_current_configuration_that_does_not_answer_gets_a_restart() {
    let host = FakeHost::debian();
    run(&host, &FakeCheck::ready(), &EngineOptions::default()).await.0.unwrap();
    host.clear_commands();
    let check = FakeCheck {
        outcomes: Mutex::new(vec![Err("connection refused".into()), Ok("20.10.24".into())]),
        calls: Mutex::new(0),
    };
    let report = run(&host, &check, &EngineOptions::default()).await.0.unwrap();
    assert_eq!(host.command_names(), ["rmachine-facts", "rmachine-restart-docker", "rmachine-verify-engine"]);
    assert!(report.changed);
    assert_eq!(check.calls(), 2);
    assert!(report.warnings[0].contains("it was restarted"), "{:?}", report.warnings);

    host.clear_commands();
    let never = FakeCheck::answering(Err("connection refused".into()));
    let error = run(&host, &never, &EngineOptions::default()).await.0.unwrap_err();
    assert_eq!(
        host.command_names(),
        ["rmachine-facts", "rmachine-restart-docker", "rmachine-journal", "rmachine-restart-docker"]
    );
    assert!(error.to_string().contains("files had not been changed"), "{error}");
}

#[tokio::test]
async fn a_host_with_docker_is_adopted_without_installing() {
    let host = FakeHost::debian_with_docker().with(|state| {
        state.files.insert(DAEMON_JSON.into(), (b"{\"log-driver\": \"journald\"}\n".to_vec(), 0o644));
    });
    let check = FakeCheck::ready();
    let report = run(&host, &check, &EngineOptions::default()).await.0.unwrap();
    let names = host.command_names();
    assert!(!names.iter().any(|name| name.starts_with("rmachine-install")), "{names:?}");
    assert!(!report.engine_installed && report.changed);
    assert!(
        report.warnings.iter().any(|warning| warning.contains("log-driver")),
        "dropped settings are reported: {:?}",
        report.warnings
    );
    assert_eq!(host.file("/etc/docker/daemon.json.rmachine-bak").as_deref(), Some("{\"log-driver\": \"journald\"}\n"));
}

#[tokio::test]
async fn only_changed_files_are_written() {
    let host = FakeHost::debian();
    let check = FakeCheck::ready();
    run(&host, &check, &EngineOptions::default()).await.0.unwrap();
    host.clear_commands();
    let engine = EngineOptions { labels: vec!["env=test".into()], ..EngineOptions::default() };
    let report = run(&host, &check, &engine).await.0.unwrap();
    assert!(report.changed);
    let write = host.commands().into_iter().find(|command| command.name == "rmachine-write-files").unwrap();
    assert_eq!(write.arguments[2..], [DAEMON_JSON.to_string(), "0644".into(), write.arguments[4].clone()]);
    assert!(host.file(DAEMON_JSON).unwrap().contains("\"env=test\""));
}

#[tokio::test]
async fn a_non_root_user_runs_privileged_steps_through_sudo() {
    let host = FakeHost::debian().with(|state| {
        state.user_id = 1000;
        state.user_name = "admin".into();
        state.sudo = "passwordless".into();
    });
    let check = FakeCheck::ready();
    run(&host, &check, &EngineOptions::default()).await.0.unwrap();
    for command in host.commands() {
        if command.name == "rmachine-facts" {
            assert!(!command.through_sudo, "detection runs as the login user");
            assert!(command.line.starts_with("sh -c '"));
        } else {
            assert!(command.through_sudo, "{} must run through sudo", command.name);
            assert!(command.line.starts_with("sudo -n sh -c '"));
        }
    }
    let write = host.commands().into_iter().find(|command| command.name == "rmachine-write-files").unwrap();
    assert!(!write.line.contains("SECRET"), "the key travels on stdin, not on the command line");
    assert!(String::from_utf8_lossy(write.stdin.as_deref().unwrap()).contains("SECRET"));
}

#[tokio::test]
async fn password_sudo_is_refused_with_the_fix() {
    let host = FakeHost::debian().with(|state| {
        state.user_id = 1000;
        state.user_name = "admin".into();
        state.sudo = "denied\nsudo: a password is required".into();
    });
    let error = run(&host, &FakeCheck::ready(), &EngineOptions::default()).await.0.unwrap_err();
    assert_eq!(
        error.to_string(),
        "user admin on 10.0.0.5:22 needs passwordless sudo: sudo said 'a password is required'; \
         add 'admin ALL=(ALL) NOPASSWD:ALL' to /etc/sudoers.d/ or use root"
    );
    assert_eq!(host.command_names(), ["rmachine-facts"]);
}

#[tokio::test]
async fn an_unsupported_os_is_named() {
    let host = FakeHost::debian().with(|state| {
        state.os_release = include_str!("fixtures/os-release/nixos-24.05").into();
    });
    let error = run(&host, &FakeCheck::ready(), &EngineOptions::default()).await.0.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("ID=nixos"), "{message}");
    assert!(message.contains("Debian, Fedora") && message.contains("Flatcar"), "{message}");
    assert_eq!(host.command_names(), ["rmachine-facts"]);
}

#[tokio::test]
async fn a_fedora_host_gets_moby_engine_through_the_same_pipeline() {
    let host = FakeHost::debian().with(|state| {
        state.os_release = include_str!("fixtures/os-release/fedora-40").into();
    });
    let report = run(&host, &FakeCheck::ready(), &EngineOptions::default()).await.0.unwrap();
    assert_eq!(report.family, "fedora");
    let install = &host.commands()[2];
    assert_eq!(install.name, "rmachine-packages");
    assert_eq!(install.arguments, ["dnf", "install", "moby-engine"]);
}

#[tokio::test]
async fn an_unknown_init_system_is_refused() {
    let host = FakeHost::debian().with(|state| state.init_process = "tini".into());
    let error = run(&host, &FakeCheck::ready(), &EngineOptions::default()).await.0.unwrap_err();
    assert!(matches!(error, ProvisionError::UnsupportedInit { .. }));
    assert!(error.to_string().contains("tini"), "{error}");
    assert_eq!(host.command_names(), ["rmachine-facts"]);
}

#[tokio::test]
async fn install_url_none_never_installs() {
    let host = FakeHost::debian();
    let engine = EngineOptions { install_url: Some("none".into()), ..EngineOptions::default() };
    let error = run(&host, &FakeCheck::ready(), &engine).await.0.unwrap_err();
    assert!(matches!(error, ProvisionError::EngineMissing { .. }), "{error}");
    assert!(error.to_string().contains("'none'"));
    assert!(!host.command_names().iter().any(|name| name.starts_with("rmachine-install")));
}

#[tokio::test]
async fn an_install_url_runs_the_install_script() {
    let host = FakeHost::debian();
    let engine = EngineOptions { install_url: Some("https://get.docker.com".into()), ..EngineOptions::default() };
    let report = run(&host, &FakeCheck::ready(), &engine).await.0.unwrap();
    assert!(report.engine_installed);
    let install = host.commands().into_iter().find(|command| command.name == "rmachine-install-from-url").unwrap();
    assert_eq!(install.arguments, ["https://get.docker.com"]);
    assert!(host.file(DROP_IN).unwrap().contains("ExecStart=/usr/bin/dockerd --containerd"));
}

#[tokio::test]
async fn invalid_options_touch_no_host() {
    let host = FakeHost::debian();
    let engine = EngineOptions { options: vec!["storage-driver=vfs".into()], ..EngineOptions::default() };
    let error = run(&host, &FakeCheck::ready(), &engine).await.0.unwrap_err();
    assert!(error.to_string().contains("--engine-storage-driver"), "{error}");
    assert!(host.commands().is_empty());
}

#[test]
fn provisioning_can_be_spawned_on_a_multi_threaded_runtime() {
    fn assert_send<T: Send>(_: &T) {}
    let host = FakeHost::debian();
    let check = FakeCheck::ready();
    let engine = EngineOptions::default();
    let certificates = certificates();
    let request =
        ProvisionRequest { hostname: "node1", driver_name: "generic", engine: &engine, certificates: &certificates };
    let future = provision(&host, &check, &request, &|_: &str| {});
    assert_send(&future);
}

#[test]
fn the_fake_splits_words_like_sh() {
    assert_eq!(split_shell_words("sh -c 'a '\\''b' x"), ["sh", "-c", "a 'b", "x"]);
}

#[tokio::test]
async fn a_named_remap_user_gets_a_range_after_the_existing_ones_once() {
    let host = FakeHost::debian_with_docker().with(|state| {
        state.files.insert("/etc/subuid".into(), (b"dockremap:100000:65536\n".to_vec(), 0o644));
        state.files.insert("/etc/subgid".into(), (b"dockremap:100000:65536\n".to_vec(), 0o644));
    });
    let engine = EngineOptions { userns_remap: Some("remapper:remappers".into()), ..EngineOptions::default() };
    let report = run(&host, &FakeCheck::ready(), &engine).await.0.unwrap();
    let ensure = host
        .commands()
        .into_iter()
        .find(|command| command.name == "rmachine-ensure-remap-user")
        .expect("the user is created");
    assert_eq!(ensure.arguments, ["remapper", "remappers", "165536", "65536"]);
    assert!(host.file(DAEMON_JSON).unwrap().contains("\"userns-remap\": \"remapper:remappers\""));
    assert!(report.warnings.iter().any(|warning| warning.contains("--userns=host")), "{:?}", report.warnings);
    let verify = host.commands().into_iter().rfind(|command| command.name == "rmachine-verify-engine").unwrap();
    assert_eq!(verify.arguments, ["--smoke", "--remap-user", "remapper"]);

    let before = host.commands().len();
    let again = run(&host, &FakeCheck::ready(), &engine).await.0.unwrap();
    assert!(!again.changed);
    assert!(
        host.commands()[before..].iter().all(|command| command.name != "rmachine-ensure-remap-user"),
        "the user exists now"
    );
}

#[tokio::test]
async fn a_storage_driver_the_host_cannot_run_is_refused_before_any_change() {
    let host = FakeHost::debian_with_docker();
    let engine = EngineOptions { storage_driver: Some("btrfs".into()), ..EngineOptions::default() };
    let error = run(&host, &FakeCheck::ready(), &engine).await.0.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("it is on ext4 (ext2/ext3)"), "{message}");
    assert!(message.contains("would work on this host: overlay2, vfs"), "{message}");
    assert_eq!(host.command_names(), ["rmachine-facts"]);
}
