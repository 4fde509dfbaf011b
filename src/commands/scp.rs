//! `rmachine scp`: copy files and folders to, from and between machines over rmachine's own SSH
//! connection, checking each machine's pinned host key (docker-machine's scp skipped the check);
//! with `-d`, rsync over the system `ssh` with the same pinned settings sends only what changed.

use crate::context::Context;
use crate::flows::copy::{self, Location};
use crate::flows::system_ssh::{PinnedSsh, run_tool};
use crate::machine_access::{connect, open_machine, open_store, ssh_target};
use crate::store::Store;
use anyhow::{Context as _, bail};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Copy files between this machine and machines: rmachine scp [-r] [-d] [[USER@]MACHINE:]SOURCE [[USER@]MACHINE:]DESTINATION
#[derive(Debug, Parser)]
pub struct Args {
    /// Copy folders, with everything in them
    #[arg(short, long)]
    pub recursive: bool,

    /// Send only the differences, with rsync over the system ssh (rsync must be installed here and on the machine)
    #[arg(short, long)]
    pub delta: bool,

    /// No progress bar (and, with -d, no messages from rsync but errors)
    #[arg(short, long)]
    pub quiet: bool,

    /// What to copy: a local path or [USER@]MACHINE:PATH (relative paths on a machine start in the user's home)
    pub source: String,

    /// Where to: a local path or [USER@]MACHINE:PATH; into it when it is a folder
    pub destination: String,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let is_machine = |name: &str| store.exists(name);
    let source = Location::parse(&args.source, &is_machine);
    let destination = Location::parse(&args.destination, &is_machine);
    if let (Location::Local(_), Location::Local(_)) = (&source, &destination) {
        return Err(neither_is_a_machine(&args));
    }
    if args.delta {
        return delta(&args, &store, source, destination, context).await;
    }
    let on_terminal = context.stderr_is_terminal && !args.quiet;
    match (source, destination) {
        (Location::Local(_), Location::Local(_)) => return Err(neither_is_a_machine(&args)),
        (Location::Local(from), Location::Remote { machine, path, user }) => {
            let session = open(&store, &machine, user.as_deref(), context).await?;
            let result = copy::upload(&session, &from, &path, args.recursive, on_terminal).await;
            session.close().await;
            result?;
        }
        (Location::Remote { machine, path, user }, Location::Local(to)) => {
            let session = open(&store, &machine, user.as_deref(), context).await?;
            let result = copy::download(&session, &path, &to, args.recursive, on_terminal).await;
            session.close().await;
            result?;
        }
        (
            Location::Remote { machine: from_machine, path: from_path, user: from_user },
            Location::Remote { machine: to_machine, path: to_path, user: to_user },
        ) => {
            // Through a private local folder: the machines need not reach each other.
            let relay = tempfile::tempdir()?;
            let session = open(&store, &from_machine, from_user.as_deref(), context).await?;
            let result = copy::download(&session, &from_path, relay.path(), args.recursive, on_terminal).await;
            session.close().await;
            result?;
            let name = PathBuf::from(from_path.trim_end_matches('/'));
            let local = relay.path().join(name.file_name().unwrap_or(name.as_os_str()));
            let session = open(&store, &to_machine, to_user.as_deref(), context).await?;
            let result = copy::upload(&session, &local, &to_path, args.recursive, on_terminal).await;
            session.close().await;
            result?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn neither_is_a_machine(args: &Args) -> anyhow::Error {
    anyhow::anyhow!(
        "neither '{}' nor '{}' names a machine: write MACHINE:PATH on one side ('rmachine ls' lists the machines)",
        args.source,
        args.destination
    )
}

async fn open(
    store: &Store,
    machine: &str,
    user: Option<&str>,
    context: &Context,
) -> anyhow::Result<crate::ssh::Session> {
    let machine = open_machine(store, context, machine)?;
    let Some(user) = user else { return connect(store, &machine, context).await };
    // docker-machine's USER@MACHINE: another login, with the machine's key and pinned host key.
    let mut target = ssh_target(store, &machine, context, Duration::from_secs(15), Duration::from_secs(900))?;
    target.user = user.to_string();
    crate::ssh::Session::connect(&target)
        .await
        .with_context(|| format!("cannot open SSH to machine '{}' as {user}", machine.name()))
}

/// `scp -d`: rsync between this machine and one machine, over ssh with the pinned settings.
async fn delta(
    args: &Args,
    store: &Store,
    source: Location,
    destination: Location,
    context: &Context,
) -> anyhow::Result<ExitCode> {
    let (machine_name, user) = match (&source, &destination) {
        (Location::Remote { machine, user, .. }, Location::Local(_))
        | (Location::Local(_), Location::Remote { machine, user, .. }) => (machine.clone(), user.clone()),
        _ => bail!(
            "scp -d copies between this machine and one machine (rsync cannot copy between two remote hosts): copy in two steps, or leave out -d"
        ),
    };
    let mut machine = open_machine(store, context, &machine_name)?;
    let pinned = PinnedSsh::for_machine(store, &mut machine, context).await?;
    let side = |location: &Location| match location {
        Location::Local(path) => local_text(path),
        Location::Remote { path, .. } => pinned.remote_path(user.as_deref(), path),
    };
    let mut arguments = vec!["-e".to_string(), pinned.rsync_shell()?];
    if args.recursive {
        arguments.push("--recursive".into());
    }
    if args.quiet {
        arguments.push("--quiet".into());
    }
    // Modification times make rsync's quick check skip files that did not change at all.
    arguments.extend(["--times".to_string(), side(&source), side(&destination)]);
    match run_tool("rsync", &arguments, "rsync").await? {
        0 => Ok(ExitCode::SUCCESS),
        status => bail!(
            "rsync exited with status {status} (rsync must be installed on machine '{machine_name}' too: 'rmachine ssh {machine_name} sudo apt-get install -y rsync' on Debian or Ubuntu)"
        ),
    }
}

fn local_text(path: &Path) -> String {
    path.display().to_string()
}
