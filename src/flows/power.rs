//! start, stop, restart and kill for several machines at once (through the fan-out): each
//! machine's driver does the operation (or names a command the core runs over SSH), then the core
//! waits for the result: the engine answering after start/restart, the Stopped state after
//! stop/kill. A changed address or engine URL (a local VM's port re-picked) is saved (the driver's
//! settings are the one source of truth) and the user is told.

use crate::context::Context;
use crate::engine_check::{SshEngineCheck, TlsEngineCheck};
use crate::flows::fanout::{self, Outcome};
use crate::flows::provision::{certificate_notice, provision_session_and_record};
use crate::machine_access::{
    Machine, connect, docker_client, names_or_default, open_machine, open_store, ssh_target, wait_for_ssh,
    watching_boot,
};
use crate::output;
use crate::store::Store;
use anyhow::{Context as _, anyhow, bail};
use rmachine_drivers::{MachineState, PowerOperation, PowerOutcome};
use std::time::{Duration, Instant};

/// How long a rebooting host may keep answering before it goes down.
const GOING_DOWN_DEADLINE: Duration = Duration::from_secs(60);

/// Runs `operation` on every machine in `names` (none: the machine named `default`), `parallel`
/// at a time, and reports each.
pub async fn run(
    operation: PowerOperation,
    names: &[String],
    wait: Duration,
    parallel: usize,
    context: &Context,
) -> anyhow::Result<Vec<Outcome>> {
    let store = open_store(context)?;
    let names = &names_or_default(&store, names)?;
    for name in names {
        open_machine(&store, context, name)?;
    }
    let outcomes = fanout::for_each(names, parallel, |name| one_machine(operation, name, &store, context, wait)).await;
    let started = outcomes.iter().any(|outcome| outcome.error.is_none());
    if matches!(operation, PowerOperation::Start | PowerOperation::Restart) && started {
        output::status("Started machines may have new IP addresses; 'rmachine env NAME' prints the current settings.");
    }
    Ok(outcomes)
}

