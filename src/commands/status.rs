//! `rmachine status`: machines' states as their drivers see them.

use crate::context::Context;
use crate::flows::fanout;
use crate::machine_access::{names_or_default, open_machine, open_store};
use crate::output;
use clap::Parser;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

/// Print machines' states (Running, Stopped, Error, ...)
#[derive(Debug, Parser)]
pub struct Args {
    /// Machines [default: the machine named 'default']
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub names: Vec<String>,

    /// Seconds to wait for each host to answer
    #[arg(short, long, default_value_t = 10, value_name = "SECONDS")]
    pub timeout: u64,

    /// Print [{"Name": ..., "State": ..., "Reason": ...}] as JSON
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub parallel: super::Parallel,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let timeout = Duration::from_secs(args.timeout);
    let names = names_or_default(&store, &args.names)?;
    let mut machines = Vec::new();
    for name in &names {
        machines.push(open_machine(&store, context, name)?);
    }
    let states = Mutex::new(Vec::new());
    // The hosts are asked at once (up to --parallel); a slow one delays only its own answer.
    let outcomes = fanout::for_each(&names, args.parallel.limit, |name| {
        let (machines, states) = (&machines, &states);
        async move {
            let machine = machines.iter().find(|machine| machine.name() == name).expect("opened above");
            let report = machine.driver.state(timeout).await;
            let state = report.state.to_string();
            states.lock().expect("the states lock is never poisoned").push((name.to_string(), report));
            Ok(vec![state])
        }
    })
    .await;
    let states = states.into_inner().expect("the states lock is never poisoned");
    let mut documents = Vec::new();
    for outcome in &outcomes {
        let Some((_, report)) = states.iter().find(|(name, _)| *name == outcome.name) else { continue };
        if args.json {
            documents.push(
                serde_json::json!({"Name": outcome.name, "State": report.state.to_string(), "Reason": report.reason}),
            );
            continue;
        }
        output::data(&format!("{}\n", report.state));
        if let Some(reason) = &report.reason {
            output::status(&format!("({}) {reason}", outcome.name));
        }
    }
    if args.json {
        output::data(&format!("{}\n", serde_json::to_string_pretty(&documents)?));
    }
    Ok(ExitCode::SUCCESS)
}
