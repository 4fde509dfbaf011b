//! Creating a machine: validate → pre-create check → record saved as "creating" → driver create →
//! wait for SSH and pin the host key → provision → verify → record "ready".
//!
//! A failure before the host was touched removes what the create made (driver resources and the
//! store entry), so nothing half-made is left. A failure while provisioning keeps the record with
//! its error, shown by `ls`; `rm` removes it and `provision` tries again. Drivers that launch
//! hosts (aws) remove them after any failure instead (`Driver::remove_after_failed_create`).

use crate::commands::{EXIT_PRECREATE_CHECK, ExitStatus};
use crate::context::Context;
use crate::driver_config::DriverConfig;
use crate::flows::provision::{provision_machine, write_client_material};
use crate::machine_access::{engine_url, open_store, ssh_target, store_certificates};
use crate::output::{self, Progress};
use crate::ssh::{self, Session, SshTarget};
use crate::store::{MachineRecord, ProvisioningStatus, SshSettings, Store, StoreError, validate_machine_name};
use anyhow::{Context as _, anyhow};
use rmachine_drivers::CreateContext;
use rmachine_provision::EngineOptions;
use std::path::Path;
use std::time::{Duration, Instant};

pub struct CreateRequest {
    pub name: String,
    pub driver: DriverConfig,
    pub engine: EngineOptions,
    pub tls_sans: Vec<String>,
    pub ssh_timeout: Duration,
    pub engine_timeout: Duration,
}

/// How far a create got, to know what to clean up.
#[derive(Default)]
struct Attempt {
    provisioning_started: bool,
    ssh_connections: usize,
}

pub async fn create_machine(request: CreateRequest, context: &Context) -> anyhow::Result<()> {
    let name = request.name.clone();
    let progress = Progress::new(&name, context.stderr_is_terminal);
    let summary = create_machine_with_progress(request, context, &progress).await?;
    output::status(&summary);
    output::status(&format!("To point your Docker client at it, run: eval \"$(rmachine env {name})\""));
    Ok(())
}

