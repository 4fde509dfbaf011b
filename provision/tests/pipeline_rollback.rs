//! Rollback in the provisioning pipeline against a fake host (`fake_host`): when the engine does not
//! come back after a change, the previous configuration is restored and the error says so.

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
        names[names.len() - 5..],
        [
            "rmachine-write-files",
            "rmachine-restart-docker",
            "rmachine-journal",
            "rmachine-restore-files",
            "rmachine-restart-docker"
        ]
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
