//! `rmachine ip`: machines' IP addresses, one a line.

use crate::context::Context;
use crate::machine_access::{names_or_default, open_machine, open_store};
use crate::output;
use clap::Parser;
use std::process::ExitCode;

/// Print machines' IP addresses
#[derive(Debug, Parser)]
pub struct Args {
    /// Machines [default: the machine named 'default']
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub names: Vec<String>,

    /// Print [{"Name": ..., "IP": ...}] as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let mut values = Vec::new();
    for name in names_or_default(&store, &args.names)? {
        let ip = open_machine(&store, context, &name)?.driver.ip();
        values.push((name, ip));
    }
    if args.json {
        let documents: Vec<_> =
            values.iter().map(|(name, value)| serde_json::json!({"Name": name, "IP": value})).collect();
        output::data(&format!("{}\n", serde_json::to_string_pretty(&documents)?));
    } else {
        output::data(&values.iter().map(|(_, value)| format!("{value}\n")).collect::<String>());
    }
    Ok(ExitCode::SUCCESS)
}
