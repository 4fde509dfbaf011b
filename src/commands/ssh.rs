//! `rmachine ssh`: run a command on a machine, or open a shell there, with its pinned host key.

use crate::context::Context;
use crate::exit::ExitStatus;
use crate::machine_access::{connect, open_machine, open_store};
use anyhow::anyhow;
use clap::Parser;
use std::process::ExitCode;

/// Run a command on a machine over SSH, or open an interactive shell: rmachine ssh NAME -- uname -a
#[derive(Debug, Parser)]
pub struct Args {
    /// Machine
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub name: String,

    /// Command to run (after --); without one, an interactive shell
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let machine = open_machine(&store, context, &args.name)?;
    let session = connect(&store, &machine, context).await?;
    let status = if args.command.is_empty() {
        session.interactive_shell().await?
    } else {
        session.run_streaming(&args.command.join(" ")).await?
    };
    session.close().await;
    match status {
        0 => Ok(ExitCode::SUCCESS),
        // The remote command's status becomes ours, silently, as with ssh itself.
        code => Err(anyhow!(ExitStatus::new(u8::try_from(code).unwrap_or(u8::MAX), ""))),
    }
}
