//! `rmachine rm`: remove machines: the driver's resources, then the store entry.

use crate::context::Context;
use crate::machine_access::open_store;
use crate::output;
use anyhow::bail;
use clap::Parser;
use std::io::BufRead;
use std::process::ExitCode;

/// Remove machines: what their driver made, and their records, keys and certificates
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
        let driver_result = match store.load(name) {
            Ok(record) => record.driver.driver().remove().await.map_err(|error| error.to_string()),
            Err(error) => Err(format!("{error}")),
        };
        match driver_result {
            Ok(()) => {}
            Err(problem) if args.force => {
                output::warning(&format!("({name}) {problem}; removing the record anyway (-f)"))
            }
            Err(problem) => {
                failures.push(format!("{name}: {problem}; 'rmachine rm -f {name}' removes the record anyway"));
                continue;
            }
        }
        store.remove(name)?;
        output::status(&format!("Successfully removed {name}"));
        if let Ok(true) = crate::docker_context::remove(name) {
            output::status(&format!("Removed docker context {name}"));
        }
    }
    if !failures.is_empty() {
        bail!("could not remove {}", failures.join("; "));
    }
    Ok(ExitCode::SUCCESS)
}
