//! Rollback in the provisioning pipeline against a fake host (`fake_host`): when the engine does not
//! come back after a change, the previous configuration is restored and the error says so; when
//! rmachine loses the host (or is killed) instead, the host's rollback watchdog restores it, and
//! a configuration that was written but never confirmed is restarted and checked by the next run.

mod fake_host;

use fake_host::{FakeCheck, FakeHost, run};
use rmachine_provision::{EngineOptions, ProvisionError};

const DAEMON_JSON: &str = "/etc/docker/daemon.json";
const DROP_IN: &str = "/etc/systemd/system/docker.service.d/10-rmachine.conf";

#[tokio::test]
async fn a_failed_check_restores_the_previous_configuration() {
    let previous = "{\"log-driver\": \"journald\"}\n";
    let host = FakeHost::debian_with_docker().with(|state| {
        state.files.insert(DAEMON_JSON.into(), (previous.as_bytes().to_vec(), 0o644));
        state.journal = "dockerd[900]: failed to start daemon: invalid TLS configuration\n".into();
    });
    let check = FakeCheck::answering(Err("connection refused".into()));
    let (result, phases) = run(&host, &check, &EngineOptions::default()).await;
    let error = result.unwrap_err();
    let names = host.command_names();
    assert_eq!(
        names[names.len() - 7..names.len() - 4],
        ["rmachine-write-files", "rmachine-rollback-watchdog arm", "rmachine-restart-docker"]
    );
    assert_eq!(
        names[names.len() - 4..],
        ["rmachine-rollback-watchdog extend", "rmachine-journal", "rmachine-restore-files", "rmachine-restart-docker"]
    );
    assert_eq!(host.file(DAEMON_JSON).as_deref(), Some(previous));
    assert_eq!(host.file(DROP_IN), None, "a file that did not exist before is removed");
    assert_eq!(host.file("/etc/docker/server-key.pem"), None);
    let message = error.to_string();
    assert!(matches!(error, ProvisionError::EngineFailed { restored: true, running_again: true, .. }));
    assert!(message.contains("connection refused"), "{message}");
    assert!(message.contains("The previous configuration was restored"), "{message}");
    assert!(message.contains("the engine is running again"), "{message}");
    assert!(message.contains("invalid TLS configuration"), "{message}");
    assert!(phases.contains(&"restoring the previous configuration".to_string()));
    let restore = host.commands().into_iter().find(|command| command.name == "rmachine-restore-files").unwrap();
    let write = host.commands().into_iter().find(|command| command.name == "rmachine-write-files").unwrap();
    assert_eq!(restore.arguments[1], write.arguments[1], "restore names the run of the write");
}

#[tokio::test]
async fn a_failed_restart_rolls_back_without_waiting_for_the_check() {
    let host = FakeHost::debian_with_docker().with(|state| {
        state.restart_rule = Box::new(|state| !state.text(DAEMON_JSON).contains("userns-remap"));
    });
    let check = FakeCheck::ready();
    let engine = EngineOptions { userns_remap: Some("default".into()), ..EngineOptions::default() };
    let error = run(&host, &check, &engine).await.0.unwrap_err();
    assert_eq!(check.calls(), 0);
    assert!(matches!(error, ProvisionError::EngineFailed { restored: true, running_again: true, .. }), "{error}");
    assert!(error.to_string().contains("Job for docker.service failed"), "{error}");
    assert_eq!(host.file(DAEMON_JSON), None);
    assert!(host.state.lock().unwrap().docker_active);
}

#[tokio::test]
async fn a_write_that_changed_nothing_is_not_rolled_back() {
    let host = FakeHost::debian_with_docker().with(|state| state.write_exit_status = Some(10));
    let check = FakeCheck::ready();
    let error = run(&host, &check, &EngineOptions::default()).await.0.unwrap_err();
    assert_eq!(host.command_names().last().map(String::as_str), Some("rmachine-write-files"));
    let message = error.to_string();
    assert!(message.contains("exit status 10") && message.contains("nothing was changed"), "{message}");
    assert!(message.contains("root@10.0.0.5:22"), "{message}");
}

const MARKER: &str = "/etc/docker/.rmachine-write";

fn labelled(label: &str) -> EngineOptions {
    EngineOptions { labels: vec![label.into()], ..EngineOptions::default() }
}

