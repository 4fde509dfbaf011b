//! `rmachine ssh`: run a command on a machine, or open a shell there, with its pinned host key:
//! over rmachine's own SSH client, or, when ssh options are given (`-C`, `-L ...`) or with
//! `--external-ssh`, through the system `ssh` with the machine's key and pinned host key, the way
//! docker-machine's external ssh passed options through (but checking the host key).

use crate::context::Context;
use crate::exit::ExitStatus;
use crate::flows::system_ssh::{PinnedSsh, run_tool, split_ssh_options};
use crate::machine_access::{STATE_TIMEOUT, connect, name_or_default, open_machine, open_store, require_running};
use anyhow::{anyhow, bail};
use clap::Parser;
use std::process::ExitCode;

/// Run a command on a machine over SSH, or open an interactive shell: rmachine ssh NAME uname -a
#[derive(Debug, Parser)]
pub struct Args {
    /// Use the system ssh (OpenSSH) with the machine's key and pinned host key instead of
    /// rmachine's own client (ssh options such as -C or -L imply it)
    #[arg(long)]
    pub external_ssh: bool,

    /// Machine [default: the machine named 'default']
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub name: Option<String>,

    /// ssh options, then the command to run (-- ends the options): -C -L 8080:localhost:80 uptime;
    /// without a command, an interactive shell
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGUMENTS")]
    pub arguments: Vec<String>,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let name = name_or_default(&store, args.name.as_deref())?;
    let mut machine = open_machine(&store, context, &name)?;
    let (options, command) = split_ssh_options(&args.arguments)?;
    if !machine.over_ssh() {
        bail!(
            "machine '{name}' uses the {} driver, which rmachine does not reach over SSH",
            machine.record.driver_name()
        );
    }
    require_running(&machine, STATE_TIMEOUT).await.map_err(|error| anyhow!("cannot run SSH: {error}"))?;
    let status = if args.external_ssh || !options.is_empty() {
        let pinned = PinnedSsh::for_machine(&store, &mut machine, context).await?;
        let mut arguments = pinned.ssh_options();
        arguments.extend(options);
        arguments.push(pinned.destination(None));
        if !command.is_empty() {
            arguments.push("--".to_string());
            arguments.extend(command);
        }
        run_tool("ssh", &arguments, "openssh-client").await?
    } else {
        let session = connect(&store, &machine, context).await?;
        let status = if command.is_empty() {
            session.interactive_shell().await?
        } else {
            session.run_streaming(&command.join(" ")).await?
        };
        session.close().await;
        i32::try_from(status).unwrap_or(i32::MAX)
    };
    match status {
        0 => Ok(ExitCode::SUCCESS),
        // The remote command's status (or ssh's own 255) becomes ours, silently, as with ssh itself.
        code => Err(anyhow!(ExitStatus::new(u8::try_from(code).unwrap_or(u8::MAX), ""))),
    }
}
