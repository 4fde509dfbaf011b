//! `rmachine create`: make a machine with a driver, provision its engine and verify it. The
//! driver's own flags are added to this command at run time (`cli::command`).

use crate::context::Context;
use crate::exit::{EXIT_PRECREATE_CHECK, ExitStatus};
use crate::flows::create::{CreateRequest, create_machine};
use anyhow::{anyhow, bail};
use clap::Parser;
use rmachine_drivers::{DriverKind, DriverOptions, NewMachine};
use rmachine_provision::EngineOptions;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Create a machine: take hold of a host, install and secure its container engine, verify it
#[derive(Debug, Parser)]
pub struct Args {
    /// Name of the machine (letters, digits, '.' and '-'; up to 63 characters)
    pub name: String,

    /// Driver that makes the host (the list is below; also from RMACHINE_DRIVER or MACHINE_DRIVER);
    /// its flags: rmachine create --driver NAME --help
    #[arg(short = 'd', long, value_name = "DRIVER")]
    pub driver: Option<String>,

    /// Extra name or address for the engine's TLS certificate (repeatable)
    #[arg(long = "tls-san", value_name = "NAME")]
    pub tls_sans: Vec<String>,

    /// Seconds to wait for the host to answer SSH [default: the driver's, else 120]
    #[arg(long, value_name = "SECONDS")]
    pub ssh_timeout: Option<u64>,

    /// Seconds to wait for the engine's TLS endpoint after a restart
    #[arg(long, default_value_t = 90, value_name = "SECONDS")]
    pub engine_timeout: u64,

    #[command(flatten)]
    pub engine: EngineOptions,

    /// The driver chosen before parsing (flag, environment or default), whose flags were added.
    #[arg(skip)]
    pub driver_kind: ChosenDriver,

    /// The values of the driver's flags.
    #[arg(skip)]
    pub driver_options: DriverOptions,

    #[command(flatten)]
    pub swarm: crate::docker_machine_flags::ClassicSwarmCreateFlags,
}

/// The driver `create` was given before its flags were parsed.
#[derive(Clone, Default)]
pub struct ChosenDriver(pub Option<Arc<dyn DriverKind>>);

impl std::fmt::Debug for ChosenDriver {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.0.as_ref().map_or("none", |kind| kind.name()))
    }
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    args.swarm.check()?;
    let Some(kind) = args.driver_kind.0.clone() else {
        let known: Vec<&str> = context.registry.builtin().iter().map(|kind| kind.name()).collect();
        bail!("choose a driver with --driver ({}; 'rmachine drivers' lists plugins too)", known.join(", "))
    };
    let specs = kind.options();
    let environment = context.registry.environment().clone();
    let options = args
        .driver_options
        .clone()
        .complete(&specs, &|variable: &str| environment.variable(variable))
        .map_err(pre_create_failure)?;
    let machine = NewMachine { name: &args.name, joins_swarm: false };
    let driver = context.registry.new_driver(kind.as_ref(), &machine, &options).map_err(pre_create_failure)?;
    let mut engine = args.engine.clone();
    // docker-machine's variable for --engine-install-url.
    if engine.install_url.is_none() {
        engine.install_url = environment.variable("MACHINE_DOCKER_INSTALL_URL");
    }
    // Absolute, so that a later `rmachine provision` from another folder finds it.
    engine.runtime_binary = engine.runtime_binary.as_ref().map(|path| {
        std::fs::canonicalize(path).map_or_else(|_| path.clone(), |absolute| absolute.display().to_string())
    });
    let request = CreateRequest {
        name: args.name.clone(),
        driver,
        engine,
        tls_sans: args.tls_sans.clone(),
        ssh_timeout: args.ssh_timeout.map(Duration::from_secs),
        engine_timeout: Duration::from_secs(args.engine_timeout),
        cluster: None,
    };
    create_machine(request, context).await?;
    Ok(ExitCode::SUCCESS)
}

/// Options the driver refuses fail the pre-create check (exit code 3, as docker-machine).
fn pre_create_failure(error: rmachine_drivers::DriverError) -> anyhow::Error {
    anyhow!(ExitStatus::new(EXIT_PRECREATE_CHECK, format!("pre-create check failed: {error}")))
}