async fn one_machine(
    operation: PowerOperation,
    name: &str,
    store: &Store,
    context: &Context,
    wait: Duration,
) -> anyhow::Result<Vec<String>> {
    let mut machine = open_machine(store, context, name)?;
    let old_ip = machine.driver.ip();
    let old_url = machine.engine_url();
    let old_ssh = machine.driver.ssh_endpoint().map(|endpoint| (endpoint.host, endpoint.port));
    output::status(&format!("({name}) {}...", present_participle(operation)));
    let outcome = machine.driver.power(operation).await;
    // What the driver recorded (a new address, a stopped instance) is kept even when it failed;
    // a driver that recorded nothing (it refused the operation) leaves the record as it was.
    if machine.driver.settings() != machine.record.driver.settings {
        machine.save(store)?;
    }
    let outcome = outcome?;
    if let PowerOutcome::RunOverSsh(command) = &outcome {
        let session = connect(store, &machine, context).await?;
        let result = session.run(command, None).await.with_context(|| format!("cannot {operation} over SSH"));
        session.close().await;
        let output = result?;
        if output.exit_status != 0 {
            bail!(
                "'{command}' failed with status {}: {}",
                output.exit_status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
    }
    let new_ip = machine.driver.ip();
    let new_url = machine.engine_url();
    let mut done = vec![past_tense(operation).to_string()];
    if machine.driver.ssh_endpoint().map(|endpoint| (endpoint.host, endpoint.port)) != old_ssh {
        crate::known_hosts::write_machine_file(store, &machine)?;
    }
    if new_ip != old_ip && !new_ip.is_empty() {
        let change = if old_ip.is_empty() { String::new() } else { format!(" (it was at {old_ip})") };
        output::warning(&format!("({name}) the machine is now at {new_ip}{change}: run 'rmachine env {name}' again"));
        done.push(format!("now at {new_ip}"));
    } else if new_url != old_url {
        output::warning(&format!(
            "({name}) the engine URL changed from {old_url} to {new_url}: run 'rmachine env {name}' (or 'rmachine use {name}') again"
        ));
        done.push(format!("engine now at {new_url}"));
    }
    match operation {
        PowerOperation::Start | PowerOperation::Restart => {
            if operation == PowerOperation::Restart && matches!(outcome, PowerOutcome::RunOverSsh(_)) {
                wait_until_down(store, &machine, GOING_DOWN_DEADLINE).await;
            }
            let tls = machine.record.engine.transport == rmachine_provision::EngineTransport::Tls;
            if tls && certificate_notice(store, &machine).is_some() {
                // The engine's certificate names the old address: renew it over SSH at the new one.
                output::status(&format!("({name}) renewing the engine's certificate for {new_ip}"));
                let progress = output::Progress::new(name, context.stderr_is_terminal);
                let target = ssh_target(store, &machine, context, Duration::from_secs(15), Duration::from_secs(900))?;
                let driver = machine.driver.as_ref();
                let session =
                    watching_boot(driver, &|action| progress.warning(action), wait_for_ssh(&target, wait, driver))
                        .await?;
                provision_session_and_record(store, &mut machine, session, wait, &progress, &context.interrupts)
                    .await?;
                done.push(format!("certificate renewed for {new_ip}"));
            }
            let warn = |action: &str| output::warning(&format!("({name}) {action}"));
            let engine = wait_for_engine(store, &machine, context, wait);
            let version = watching_boot(machine.driver.as_ref(), &warn, engine).await?;
            output::status(&format!("({name}) engine v{version} answers"));
            done.push(format!("engine v{version} answers"));
        }
        PowerOperation::Stop | PowerOperation::Kill => {
            wait_for_state(&machine, MachineState::Stopped, wait).await?;
            output::status(&format!("({name}) Stopped"));
        }
    }
    Ok(done)
}

/// Waits for the machine's engine to answer, over its transport; its version.
pub async fn wait_for_engine(
    store: &Store,
    machine: &Machine,
    context: &Context,
    wait: Duration,
) -> anyhow::Result<String> {
    let version = if machine.record.engine.transport == rmachine_provision::EngineTransport::Ssh {
        let session = connect(store, machine, context).await?;
        let answer = SshEngineCheck { session: &session, deadline: wait }.wait().await;
        session.close().await;
        answer
    } else {
        TlsEngineCheck {
            client: docker_client(store, Duration::from_secs(5))?,
            url: machine.engine_url(),
            deadline: wait,
        }
        .wait()
        .await
    };
    version.map_err(|problem| anyhow!("{problem}"))
}

fn present_participle(operation: PowerOperation) -> &'static str {
    match operation {
        PowerOperation::Start => "Starting",
        PowerOperation::Stop => "Stopping",
        PowerOperation::Restart => "Restarting",
        PowerOperation::Kill => "Killing",
    }
}

fn past_tense(operation: PowerOperation) -> &'static str {
    match operation {
        PowerOperation::Start => "started",
        PowerOperation::Stop => "stopped",
        PowerOperation::Restart => "restarted",
        PowerOperation::Kill => "killed",
    }
}

/// Waits (at most `deadline`) for a rebooting host to stop answering, so that the engine check
/// that follows does not see the engine of the old boot: its driver no longer says Running, or
/// (a VM whose hypervisor keeps running through the guest's reboot) its TLS engine stops answering.
async fn wait_until_down(store: &Store, machine: &Machine, deadline: Duration) {
    let tls = machine.record.engine.transport == rmachine_provision::EngineTransport::Tls;
    let client = if tls { docker_client(store, Duration::from_secs(2)).ok() } else { None };
    let started = Instant::now();
    while started.elapsed() < deadline {
        if machine.driver.state(Duration::from_secs(2)).await.state != MachineState::Running {
            return;
        }
        if let Some(client) = &client
            && client.version_quickly(&machine.engine_url()).await.is_err()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn wait_for_state(machine: &Machine, wanted: MachineState, deadline: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let report = machine.driver.state(Duration::from_secs(5)).await;
        if report.state == wanted {
            return Ok(());
        }
        if started.elapsed() >= deadline {
            bail!("still {} after {}s, not {wanted}", report.state, deadline.as_secs());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
