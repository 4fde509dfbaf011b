//! The command line: global flags and the list of subcommands; each subcommand's flags live with it
//! in `src/commands/`.

use crate::commands;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Create hosts, install and secure a container engine on them, and point docker at them.
///
/// A modern docker-machine: `rmachine create --driver generic --generic-ip-address IP node1`,
/// then `eval "$(rmachine env node1)"` and use `docker` as usual.
#[derive(Debug, Parser)]
#[command(name = "rmachine", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Folder where rmachine keeps machines, keys and certificates
    /// [default: the user's data folder, e.g. ~/.local/share/rmachine]
    #[arg(short = 's', long, env = "RMACHINE_STORAGE_PATH", global = true, value_name = "PATH")]
    pub storage_path: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Create(commands::create::Args),
    Provision(commands::provision::Args),
    Rm(commands::rm::Args),
    Ls(commands::ls::Args),
    Inspect(commands::inspect::Args),
    Status(commands::status::Args),
    Ip(commands::ip::Args),
    Url(commands::url::Args),
    Config(commands::config::Args),
    Env(commands::env::Args),
    Ssh(commands::ssh::Args),
    Version(commands::version::Args),
    RegenerateCerts(commands::regenerate_certs::Args),
    Upgrade(commands::upgrade::Args),
    Apply(commands::apply::Args),
    Destroy(commands::destroy::Args),
    Start(commands::start::Args),
    Stop(commands::stop::Args),
    Restart(commands::restart::Args),
    Kill(commands::kill::Args),
    Scp(commands::scp::Args),
    Active(commands::active::Args),
    Use(commands::use_context::Args),
    Completion(commands::completion::Args),
    Man(commands::man::Args),
}
