//! `rmachine rm`: remove machines, by the one removal flow: what their driver made, their records,
//! keys and certificates, and their docker contexts.

use crate::context::Context;
use crate::flows::remove::remove_by_name;
use crate::machine_access::open_store;
use crate::output;
use anyhow::bail;
use clap::Parser;
use std::io::BufRead;
use std::process::ExitCode;

/// Remove machines: what their driver made, and their records, keys, certificates and docker contexts
#[derive(Debug, Parser)]
pub struct Args {
    /// Machines to remove
    #[arg(required = true, add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub names: Vec<String>,

    /// Remove the local record even when the driver fails to remove the host or the record is unreadable
    #[arg(short, long)]
    pub force: bool,

    /// Do not ask for confirmation
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    for name in &args.names {
        if !store.exists(name) {
            bail!("machine '{name}' does not exist in {}; 'rmachine ls' lists the machines", store.root().display());
        }
    }
    if !args.yes && !args.force {
        if !context.stdin_is_terminal {
            bail!("refusing to remove {} without confirmation: pass -y", args.names.join(", "));
        }
        output::status(&format!("About to remove {}", args.names.join(", ")));
        eprint!("Are you sure? (y/n): ");
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("removal cancelled");
        }
    }
    let mut failures = Vec::new();
    for name in &args.names {
        match remove_by_name(&store, context, name, args.force).await {
            Ok(removed) => {
                for warning in &removed.warnings {
                    output::warning(&format!("({name}) {warning}"));
                }
                output::status(&format!("Successfully removed {name}"));
                if removed.docker_context {
                    output::status(&format!("Removed docker context {name}"));
                }
            }
            Err(error) => failures.push(format!("{name}: {error:#}")),
        }
    }
    if !failures.is_empty() {
        bail!("could not remove {}", failures.join("; "));
    }
    Ok(ExitCode::SUCCESS)
}
