//! `rmachine url`: machines' engine URLs, one a line (a machine that does not run has none).

use crate::context::Context;
use crate::machine_access::{STATE_TIMEOUT, names_or_default, open_machine, open_store, require_running};
use crate::output;
use clap::Parser;
use std::process::ExitCode;

/// Print machines' engine URLs
#[derive(Debug, Parser)]
pub struct Args {
    /// Machines [default: the machine named 'default']
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub names: Vec<String>,

    /// Print [{"Name": ..., "URL": ...}] as JSON
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let mut values = Vec::new();
    for name in names_or_default(&store, &args.names)? {
        let machine = open_machine(&store, context, &name)?;
        require_running(&machine, STATE_TIMEOUT).await?;
        values.push((name, machine.engine_url()));
    }
    if args.json {
        let documents: Vec<_> =
            values.iter().map(|(name, value)| serde_json::json!({"Name": name, "URL": value})).collect();
        output::data(&format!("{}\n", serde_json::to_string_pretty(&documents)?));
    } else {
        output::data(&values.iter().map(|(_, value)| format!("{value}\n")).collect::<String>());
    }
    Ok(ExitCode::SUCCESS)
}
