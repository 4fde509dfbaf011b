//! `rmachine ip`: machines' IP addresses, one a line.

use crate::context::Context;
use crate::machine_access::{load_machine, open_store};
use crate::output;
use clap::Parser;
use std::process::ExitCode;

/// Print machines' IP addresses
#[derive(Debug, Parser)]
pub struct Args {
    /// Machines
    #[arg(required = true)]
    pub names: Vec<String>,
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    for name in &args.names {
        output::data(&format!("{}\n", load_machine(&store, name)?.driver.driver().ip()));
    }
    Ok(ExitCode::SUCCESS)
}
