//! `rmachine stop`: stop machines gracefully and wait until they are Stopped (not possible for generic hosts). Machines are handled concurrently (--parallel).

use crate::context::Context;
use crate::flows::power;
use clap::Parser;
use rmachine_drivers::PowerOperation;
use std::process::ExitCode;
use std::time::Duration;

/// Stop machines gracefully and wait until they are Stopped (not possible for generic hosts)
#[derive(Debug, Parser)]
pub struct Args {
    /// Machines [default: the machine named 'default']
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub names: Vec<String>,

    /// Seconds to wait for the Stopped state afterwards
    #[arg(short, long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,

    #[command(flatten)]
    pub parallel: super::Parallel,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let timeout = Duration::from_secs(args.timeout);
    let outcomes = power::run(PowerOperation::Stop, &args.names, timeout, args.parallel.limit, context).await?;
    super::finish(&outcomes, "stop")
}
