//! One file per subcommand, each with its `Args` (whose doc comments are the help) and `run`.
//! Logic that several commands share lives below them, in `flows` and `machine_access`.

pub mod active;
pub mod apply;
pub mod completion;
pub mod config;
pub mod create;
pub mod destroy;
pub mod drivers;
pub mod env;
pub mod import;
pub mod inspect;
pub mod ip;
pub mod kill;
pub mod ls;
pub mod man;
pub mod mount;
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
use crate::flows::fanout::{self, Outcome};
use crate::output;
use std::process::ExitCode;

/// `--parallel N`, the same for every command that works on several machines at once.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Parallel {
    /// How many machines to work on at once
    #[arg(long = "parallel", default_value_t = fanout::DEFAULT_PARALLEL, value_name = "N", value_parser = parallel_range)]
    pub limit: usize,
}

fn parallel_range(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(limit) if (1..=64).contains(&limit) => Ok(limit),
        _ => Err(format!("'{text}' is not a number from 1 to 64")),
    }
}

/// Prints a fan-out's summary table (data, on stdout) and fails when any machine failed.
pub fn finish(outcomes: &[Outcome], verb: &str) -> anyhow::Result<ExitCode> {
    output::data(&fanout::render_summary(outcomes));
    fanout::all_succeeded(outcomes, verb)?;
    Ok(ExitCode::SUCCESS)
}

pub async fn run(command: Command, context: &Context) -> anyhow::Result<ExitCode> {
    match command {
        Command::Create(args) => create::run(*args, context).await,
        Command::Provision(args) => provision::run(args, context).await,
        Command::Rm(args) => rm::run(args, context).await,
        Command::Ls(args) => ls::run(args, context).await,
        Command::Inspect(args) => inspect::run(args, context),
        Command::Import(args) => import::run(args, context),
        Command::Status(args) => status::run(args, context).await,
        Command::Ip(args) => ip::run(args, context),
        Command::Url(args) => url::run(args, context).await,
        Command::Config(args) => config::run(args, context).await,
        Command::Env(args) => env::run(args, context).await,
        Command::Ssh(args) => ssh::run(args, context).await,
        Command::Version(args) => version::run(args, context).await,
        Command::RegenerateCerts(args) => regenerate_certs::run(args, context).await,
        Command::Upgrade(args) => upgrade::run(args, context).await,
        Command::Apply(args) => apply::run(args, context).await,
        Command::Destroy(args) => destroy::run(args, context).await,
        Command::Drivers(args) => drivers::run(args, context).await,
        Command::Start(args) => start::run(args, context).await,
        Command::Stop(args) => stop::run(args, context).await,
        Command::Restart(args) => restart::run(args, context).await,
        Command::Kill(args) => kill::run(args, context).await,
        Command::Scp(args) => scp::run(args, context).await,
        Command::Mount(args) => mount::run(args, context).await,
        Command::Active(args) => active::run(args, context).await,
        Command::Use(args) => use_context::run(args, context).await,
        Command::Completion(args) => completion::run(args, context).await,
        Command::Man(args) => man::run(args, context).await,
    }
}
