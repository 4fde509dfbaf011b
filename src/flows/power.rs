//! start, stop, restart and kill for several machines at once: each machine's driver does the
//! operation (or names a command the core runs over SSH), then the core waits for the result:
//! the engine answering after start/restart, the Stopped state after stop/kill.

use crate::context::Context;
use crate::engine_check::{SshEngineCheck, TlsEngineCheck};
use crate::machine_access::{connect, docker_client, engine_url, load_machine, open_store};
use crate::output;
use crate::store::Store;
use anyhow::{Context as _, anyhow, bail};
use rmachine_drivers::{MachineState, PowerOperation, PowerOutcome};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How many machines are acted on at once.
const CONCURRENT_MACHINES: usize = 8;
/// How long a rebooting host may keep answering before it goes down.
const GOING_DOWN_DEADLINE: Duration = Duration::from_secs(60);

/// Runs `operation` on every machine in `names` concurrently and reports each; fails when any failed.
pub async fn run(operation: PowerOperation, names: &[String], wait: Duration, context: &Context) -> anyhow::Result<()> {
    let store = Arc::new(open_store(context)?);
    for name in names {
        load_machine(&store, name)?;
    }
    let semaphore = Arc::new(Semaphore::new(CONCURRENT_MACHINES));
    let mut tasks = Vec::new();
    for name in names {
        let (store, semaphore, name) = (store.clone(), semaphore.clone(), name.clone());
        let context = context.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let result = one_machine(operation, &name, &store, &context, wait).await;
            (name, result)
        }));
    }
    let mut failures = Vec::new();
    for task in tasks {
        let (name, result) = task.await?;
        if let Err(error) = result {
            failures.push(format!("{name}: {error:#}"));
        }
    }
    if matches!(operation, PowerOperation::Start | PowerOperation::Restart) && failures.len() < names.len() {
        output::status("Started machines may have new IP addresses; 'rmachine env NAME' prints the current settings.");
    }
    if !failures.is_empty() {
        bail!("could not {operation} {}", failures.join("; "));
    }
    Ok(())
}

async fn one_machine(
    operation: PowerOperation,
    name: &str,
    store: &Store,
    context: &Context,
    wait: Duration,
) -> anyhow::Result<()> {
    let mut record = load_machine(store, name)?;
    let old_ip = record.driver.driver().ip();
    output::status(&format!("({name}) {}...", present_participle(operation)));
    let outcome = record.driver.driver_mut().power(operation).await?;
    if let PowerOutcome::RunOverSsh(command) = &outcome {
        let session = connect(store, &record, context).await?;
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
    let new_ip = record.driver.driver().ip();
    if new_ip != old_ip {
        store.save(&mut record)?;
        output::warning(&format!(
            "({name}) the IP changed from {old_ip} to {new_ip}: run 'rmachine env {name}' again, and 'rmachine provision {name}' if the engine's certificate must name the new address"
        ));
    }
    match operation {
        PowerOperation::Start | PowerOperation::Restart => {
            if operation == PowerOperation::Restart && matches!(outcome, PowerOutcome::RunOverSsh(_)) {
                wait_until_down(&record, GOING_DOWN_DEADLINE).await;
            }
            let version = if record.engine.transport == rmachine_provision::EngineTransport::Ssh {
                let session = connect(store, &record, context).await?;
                let answer = SshEngineCheck { session: &session, deadline: wait }.wait().await;
                session.close().await;
                answer
            } else {
                TlsEngineCheck {
                    client: docker_client(store, Duration::from_secs(5))?,
                    url: engine_url(&record),
                    deadline: wait,
                }
                .wait()
                .await
            };
            let version = version.map_err(|problem| anyhow!("{problem}"))?;
            output::status(&format!("({name}) engine v{version} answers"));
        }
        PowerOperation::Stop | PowerOperation::Kill => {
            wait_for_state(&record, MachineState::Stopped, wait).await?;
            output::status(&format!("({name}) Stopped"));
        }
    }
    Ok(())
}

fn present_participle(operation: PowerOperation) -> &'static str {
    match operation {
        PowerOperation::Start => "Starting",
        PowerOperation::Stop => "Stopping",
        PowerOperation::Restart => "Restarting",
        PowerOperation::Kill => "Killing",
    }
}

/// Waits (at most `deadline`) for a rebooting host to stop answering, so that the engine check
/// that follows does not see the engine of the old boot.
async fn wait_until_down(record: &crate::store::MachineRecord, deadline: Duration) {
    let started = Instant::now();
    while started.elapsed() < deadline {
        if record.driver.driver().state(Duration::from_secs(2)).await.state != MachineState::Running {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn wait_for_state(
    record: &crate::store::MachineRecord,
    wanted: MachineState,
    deadline: Duration,
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let report = record.driver.driver().state(Duration::from_secs(5)).await;
        if report.state == wanted {
            return Ok(());
        }
        if started.elapsed() >= deadline {
            bail!("still {} after {}s, not {wanted}", report.state, deadline.as_secs());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
