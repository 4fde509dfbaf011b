//! `rmachine destroy`: remove every machine of a cluster file's cluster.

use crate::cluster::file;
use crate::context::Context;
use crate::flows::apply::destroy;
use crate::output;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Remove every machine a cluster file declares or that carries its cluster's label: they leave the
/// swarm (workers first), then are removed like `rmachine rm`
#[derive(Debug, Parser)]
pub struct Args {
    /// The cluster file (YAML)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let spec = file::load(&args.file, context.home.as_deref(), &context.registry)?;
    let outcomes = destroy(&spec, context).await?;
    if outcomes.is_empty() {
        output::status(&format!("cluster '{}' has no machines: nothing to remove", spec.name));
        return Ok(ExitCode::SUCCESS);
    }
    super::finish(&outcomes, "remove")
}
