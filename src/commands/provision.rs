//! `rmachine provision`: run the provisioner again on existing machines; idempotent.

use crate::context::Context;
use crate::flows::fanout;
use crate::flows::provision::reprovision_and_record;
use crate::machine_access::{names_or_default, open_machine, open_store};
use crate::output::{self, Progress};
use anyhow::bail;
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

/// Provision machines again: reinstall nothing that is there, rewrite the engine's configuration
/// only where it differs, and verify the engine
#[derive(Debug, Parser)]
pub struct Args {
    /// Machines to provision [default: the machine named 'default']
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub names: Vec<String>,

    /// Seconds to wait for the engine's TLS endpoint after a restart
    #[arg(long, default_value_t = 90, value_name = "SECONDS")]
    pub engine_timeout: u64,

    #[command(flatten)]
    pub parallel: super::Parallel,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let names = names_or_default(&store, &args.names)?;
    let engine_timeout = Duration::from_secs(args.engine_timeout);
    let outcomes = fanout::for_each(&names, args.parallel.limit, |name| {
        let store = &store;
        async move {
            let mut machine = open_machine(store, context, name)?;
            if !machine.over_ssh() {
                bail!(
                    "machine '{name}' uses the {} driver: rmachine does not provision it",
                    machine.record.driver_name()
                );
            }
            let progress = Progress::new(name, context.stderr_is_terminal);
            let report = reprovision_and_record(store, &mut machine, context, engine_timeout, &progress).await?;
            let change = if report.changed { "configuration applied" } else { "no change" };
            output::status(&format!("({name}) {change}; Docker {} is running", report.engine_version));
            Ok(vec![change.to_string(), format!("Docker {} running", report.engine_version)])
        }
    })
    .await;
    super::finish(&outcomes, "provision")
}
