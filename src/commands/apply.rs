//! `rmachine apply`: bring the machines and the swarm a cluster file declares into being, changing
//! only what differs from the file.

use crate::cluster::{file, plan};
use crate::context::Context;
use crate::flows::apply::{observe, run_plan};
use crate::machine_access::{docker_client, open_store};
use crate::output;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Apply a cluster file: create missing machines (in parallel), re-provision changed ones, set up
/// Docker Swarm mode; machines that exist and match are left alone
#[derive(Debug, Parser)]
pub struct Args {
    /// The cluster file (YAML): defaults, machines, swarm
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,

    /// Print the plan (create / provision / join / nothing per machine) and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Also remove the cluster's machines the file no longer declares (drain, leave the swarm, rm)
    #[arg(long)]
    pub prune: bool,

    #[command(flatten)]
    pub parallel: super::Parallel,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let spec = file::load(&args.file, context.home.as_deref(), &context.registry)?;
    let store = open_store(context)?;
    let client = docker_client(&store, Duration::from_secs(10))?;
    let observed = observe(&store, &spec, &client, context).await?;
    let plan = plan::plan(&spec, &observed, args.prune);
    if args.dry_run {
        output::data(&plan.render());
        return Ok(ExitCode::SUCCESS);
    }
    if plan.changes_nothing() {
        output::status(&format!("cluster '{}' matches {}: nothing to do", spec.name, args.file.display()));
        output::data(&plan.render());
        return Ok(ExitCode::SUCCESS);
    }
    output::status(&format!(
        "Applying {} (cluster '{}'):\n{}",
        args.file.display(),
        spec.name,
        plan.render().trim_end()
    ));
    let outcomes = run_plan(&spec, &plan, &observed, args.parallel.limit, context).await?;
    super::finish(&outcomes, "apply")
}
