//! `rmachine inspect`: a machine's record as JSON.

use crate::context::Context;
use crate::machine_access::{load_machine, open_store};
use crate::output;
use clap::Parser;
use std::process::ExitCode;

/// Show machines' records as JSON
#[derive(Debug, Parser)]
pub struct Args {
    /// Machines to inspect
    #[arg(required = true)]
    pub names: Vec<String>,
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let mut documents = Vec::new();
    for name in &args.names {
        documents.push(serde_json::to_value(load_machine(&store, name)?)?);
    }
    let value = if documents.len() == 1 { documents.remove(0) } else { serde_json::Value::Array(documents) };
    output::data(&format!("{}\n", serde_json::to_string_pretty(&value)?));
    Ok(ExitCode::SUCCESS)
}
