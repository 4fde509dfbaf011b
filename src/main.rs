//! rmachine: create hosts, install and configure a container engine on them, point docker at them.
//! This file reads the environment once, builds the command line (with `create`'s driver flags
//! from the driver registry), parses it into a `Context`, listens for SIGINT and SIGTERM for the
//! commands that stop on them gracefully, runs the command and prints its error, the one place
//! errors are printed.

mod cli;
mod cluster;
mod commands;
mod completion_candidates;
mod context;
mod docker_context;
mod docker_machine_flags;
mod driver_flags;
mod driver_registry;
mod engine_check;
mod exit;
mod flows;
mod import;
mod interrupt;
mod known_hosts;
mod listing;
mod machine_access;
mod natural_order;
mod output;
mod shell_env;
mod ssh;
mod store;
mod tls;

use clap::FromArgMatches;
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let variables = context::environment_variables();
    let registry = driver_registry::registry(Arc::new(context::discovery_environment(&variables)));
    // A completion request from the shell (RMACHINE_COMPLETE set) is answered here, then exits.
    clap_complete::CompleteEnv::with_factory(|| {
        let variables = context::environment_variables();
        let registry = driver_registry::registry(Arc::new(context::discovery_environment(&variables)));
        cli::command_with_every_builtin_driver(&registry)
    })
    .var(completion_candidates::COMPLETE_VARIABLE)
    .complete();
    let arguments: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let driver = match cli::create_driver(&arguments, &variables, &registry) {
        Ok(driver) => driver,
        Err(error) => return report(&anyhow::Error::new(error)),
    };
    let matches = cli::command(&registry, &driver).get_matches_from(&arguments);
    let mut cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    if let (cli::Command::Create(args), cli::CreateDriver::Kind(kind), Some(("create", create))) =
        (&mut cli.command, &driver, matches.subcommand())
    {
        args.driver_kind = commands::create::ChosenDriver(Some(kind.clone()));
        args.driver_options = driver_flags::options_from_matches(kind.as_ref(), create);
    }
    let mut context = match context::Context::from_environment(&cli, variables, registry) {
        Ok(context) => context,
        Err(error) => return report(&error),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return report(&anyhow::Error::new(error).context("cannot start the async runtime")),
    };
    if cli.command.stops_gracefully() {
        let _entered = runtime.enter();
        context.interrupts = match interrupt::Interrupts::listen() {
            Ok(interrupts) => interrupts,
            Err(error) => return report(&anyhow::Error::new(error).context("cannot listen for SIGINT and SIGTERM")),
        };
    }
    match runtime.block_on(commands::run(cli.command, &context)) {
        Ok(code) => code,
        // A command stopped by a signal exits with the signal's code (130, 143), whatever failed.
        Err(error) => match context.interrupts.signal() {
            Some(signal) if error.downcast_ref::<exit::ExitStatus>().is_none() => {
                report(&signal.stopped(exit::describe(&error)))
            }
            _ => report(&error),
        },
    }
}

/// Prints an error with its chain of causes on stderr and picks the exit code.
fn report(error: &anyhow::Error) -> ExitCode {
    match error.downcast_ref::<exit::ExitStatus>() {
        Some(status) if status.to_string().is_empty() => ExitCode::from(status.code()),
        Some(status) => {
            output::error(&exit::describe(error));
            ExitCode::from(status.code())
        }
        None => {
            output::error(&exit::describe(error));
            ExitCode::FAILURE
        }
    }
}
