//! `rmachine active`: the running machine `DOCKER_HOST` points at (the docker-machine definition),
//! or, when DOCKER_HOST is unset, the machine whose docker context is current (`rmachine use`).
//! Whether it runs is asked of its driver within `--timeout` (machines of the none driver, an
//! engine rmachine does not manage, are not asked).

use crate::context::Context;
use crate::docker_context;
use crate::machine_access::{Machine, open_store, require_running};
use crate::output;
use anyhow::bail;
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

/// Print the name of the active machine: the one DOCKER_HOST (or the current docker context) points at
#[derive(Debug, Parser)]
pub struct Args {
    /// Print {"name": ..., "url": ...} as JSON
    #[arg(long)]
    pub json: bool,

    /// Seconds to wait for the machine's driver to say whether it runs
    #[arg(short, long, default_value_t = 10, value_name = "SECONDS")]
    pub timeout: u64,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    // With a docker context, the context names the machine; DOCKER_HOST names only a URL.
    let (preferred, target) = match &context.docker_host {
        Some(host) => (None, Some(host.clone())),
        None => match docker_context::current_machine(context) {
            Some((name, host)) => (Some(name), Some(host)),
            None => (None, None),
        },
    };
    let Some(target) = target else {
        bail!("no active machine: DOCKER_HOST is not set and no rmachine docker context is current")
    };
    let mut machines = store.list()?;
    machines.sort_by_key(|(name, _)| Some(name) != preferred.as_ref());
    let mut not_running = Vec::new();
    for (name, record) in machines {
        let Ok(record) = record else { continue };
        let Ok(machine) = Machine::from_record(record, context) else { continue };
        if machine.engine_url() == target || docker_context::ssh_url(&machine).as_deref() == Some(target.as_str()) {
            if let Err(why) = require_running(&machine, Duration::from_secs(args.timeout)).await {
                not_running.push(format!("{why:#}"));
                continue;
            }
            if args.json {
                output::data(&format!("{}\n", serde_json::json!({"name": name, "url": target})));
            } else {
                output::data(&format!("{name}\n"));
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
    if !not_running.is_empty() {
        bail!("no active machine: {}", not_running.join("; "));
    }
    bail!("no active machine: no machine in the store has the URL {target}")
}
