//! One file per subcommand, each with its `Args` (whose doc comments are the help) and `run`.
//! Logic that several commands share lives below them, in `flows` and `machine_access`.

pub mod config;
pub mod create;
pub mod env;
pub mod inspect;
pub mod ip;
pub mod ls;
pub mod provision;
pub mod rm;
pub mod ssh;
pub mod status;
pub mod url;
pub mod version;

use crate::cli::Command;
use crate::context::Context;
use std::fmt;
use std::process::ExitCode;

/// An error that carries a specific exit code, e.g. a remote command's status for `ssh`.
#[derive(Debug)]
pub struct ExitStatus {
    code: u8,
    message: String,
}

impl ExitStatus {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        ExitStatus { code, message: message.into() }
    }

    pub fn code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for ExitStatus {}

/// Exit code for a failed pre-create check, as docker-machine.
pub const EXIT_PRECREATE_CHECK: u8 = 3;

pub async fn run(command: Command, context: &Context) -> anyhow::Result<ExitCode> {
    match command {
        Command::Create(args) => create::run(args, context).await,
        Command::Provision(args) => provision::run(args, context).await,
        Command::Rm(args) => rm::run(args, context).await,
        Command::Ls(args) => ls::run(args, context).await,
        Command::Inspect(args) => inspect::run(args, context),
        Command::Status(args) => status::run(args, context).await,
        Command::Ip(args) => ip::run(args, context),
        Command::Url(args) => url::run(args, context),
        Command::Config(args) => config::run(args, context),
        Command::Env(args) => env::run(args, context),
        Command::Ssh(args) => ssh::run(args, context).await,
        Command::Version(args) => version::run(args, context).await,
    }
}
