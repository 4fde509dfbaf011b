//! Creating a machine: validate → pre-create check → record saved as "creating" → driver create →
//! wait for SSH with the host key pinned (before the first connection when the driver gave the
//! host its key, else on first contact) → provision → verify → record "ready".
//!
//! A failure before the host was touched removes what the create made (driver resources and the
//! store entry, through the one removal flow), so nothing half-made is left. A failure while
//! provisioning keeps the record with its error, shown by `ls`; `rm` removes it and `provision`
//! tries again. Drivers that launch hosts remove them after any failure instead
//! (`Driver::remove_after_failed_create`). SIGINT and SIGTERM stop a create the same way, with a
//! message that says where it stopped and what is left.

use crate::context::Context;
use crate::exit::{EXIT_PRECREATE_CHECK, ExitStatus};
use crate::flows::provision::{provision_machine, stopped_while_provisioning, write_client_material};
use crate::flows::remove::remove_machine;
use crate::interrupt::Signal;
use crate::machine_access::{Machine, open_store, ssh_target, store_certificates, wait_for_ssh, watching_boot};
use crate::output::{self, MachineDriverLog, Progress};
use crate::store::{DriverRecord, MachineRecord, ProvisioningStatus, Store, validate_machine_name};
use anyhow::anyhow;
use rmachine_drivers::{CreateContext, Driver};
use rmachine_provision::EngineOptions;
use std::time::{Duration, Instant};

/// How long a new host may take to answer SSH when neither the user nor its driver says.
pub const DEFAULT_SSH_TIMEOUT: Duration = Duration::from_secs(120);

pub struct CreateRequest {
    pub name: String,
    pub driver: Box<dyn Driver>,
    pub engine: EngineOptions,
    pub tls_sans: Vec<String>,
    /// `None`: the driver's own default (a first boot under emulation takes longer), else 120 s.
    pub ssh_timeout: Option<Duration>,
    pub engine_timeout: Duration,
    /// The cluster file's cluster, for machines `apply` creates.
    pub cluster: Option<String>,
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
    if let Some(signal) = context.interrupts.signal() {
        return Err(signal.stopped(format!(
            "create of machine '{}' not started: interrupted by {}",
            request.name,
            signal.name()
        )));
    }
    validate_machine_name(&request.name)?;
    request
        .driver
        .pre_create_check()
        .await
        .map_err(|error| anyhow!(ExitStatus::new(EXIT_PRECREATE_CHECK, format!("pre-create check failed: {error}"))))?;
    let mut engine = request.engine.clone();
    engine.port = request.driver.engine_port();
    engine.validate()?;
    engine.check_local_files()?;
    validate_tls_sans(&request.tls_sans)?;

    let store = open_store(context)?;
    store_certificates(&store)?;
    let driver_record = DriverRecord { name: request.driver.name().to_string(), settings: request.driver.settings() };
    let mut record = MachineRecord::new(&request.name, driver_record, engine, request.tls_sans.clone());
    record.cluster = request.cluster.clone();
    store.add(&mut record)?;
    let ssh_timeout = request.ssh_timeout.or(request.driver.ssh_wait()).unwrap_or(DEFAULT_SSH_TIMEOUT);
    let mut machine = Machine { record, driver: request.driver };

    let started = Instant::now();
    let mut attempt = Attempt::default();
    let building = build(&store, &mut machine, ssh_timeout, request.engine_timeout, context, progress, &mut attempt);
    let outcome = context.interrupts.run(building).await;
    progress.finish();
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(signal) => return Err(clean_up_after_signal(&store, &mut machine, &attempt, signal, progress).await),
    };
    match outcome {
        Ok(summary) => Ok(format!(
            "({}) {summary}; took {:.0}s over {} SSH connection(s)",
            request.name,
            started.elapsed().as_secs_f64(),
            attempt.ssh_connections
        )),
        Err(error) => Err(clean_up_failure(&store, &mut machine, &attempt, error).await),
    }
}

/// Each extra name of the engine's certificate is an IP address or a DNS name (`*.` allowed).
fn validate_tls_sans(names: &[String]) -> anyhow::Result<()> {
    for name in names {
        let host = name.strip_prefix("*.").unwrap_or(name);
        rmachine_drivers::check_address(host)
            .map_err(|problem| anyhow!("invalid --tls-san '{name}': {problem}; give an IP address or a DNS name"))?;
    }
    Ok(())
}

