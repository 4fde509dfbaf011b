//! `rmachine url`: machines' engine URLs, one a line.

use crate::context::Context;
use crate::machine_access::{engine_url, load_machine, open_store};
use crate::output;
use clap::Parser;
use std::process::ExitCode;

/// Print machines' engine URLs
#[derive(Debug, Parser)]
pub struct Args {
    /// Machines
    #[arg(required = true)]
    pub names: Vec<String>,
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    for name in &args.names {
        output::data(&format!("{}\n", engine_url(&load_machine(&store, name)?)));
    }
    Ok(ExitCode::SUCCESS)
}
