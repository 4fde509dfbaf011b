//! `rmachine scp`: copy files and folders to, from and between machines over rmachine's own SSH
//! connection, checking each machine's pinned host key (docker-machine's scp skipped the check).

use crate::context::Context;
use crate::flows::copy::{self, Location};
use crate::machine_access::{connect, open_machine, open_store};
use crate::store::Store;
use anyhow::bail;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Copy files between this machine and machines: rmachine scp [-r] [MACHINE:]SOURCE [MACHINE:]DESTINATION
#[derive(Debug, Parser)]
pub struct Args {
    /// Copy folders, with everything in them
    #[arg(short, long)]
    pub recursive: bool,

    /// What to copy: a local path or MACHINE:PATH (relative paths on a machine start in the user's home)
    pub source: String,

    /// Where to: a local path or MACHINE:PATH; into it when it is a folder
    pub destination: String,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let is_machine = |name: &str| store.exists(name);
    let source = Location::parse(&args.source, &is_machine);
    let destination = Location::parse(&args.destination, &is_machine);
    let on_terminal = context.stderr_is_terminal;
    match (source, destination) {
        (Location::Local(_), Location::Local(_)) => {
            bail!(
                "neither '{}' nor '{}' names a machine: write MACHINE:PATH on one side ('rmachine ls' lists the machines)",
                args.source,
                args.destination
            )
        }
        (Location::Local(from), Location::Remote { machine, path }) => {
            let session = open(&store, &machine, context).await?;
            let result = copy::upload(&session, &from, &path, args.recursive, on_terminal).await;
            session.close().await;
            result?;
        }
        (Location::Remote { machine, path }, Location::Local(to)) => {
            let session = open(&store, &machine, context).await?;
            let result = copy::download(&session, &path, &to, args.recursive, on_terminal).await;
            session.close().await;
            result?;
        }
        (
            Location::Remote { machine: from_machine, path: from_path },
            Location::Remote { machine: to_machine, path: to_path },
        ) => {
            // Through a private local folder: the machines need not reach each other.
            let relay = tempfile::tempdir()?;
            let session = open(&store, &from_machine, context).await?;
            let result = copy::download(&session, &from_path, relay.path(), args.recursive, on_terminal).await;
            session.close().await;
            result?;
            let name = PathBuf::from(from_path.trim_end_matches('/'));
            let local = relay.path().join(name.file_name().unwrap_or(name.as_os_str()));
            let session = open(&store, &to_machine, context).await?;
            let result = copy::upload(&session, &local, &to_path, args.recursive, on_terminal).await;
            session.close().await;
            result?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn open(store: &Store, machine: &str, context: &Context) -> anyhow::Result<crate::ssh::Session> {
    let machine = open_machine(store, context, machine)?;
    connect(store, &machine, context).await
}