/// The create flow with its phases shown on `progress`; returns the closing summary line
/// instead of printing it (`apply` creates many machines at once and prints a table).
pub async fn create_machine_with_progress(
    request: CreateRequest,
    context: &Context,
    progress: &Progress,
) -> anyhow::Result<String> {
    validate_machine_name(&request.name)?;
    request
        .driver
        .driver()
        .pre_create_check()
        .map_err(|error| anyhow!(ExitStatus::new(EXIT_PRECREATE_CHECK, format!("pre-create check failed: {error}"))))?;
    request.engine.validate()?;

    let store = open_store(context)?;
    store_certificates(&store)?;
    store.reserve(&request.name)?;
    let mut record =
        MachineRecord::new(&request.name, request.driver.clone(), request.engine.clone(), request.tls_sans.clone());
    if let Err(error) = store.save(&mut record) {
        let _ = store.remove(&request.name);
        return Err(error.into());
    }

    let started = Instant::now();
    let mut attempt = Attempt::default();
    let outcome = tokio::select! {
        outcome = build(&store, &mut record, &request, context, progress, &mut attempt) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    progress.finish();
    match outcome {
        Ok(summary) => Ok(format!(
            "({}) {summary}; took {:.0}s over {} SSH connection(s)",
            request.name,
            started.elapsed().as_secs_f64(),
            attempt.ssh_connections
        )),
        Err(error) => Err(clean_up_failure(&store, &mut record, &attempt, error).await),
    }
}

async fn build(
    store: &Store,
    record: &mut MachineRecord,
    request: &CreateRequest,
    context: &Context,
    progress: &Progress,
    attempt: &mut Attempt,
) -> anyhow::Result<String> {
    progress.phase(&format!("creating the host with the {} driver", record.driver_name()));
    let machine_directory = Store::relative_machine_directory(&record.name);
    let create_context = CreateContext { store_root: store.root(), machine_directory: &machine_directory };
    record.driver.driver_mut().create(&create_context).await?;
    store.save(record)?;

    let Some(endpoint) = record.driver.driver().ssh_endpoint() else {
        write_client_material(store, record, &store_certificates(store)?)?;
        record.status = ProvisioningStatus::Ready;
        store.save(record)?;
        return Ok(format!("recorded the engine at {}", engine_url(record)));
    };
    record.ssh = Some(SshSettings {
        host: endpoint.host,
        port: endpoint.port,
        user: endpoint.user,
        key: endpoint.private_key,
        host_key: None,
    });
    let target = ssh_target(store, record, context, Duration::from_secs(15), Duration::from_secs(900))?;
    progress.phase(&format!("waiting for SSH on {}:{}", target.host, target.port));
    let session = wait_for_ssh(&target, request.ssh_timeout).await?;
    attempt.ssh_connections += 1;
    pin_host_key(store, record, session.host_key())?;

    attempt.provisioning_started = true;
    let report = provision_machine(store, record, &session, request.engine_timeout, progress).await?;
    let commands = session.commands_run();
    session.close().await;
    record.status = ProvisioningStatus::Ready;
    record.last_error = None;
    store.save(record)?;
    Ok(format!(
        "Docker {} is up and running on {} ({}) at {}{}; {commands} remote commands",
        report.engine_version,
        report.os_pretty_name,
        report.family,
        engine_url(record),
        if report.engine_installed { ", freshly installed" } else { "" },
    ))
}

/// Connects until the host answers or `timeout` passes; errors other than an unreachable host
/// (a refused key, a changed host key) fail at once.
async fn wait_for_ssh(target: &SshTarget, timeout: Duration) -> anyhow::Result<Session> {
    let deadline = Instant::now() + timeout;
    loop {
        match Session::connect(target).await {
            Ok(session) => return Ok(session),
            Err(error) if is_unreachable(&error) && Instant::now() + Duration::from_secs(2) < deadline => {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(error) if is_unreachable(&error) => {
                return Err(anyhow!(error)).with_context(|| {
                    format!(
                        "{}:{} did not answer SSH within {}s (--ssh-timeout)",
                        target.host,
                        target.port,
                        timeout.as_secs()
                    )
                });
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// Whether a failed connect may succeed later (the host is booting), unlike a refused key.
fn is_unreachable(error: &ssh::SshError) -> bool {
    matches!(
        error,
        ssh::SshError::Unreachable { .. }
            | ssh::SshError::HandshakeTimedOut { .. }
            | ssh::SshError::HandshakeFailed { .. }
    )
}

/// Records the host key seen on first contact, and a known_hosts file for the system `ssh`.
fn pin_host_key(store: &Store, record: &mut MachineRecord, host_key: &str) -> anyhow::Result<()> {
    let ssh = record.ssh.as_mut().expect("ssh settings are set before connecting");
    ssh.host_key = Some(host_key.to_string());
    let line = ssh::known_hosts_line(&ssh.host, ssh.port, host_key);
    let known_hosts = Store::relative_machine_directory(&record.name).join("known_hosts");
    store.write_file(Path::new(&known_hosts), format!("{line}\n").as_bytes(), 0o600)?;
    Ok(store.save(record)?)
}

/// Undoes a failed create as far as is safe, and returns the error to report.
async fn clean_up_failure(
    store: &Store,
    record: &mut MachineRecord,
    attempt: &Attempt,
    error: anyhow::Error,
) -> anyhow::Error {
    let name = record.name.clone();
    if record.driver.driver().remove_after_failed_create(attempt.provisioning_started) {
        let driver_cleanup = record.driver.driver().remove().await;
        let store_cleanup = store.remove(&name);
        return match (driver_cleanup, store_cleanup) {
            (Ok(()), Ok(()) | Err(StoreError::NotFound { .. })) => {
                error.context(format!("creating machine '{name}' failed; nothing was left behind"))
            }
            (driver_result, store_result) => {
                let mut problems = Vec::new();
                if let Err(problem) = driver_result {
                    problems.push(format!("removing the host failed: {problem}"));
                }
                if let Err(problem) = store_result {
                    problems.push(format!("removing the record failed: {problem}"));
                }
                error.context(format!(
                    "creating machine '{name}' failed, and so did the clean-up ({}); run 'rmachine rm -f {name}'",
                    problems.join("; ")
                ))
            }
        };
    }
    record.status = ProvisioningStatus::Failed;
    record.last_error = Some(format!("{error:#}"));
    let saved = store.save(record);
    let kept = match saved {
        Ok(()) => format!(
            "the machine is kept with this error: 'rmachine provision {name}' tries again, 'rmachine rm {name}' removes it"
        ),
        Err(problem) => format!("recording the error failed too ({problem}); 'rmachine rm -f {name}' removes it"),
    };
    error.context(format!("creating machine '{name}' failed; {kept}"))
}
