//! rmachine: create hosts, install and configure a container engine on them, point docker at them.
//! This file parses the command line, reads the environment once into a `Context`, runs the
//! command and prints its error, the one place errors are printed.

mod cli;
mod cluster;
mod commands;
mod completion_candidates;
mod context;
mod docker_context;
mod driver_config;
mod engine_check;
mod flows;
mod known_hosts;
mod listing;
mod machine_access;
mod natural_order;
mod output;
mod shell_env;
mod ssh;
mod store;
mod tls;

use clap::{CommandFactory, Parser};
use std::process::ExitCode;

fn main() -> ExitCode {
    // A completion request from the shell (RMACHINE_COMPLETE set) is answered here, then exits.
    clap_complete::CompleteEnv::with_factory(cli::Cli::command)
        .var(completion_candidates::COMPLETE_VARIABLE)
        .complete();
    let cli = cli::Cli::parse();
    let context = match context::Context::from_environment(&cli) {
        Ok(context) => context,
        Err(error) => return report(&error),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return report(&anyhow::Error::new(error).context("cannot start the async runtime")),
    };
    match runtime.block_on(commands::run(cli.command, &context)) {
        Ok(code) => code,
        Err(error) => report(&error),
    }
}

/// Prints an error with its chain of causes on stderr and picks the exit code.
fn report(error: &anyhow::Error) -> ExitCode {
    match error.downcast_ref::<commands::ExitStatus>() {
        Some(status) if status.to_string().is_empty() => ExitCode::from(status.code()),
        Some(status) => {
            eprintln!("error: {error:#}");
            ExitCode::from(status.code())
        }
        None => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
