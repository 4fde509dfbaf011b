//! One file per subcommand, each with its `Args` (whose doc comments are the help) and `run`.
//! Logic that several commands share lives below them, in `flows` and `machine_access`.

pub mod active;
pub mod apply;
pub mod completion;
pub mod config;
pub mod create;
pub mod destroy;
pub mod env;
pub mod inspect;
pub mod ip;
pub mod kill;
pub mod ls;
pub mod man;
pub mod provision;
pub mod regenerate_certs;
pub mod restart;
pub mod rm;
pub mod scp;
pub mod ssh;
pub mod start;
pub mod status;
pub mod stop;
pub mod upgrade;
pub mod url;
pub mod use_context;
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
        Command::RegenerateCerts(args) => regenerate_certs::run(args, context).await,
        Command::Upgrade(args) => upgrade::run(args, context).await,
        Command::Apply(args) => apply::run(args, context).await,
        Command::Destroy(args) => destroy::run(args, context).await,
        Command::Start(args) => start::run(args, context).await,
        Command::Stop(args) => stop::run(args, context).await,
        Command::Restart(args) => restart::run(args, context).await,
        Command::Kill(args) => kill::run(args, context).await,
        Command::Scp(args) => scp::run(args, context).await,
        Command::Active(args) => active::run(args, context).await,
        Command::Use(args) => use_context::run(args, context).await,
        Command::Completion(args) => completion::run(args, context).await,
        Command::Man(args) => man::run(args, context).await,
    }
}
