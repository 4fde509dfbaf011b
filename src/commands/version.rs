//! `rmachine version`: rmachine's own version, or a machine's engine version.

use crate::context::Context;
use crate::machine_access::{STATE_TIMEOUT, docker_client, open_machine, open_store, require_running};
use crate::output;
use anyhow::Context as _;
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

/// Print rmachine's version, or the engine version of a machine
#[derive(Debug, Parser)]
pub struct Args {
    /// Machine whose engine version to print
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub name: Option<String>,

    /// Print {"Client": ...} or {"Name": ..., "Server": ...} as JSON
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let Some(name) = args.name else {
        if args.json {
            output::data(&format!("{}\n", serde_json::json!({"Client": env!("CARGO_PKG_VERSION")})));
        } else {
            output::data(&format!("rmachine version {}\n", env!("CARGO_PKG_VERSION")));
        }
        return Ok(ExitCode::SUCCESS);
    };
    let store = open_store(context)?;
    let machine = open_machine(&store, context, &name)?;
    require_running(&machine, STATE_TIMEOUT).await?;
    let client = docker_client(&store, Duration::from_secs(10))?;
    let url = machine.engine_url();
    let version =
        client.version(&url).await.with_context(|| format!("cannot ask machine '{name}' at {url} for its version"))?;
    if args.json {
        output::data(&format!("{}\n", serde_json::json!({"Name": name, "Server": version.version})));
    } else {
        output::data(&format!("{}\n", version.version));
    }
    Ok(ExitCode::SUCCESS)
}
