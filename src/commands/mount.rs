//! `rmachine mount`: a machine's folder mounted here with sshfs over rmachine's pinned connection
//! settings (the machine's key, its known_hosts file, strict host-key checking), and `mount -u`
//! to unmount it with fusermount, as docker-machine's mount did (which skipped the host key check).

use crate::context::Context;
use crate::flows::system_ssh::{PinnedSsh, run_tool};
use crate::machine_access::{DEFAULT_MACHINE, STATE_TIMEOUT, open_machine, open_store, require_running};
use anyhow::bail;
use clap::Parser;
use std::path::Path;
use std::process::ExitCode;

/// Mount a machine's folder here with sshfs: rmachine mount node1:/var/log /mnt/node1-logs; rmachine mount -u /mnt/node1-logs
#[derive(Debug, Parser)]
pub struct Args {
    /// Unmount (fusermount -u) the mount point instead
    #[arg(short, long)]
    pub unmount: bool,

    /// [[USER@]MACHINE:]PATH: the folder on the machine (machine 'default' when no MACHINE: is
    /// given); with -u and no MOUNTPOINT, the mount point itself
    pub source: String,

    /// Local folder to mount it on (it must exist) [default: PATH]
    pub mountpoint: Option<String>,
}

/// `[[USER@]MACHINE:]PATH` split into user, machine and path.
fn parse_source(text: &str) -> (Option<String>, String, String) {
    let Some((prefix, path)) = text.split_once(':').filter(|(prefix, _)| !prefix.contains('/')) else {
        return (None, DEFAULT_MACHINE.to_string(), text.to_string());
    };
    let path = if path.is_empty() { "." } else { path }.to_string();
    match prefix.split_once('@') {
        Some((user, machine)) if !user.is_empty() => (Some(user.to_string()), machine.to_string(), path),
        _ => (None, prefix.to_string(), path),
    }
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let (user, machine_name, path) = parse_source(&args.source);
    let mountpoint = args.mountpoint.clone().unwrap_or_else(|| path.clone());
    if args.unmount {
        return finish("fusermount", run_tool("fusermount", &["-u".to_string(), mountpoint], "fuse3").await?);
    }
    let store = open_store(context)?;
    if !store.exists(&machine_name) {
        if args.source.contains(':') {
            bail!("machine '{machine_name}' does not exist ('rmachine ls' lists the machines)");
        }
        bail!(
            "'{}' names no machine, and no machine named '{DEFAULT_MACHINE}' exists to use instead: write MACHINE:PATH",
            args.source
        );
    }
    if !Path::new(&mountpoint).is_dir() {
        bail!("the mount point {mountpoint} is not a folder here: create it first (mkdir -p {mountpoint})");
    }
    let mut machine = open_machine(&store, context, &machine_name)?;
    require_running(&machine, STATE_TIMEOUT).await?;
    let pinned = PinnedSsh::for_machine(&store, &mut machine, context).await?;
    let arguments =
        vec!["-o".to_string(), pinned.sshfs_options(), pinned.remote_path(user.as_deref(), &path), mountpoint];
    finish("sshfs", run_tool("sshfs", &arguments, "sshfs").await?)
}

fn finish(program: &str, status: i32) -> anyhow::Result<ExitCode> {
    if status != 0 {
        bail!("{program} exited with status {status} (its message is above)");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_source;

    #[test]
    fn the_source_names_user_machine_and_path() {
        assert_eq!(parse_source("node1:/var/log"), (None, "node1".into(), "/var/log".into()));
        assert_eq!(parse_source("tester@node1:data"), (Some("tester".into()), "node1".into(), "data".into()));
        assert_eq!(parse_source("/srv/www"), (None, "default".into(), "/srv/www".into()));
        assert_eq!(parse_source("node1:"), (None, "node1".into(), ".".into()));
        assert_eq!(parse_source("./a:b"), (None, "default".into(), "./a:b".into()));
    }
}
