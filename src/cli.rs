//! The command line: global flags and the list of subcommands; each subcommand's flags live with it
//! in `src/commands/`. `create`'s driver flags are added at run time from the driver registry
//! ([`command`]): the chosen driver's only, or, for `create --help` without a driver, the list of
//! drivers.

use crate::commands;
use clap::{CommandFactory, Parser, Subcommand};
use rmachine_drivers::{DriverError, DriverKind, Registry};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

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

    /// Show drivers' log lines (plugins' output) as they come
    #[arg(short = 'D', long, env = "RMACHINE_DEBUG", global = true)]
    pub debug: bool,

    /// Accepted for docker-machine's scripts: rmachine's own SSH client is native anyway
    /// ('rmachine ssh --external-ssh' runs the system ssh instead)
    #[arg(long, global = true)]
    pub native_ssh: bool,

    #[command(flatten)]
    pub docker_machine: crate::docker_machine_flags::GlobalFlags,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Create(Box<commands::create::Args>),
    Provision(commands::provision::Args),
    Rm(commands::rm::Args),
    Ls(commands::ls::Args),
    Inspect(commands::inspect::Args),
    Import(commands::import::Args),
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
    Mount(commands::mount::Args),
    Active(commands::active::Args),
    Use(commands::use_context::Args),
    Drivers(commands::drivers::Args),
    Completion(commands::completion::Args),
    Man(commands::man::Args),
}

impl Command {
    /// Whether SIGINT and SIGTERM stop the command gracefully (it records where it stopped and
    /// says how to go on) rather than ending it at once: the commands that provision hosts.
    pub fn stops_gracefully(&self) -> bool {
        matches!(self, Command::Create(_) | Command::Provision(_) | Command::Apply(_) | Command::RegenerateCerts(_))
    }
}

/// The variables that name `create`'s driver when `--driver` does not (docker-machine's too).
pub const DRIVER_VARIABLES: &[&str] = &["RMACHINE_DRIVER", "MACHINE_DRIVER"];

/// What `create`'s command line asks for, found before it is parsed: which driver's flags to add.
pub enum CreateDriver {
    /// Not `create`, or `create --help` without a driver: no driver flags.
    None,
    Kind(Arc<dyn DriverKind>),
}

/// The driver `create` will use: `-d/--driver`, else `RMACHINE_DRIVER`/`MACHINE_DRIVER`, else the
/// registry's default (none for `--help`, which then lists the drivers).
pub fn create_driver(
    arguments: &[OsString],
    variables: &BTreeMap<String, String>,
    registry: &Registry,
) -> Result<CreateDriver, DriverError> {
    let words: Vec<&str> = arguments.iter().skip(1).map(|word| word.to_str().unwrap_or_default()).collect();
    let Some(start) = words.iter().position(|word| *word == "create") else { return Ok(CreateDriver::None) };
    let rest = &words[start + 1..];
    let rest = &rest[..rest.iter().position(|word| *word == "--").unwrap_or(rest.len())];
    let mut named = None;
    for (index, word) in rest.iter().enumerate() {
        if let Some(value) = word.strip_prefix("--driver=") {
            named = Some(value.to_string());
        } else if *word == "--driver" || *word == "-d" {
            named = rest.get(index + 1).map(|value| value.to_string());
        } else if let Some(value) = word.strip_prefix("-d").filter(|value| !value.is_empty() && !word.starts_with("--"))
        {
            named = Some(value.trim_start_matches('=').to_string());
        }
    }
    let named = named.or_else(|| {
        DRIVER_VARIABLES.iter().find_map(|name| variables.get(*name).filter(|value| !value.is_empty()).cloned())
    });
    match named {
        Some(name) => registry.kind(&name).map(CreateDriver::Kind),
        None if rest.iter().any(|word| *word == "--help" || *word == "-h") => Ok(CreateDriver::None),
        None => Ok(registry.default_kind().map_or(CreateDriver::None, CreateDriver::Kind)),
    }
}

/// The whole command line: the subcommands, with `create` given `driver`'s flags or, without a
/// driver, the list of drivers in its help.
pub fn command(registry: &Registry, driver: &CreateDriver) -> clap::Command {
    Cli::command().mut_subcommand("create", |create| match driver {
        CreateDriver::Kind(kind) => {
            // A plugin's option named like one of create's own flags is left out (clap refuses two).
            let taken: Vec<String> =
                create.get_arguments().filter_map(|arg| arg.get_long()).map(str::to_string).collect();
            let fresh = |arg: &clap::Arg| arg.get_long().is_none_or(|long| !taken.iter().any(|own| own == long));
            create.args(crate::driver_flags::arguments(kind.as_ref()).into_iter().filter(fresh))
        }
        CreateDriver::None => create.after_help(drivers_help(registry)),
    })
}

/// The command line with every built-in driver's flags (for completion and man pages).
pub fn command_with_every_builtin_driver(registry: &Registry) -> clap::Command {
    let arguments: Vec<clap::Arg> =
        registry.builtin().iter().flat_map(|kind| crate::driver_flags::arguments(kind.as_ref())).collect();
    Cli::command().mut_subcommand("create", |create| create.args(arguments).after_help(drivers_help(registry)))
}

fn drivers_help(registry: &Registry) -> String {
    let mut text = String::from("Drivers (--driver NAME):\n");
    let width = registry.builtin().iter().map(|kind| kind.name().len()).max().unwrap_or(0);
    for kind in registry.builtin() {
        let default = if registry.default_kind().is_some_and(|default| default.name() == kind.name()) {
            " [default]"
        } else {
            ""
        };
        text.push_str(&format!("  {:<width$}  {}{default}\n", kind.name(), kind.description()));
    }
    text.push_str(
        "  (and plugins: rmachine-driver-NAME or docker-machine-driver-NAME on PATH; 'rmachine drivers' lists them)\n\n\
         A driver's own flags: rmachine create --driver NAME --help",
    );
    text
}
