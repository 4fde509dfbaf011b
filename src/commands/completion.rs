//! `rmachine completion SHELL`: the shell's completion script. It is clap_complete's dynamic
//! registration: the shell calls `rmachine` back (with `RMACHINE_COMPLETE` set) for candidates,
//! so machine names come from the store at the moment you press Tab.

use crate::completion_candidates::COMPLETE_VARIABLE;
use crate::context::Context;
use crate::output;
use anyhow::{Context as _, anyhow};
use clap::Parser;
use clap_complete::env::Shells;
use std::process::ExitCode;

/// Print a completion script: source <(rmachine completion bash), or save it where your shell loads completions
#[derive(Debug, Parser)]
pub struct Args {
    /// bash, zsh, fish, powershell or elvish
    #[arg(value_parser = ["bash", "zsh", "fish", "powershell", "elvish"])]
    pub shell: String,
}

pub async fn run(args: Args, _context: &Context) -> anyhow::Result<ExitCode> {
    let shells = Shells::builtins();
    let completer = shells.completer(&args.shell).ok_or_else(|| anyhow!("no completion for shell '{}'", args.shell))?;
    let mut script = Vec::new();
    completer
        .write_registration(COMPLETE_VARIABLE, "rmachine", "rmachine", "rmachine", &mut script)
        .with_context(|| format!("cannot write the {} completion script", args.shell))?;
    output::data(&String::from_utf8_lossy(&script));
    Ok(ExitCode::SUCCESS)
}