async fn build(
    store: &Store,
    machine: &mut Machine,
    ssh_timeout: Duration,
    engine_timeout: Duration,
    context: &Context,
    progress: &Progress,
    attempt: &mut Attempt,
) -> anyhow::Result<String> {
    progress.phase(&format!("creating the host with the {} driver", machine.record.driver_name()));
    let machine_directory = Store::relative_machine_directory(machine.name());
    let log = MachineDriverLog { progress, debug: context.debug, on_terminal: context.stderr_is_terminal };
    let create_context = CreateContext { store_root: store.root(), machine_directory: &machine_directory, log: &log };
    let created = machine.driver.create(&create_context).await;
    machine.save(store)?;
    created?;

    let Some(endpoint) = machine.driver.ssh_endpoint() else {
        write_client_material(store, machine, &store_certificates(store)?)?;
        machine.record.status = ProvisioningStatus::Ready;
        machine.save(store)?;
        return Ok(format!("recorded the engine at {}", machine.engine_url()));
    };
    if let Some(expected) = &endpoint.expected_host_key {
        crate::known_hosts::pin(store, machine, expected)?;
    }
    let target = ssh_target(store, machine, context, Duration::from_secs(15), Duration::from_secs(900))?;
    progress.phase(&format!("waiting for SSH on {}:{}", target.host, target.port));
    let driver = machine.driver.as_ref();
    let session =
        watching_boot(driver, &|action| progress.warning(action), wait_for_ssh(&target, ssh_timeout, driver)).await?;
    attempt.ssh_connections += 1;
    if machine.record.host_key.is_none() {
        crate::known_hosts::pin(store, machine, session.host_key())?;
    }

    attempt.provisioning_started = true;
    let report = provision_machine(store, machine, &session, engine_timeout, progress).await?;
    let commands = session.commands_run();
    session.close().await;
    machine.record.status = ProvisioningStatus::Ready;
    machine.record.last_error = None;
    machine.save(store)?;
    Ok(format!(
        "Docker {} is up and running on {} ({}) at {}{}; {commands} remote commands",
        report.engine_version,
        report.os_pretty_name,
        report.family,
        machine.engine_url(),
        if report.engine_installed { ", freshly installed" } else { "" },
    ))
}

/// Undoes a create stopped by `signal` as far as is safe (as after a failure), and returns the
/// error to report: where it stopped and what is left.
async fn clean_up_after_signal(
    store: &Store,
    machine: &mut Machine,
    attempt: &Attempt,
    signal: Signal,
    progress: &Progress,
) -> anyhow::Error {
    let name = machine.name().to_string();
    let phase = progress.last_phase().unwrap_or_else(|| "starting".into());
    if machine.driver.remove_after_failed_create(attempt.provisioning_started) {
        let stopped = format!("create of machine '{name}' was interrupted by {} while {phase}", signal.name());
        return match remove_machine(store, machine, false).await {
            Ok(_) => signal.stopped(format!("{stopped}; nothing was left behind")),
            Err(problem) => {
                signal.stopped(format!("{stopped}, and the clean-up failed ({problem:#}); run 'rmachine rm -f {name}'"))
            }
        };
    }
    let error = stopped_while_provisioning(signal, &name, progress, "create");
    machine.record.status = ProvisioningStatus::Failed;
    machine.record.last_error = Some(format!("{error:#}"));
    match machine.save(store) {
        Ok(()) => error,
        Err(problem) => error.context(format!("recording it failed ({problem}); 'rmachine rm -f {name}' removes it")),
    }
}

/// Undoes a failed create as far as is safe, and returns the error to report.
async fn clean_up_failure(
    store: &Store,
    machine: &mut Machine,
    attempt: &Attempt,
    error: anyhow::Error,
) -> anyhow::Error {
    let name = machine.name().to_string();
    if machine.driver.remove_after_failed_create(attempt.provisioning_started) {
        return match remove_machine(store, machine, false).await {
            Ok(_) => error.context(format!("creating machine '{name}' failed; nothing was left behind")),
            Err(problem) => error.context(format!(
                "creating machine '{name}' failed, and so did the clean-up ({problem:#}); run 'rmachine rm -f {name}'"
            )),
        };
    }
    machine.record.status = ProvisioningStatus::Failed;
    machine.record.last_error = Some(format!("{error:#}"));
    let kept = match machine.save(store) {
        Ok(()) => format!(
            "the machine is kept with this error: 'rmachine provision {name}' tries again, 'rmachine rm {name}' removes it"
        ),
        Err(problem) => format!("recording the error failed too ({problem}); 'rmachine rm -f {name}' removes it"),
    };
    error.context(format!("creating machine '{name}' failed; {kept}"))
}