#[tokio::test]
async fn a_run_cut_off_between_writing_and_restarting_is_restarted_and_checked_by_the_next_one() {
    let host = FakeHost::debian_with_docker();
    run(&host, &FakeCheck::ready(), &labelled("generation=1")).await.0.unwrap();
    // rmachine is gone right after write-files (facts, write): the files are new, the engine
    // still runs the old ones.
    host.state.lock().unwrap().commands_before_the_link_drops = Some(2);
    let error = run(&host, &FakeCheck::ready(), &labelled("generation=2")).await.0.unwrap_err();
    assert!(error.to_string().contains("connection lost"), "{error}");
    assert!(matches!(error, ProvisionError::EngineFailed { host_lost: true, host_restores_within: None, .. }));
    assert!(
        error.to_string().contains("lost the connection to the host before it restarted the engine")
            && error.to_string().contains("the next `rmachine provision` for this machine restarts and checks them"),
        "{error}"
    );
    assert!(host.file(DAEMON_JSON).unwrap().contains("generation=2"));
    assert!(host.file(MARKER).unwrap().contains("file /etc/docker/daemon.json"), "the run is not confirmed");
    host.state.lock().unwrap().commands_before_the_link_drops = None;
    host.clear_commands();

    let (result, _) = run(&host, &FakeCheck::ready(), &labelled("generation=2")).await;
    let report = result.unwrap();
    assert!(
        report.warnings.iter().any(|warning| warning.contains("never confirmed the restarted engine")),
        "{:?}",
        report.warnings
    );
    assert_eq!(
        host.command_names(),
        [
            "rmachine-facts",
            "rmachine-rollback-watchdog arm",
            "rmachine-restart-docker",
            "rmachine-rollback-watchdog extend",
            "rmachine-rollback-watchdog extend",
            "rmachine-verify-engine",
            "rmachine-rollback-watchdog confirm"
        ],
        "every file is current, yet the engine is restarted and the run confirmed"
    );
    assert!(report.changed);
    assert_eq!(host.file(MARKER), None);
}

#[tokio::test]
async fn a_link_lost_after_the_restart_leaves_the_rollback_to_the_host() {
    let previous = "{\"log-driver\": \"journald\"}\n";
    let host = FakeHost::debian_with_docker().with(|state| {
        state.files.insert(DAEMON_JSON.into(), (previous.as_bytes().to_vec(), 0o644));
    });
    // facts, hostname, write, arm, restart, extend; then nothing answers.
    host.state.lock().unwrap().commands_before_the_link_drops = Some(6);
    let check = FakeCheck::answering(Err("connection timed out".into()));
    let error = run(&host, &check, &labelled("cut=yes")).await.0.unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, ProvisionError::EngineFailed { restored: false, host_restores_within: Some(seconds), .. } if seconds > 60 && seconds <= 120),
        "{message}"
    );
    assert!(message.contains("connection timed out"), "the failed step is named: {message}");
    assert!(message.contains("so the host does: its rollback watchdog"), "{message}");

    assert!(host.fire_watchdog(), "the watchdog was armed on the host");
    assert_eq!(host.file(DAEMON_JSON).as_deref(), Some(previous));
    assert!(host.state.lock().unwrap().docker_active, "the host restarted the engine by itself");
    assert_eq!(host.file(MARKER), None);

    host.state.lock().unwrap().commands_before_the_link_drops = None;
    let report = run(&host, &FakeCheck::ready(), &labelled("fixed=yes")).await.0.unwrap();
    assert!(report.changed);
    assert!(host.file(DAEMON_JSON).unwrap().contains("fixed=yes"));
}

#[tokio::test]
async fn a_confirmation_after_the_hosts_deadline_is_reported_as_rolled_back() {
    let host = FakeHost::debian_with_docker().with(|state| state.watchdog_fires_before_confirm = true);
    let error = run(&host, &FakeCheck::ready(), &labelled("late=yes")).await.0.unwrap_err();
    assert!(matches!(error, ProvisionError::RolledBackByHost { .. }), "{error}");
    assert!(
        error.to_string().contains("restored the previous configuration and restarted docker by itself"),
        "{error}"
    );
    assert_eq!(host.file(DAEMON_JSON), None, "the host restored the state before the run");
}

#[tokio::test]
async fn a_watchdog_that_cannot_be_armed_undoes_the_write_before_any_restart() {
    let host = FakeHost::debian_with_docker().with(|state| state.arm_exit_status = Some(1));
    let error = run(&host, &FakeCheck::ready(), &labelled("generation=1")).await.0.unwrap_err();
    let names = host.command_names();
    assert_eq!(
        names[names.len() - 5..],
        [
            "rmachine-write-files",
            "rmachine-rollback-watchdog arm",
            "rmachine-journal",
            "rmachine-restore-files",
            "rmachine-restart-docker"
        ]
    );
    assert!(error.to_string().contains("arming the host's rollback watchdog failed"), "{error}");
    assert!(matches!(error, ProvisionError::EngineFailed { restored: true, host_restores_within: None, .. }));
    assert_eq!(host.file(DAEMON_JSON), None);
}
