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
    #[arg(required = true, add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub names: Vec<String>,

    /// Seconds to wait for each host to answer
    #[arg(short, long, default_value_t = 10, value_name = "SECONDS")]
    pub timeout: u64,
    /// Print [{"Name": ..., "State": ..., "Reason": ...}] as JSON
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let timeout = Duration::from_secs(args.timeout);
    let mut tasks = Vec::new();
    for name in &args.names {
        let record = load_machine(&store, name)?;
        let name = name.clone();
        // All hosts are asked at once; a slow one delays only its own answer.
        tasks.push(tokio::spawn(async move { (name, record.driver.driver().state(timeout).await) }));
    }
    let mut documents = Vec::new();
    for task in tasks {
        let (name, report) = task.await?;
        if args.json {
            documents
                .push(serde_json::json!({"Name": name, "State": report.state.to_string(), "Reason": report.reason}));
            continue;
        }
        output::data(&format!("{}\n", report.state));
        if let Some(reason) = report.reason {
            output::status(&format!("({name}) {reason}"));
        }
    }
    if args.json {
        output::data(&format!("{}\n", serde_json::to_string_pretty(&documents)?));
    }
    Ok(ExitCode::SUCCESS)
}
