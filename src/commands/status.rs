//! `rmachine status`: machines' states as their drivers see them.

use crate::context::Context;
use crate::machine_access::{load_machine, open_store};
use crate::output;
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

/// Print machines' states (Running, Stopped, Error, ...)
#[derive(Debug, Parser)]
pub struct Args {
    /// Machines
    #[arg(required = true)]
    pub names: Vec<String>,

    /// Seconds to wait for each host to answer
    #[arg(short, long, default_value_t = 10, value_name = "SECONDS")]
    pub timeout: u64,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    for name in &args.names {
        let record = load_machine(&store, name)?;
        let report = record.driver.driver().state(Duration::from_secs(args.timeout)).await;
        output::data(&format!("{}\n", report.state));
        if let Some(reason) = report.reason {
            output::status(&format!("({name}) {reason}"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
