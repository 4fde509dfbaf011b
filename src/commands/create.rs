//! `rmachine create`: make a machine with a driver, provision its engine and verify it.

use crate::context::Context;
use crate::flows::create::{create_machine, CreateRequest};
use anyhow::bail;
use clap::Parser;
use rmachine_drivers::{DriverConfig, GenericConfig, NoneConfig, DRIVER_NAMES};
use rmachine_provision::EngineOptions;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Create a machine: take hold of a host, install and secure its container engine, verify it
#[derive(Debug, Parser)]
pub struct Args {
    /// Name of the machine (letters, digits, '.' and '-'; up to 63 characters)
    pub name: String,

    /// Driver that makes the host: generic (an existing host over SSH) or none (an engine rmachine does not manage)
    #[arg(short = 'd', long, env = "RMACHINE_DRIVER", value_name = "DRIVER")]
    pub driver: Option<String>,

    #[command(flatten)]
    pub generic: GenericArgs,

    /// none driver: URL of the engine, tcp://HOST:PORT
    #[arg(long, value_name = "URL", help_heading = "none driver")]
    pub url: Option<String>,

    #[command(flatten)]
    pub engine: EngineArgs,

    /// Extra name or address for the engine's TLS certificate (repeatable)
    #[arg(long = "tls-san", value_name = "NAME")]
    pub tls_sans: Vec<String>,

    /// Seconds to wait for the host to answer SSH
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub ssh_timeout: u64,

    /// Seconds to wait for the engine's TLS endpoint after a restart
    #[arg(long, default_value_t = 90, value_name = "SECONDS")]
    pub engine_timeout: u64,
}

#[derive(Debug, Parser)]
#[command(next_help_heading = "generic driver")]
pub struct GenericArgs {
    /// IP address or host name of the host
    #[arg(long, env = "GENERIC_IP_ADDRESS", value_name = "ADDRESS")]
    pub generic_ip_address: Option<String>,

    /// SSH user; a user other than root needs passwordless sudo
    #[arg(long, env = "GENERIC_SSH_USER", default_value = "root", value_name = "USER")]
    pub generic_ssh_user: String,

    /// SSH private key (ed25519 or RSA); without it the ssh-agent is used
    #[arg(long, env = "GENERIC_SSH_KEY", value_name = "FILE")]
    pub generic_ssh_key: Option<PathBuf>,

    /// SSH port
    #[arg(long, env = "GENERIC_SSH_PORT", default_value_t = 22, value_name = "PORT")]
    pub generic_ssh_port: u16,

    /// Port the engine listens on with TLS
    #[arg(long, env = "GENERIC_ENGINE_PORT", default_value_t = 2376, value_name = "PORT")]
    pub generic_engine_port: u16,
}

#[derive(Debug, Parser)]
#[command(next_help_heading = "engine")]
pub struct EngineArgs {
    /// How to install Docker Engine when missing: unset = the distribution's package (docker.io),
    /// a URL = a get.docker.com-style script, none = never install
    #[arg(long, env = "RMACHINE_ENGINE_INSTALL_URL", value_name = "URL")]
    pub engine_install_url: Option<String>,

    /// Storage driver: overlay2, fuse-overlayfs, btrfs, zfs or vfs
    #[arg(long, value_name = "DRIVER")]
    pub engine_storage_driver: Option<String>,

    /// User-namespace remapping: default, USER or USER:GROUP
    #[arg(long, value_name = "USER")]
    pub engine_userns_remap: Option<String>,

    /// Engine label KEY=VALUE (repeatable); provider=<driver> is always added
    #[arg(long = "engine-label", value_name = "KEY=VALUE")]
    pub engine_labels: Vec<String>,

    /// Registry mirror URL (repeatable)
    #[arg(long = "engine-registry-mirror", env = "ENGINE_REGISTRY_MIRROR", value_name = "URL", value_delimiter = ',')]
    pub engine_registry_mirrors: Vec<String>,

    /// Registry reachable without TLS verification, HOST[:PORT] (repeatable)
    #[arg(long = "engine-insecure-registry", value_name = "REGISTRY")]
    pub engine_insecure_registries: Vec<String>,

    /// Further daemon.json setting KEY=VALUE; VALUE is JSON when it parses as JSON (repeatable)
    #[arg(long = "engine-opt", value_name = "KEY=VALUE")]
    pub engine_options: Vec<String>,

    /// Environment variable KEY=VALUE for the engine's service (repeatable)
    #[arg(long = "engine-env", value_name = "KEY=VALUE")]
    pub engine_env: Vec<String>,
}

impl Args {
    fn driver_config(&self) -> anyhow::Result<DriverConfig> {
        let Some(driver) = self.driver.as_deref() else {
            bail!("choose a driver with --driver ({})", DRIVER_NAMES.join(", "))
        };
        match driver {
            "generic" => Ok(DriverConfig::Generic(GenericConfig {
                ip_address: self.generic.generic_ip_address.clone().unwrap_or_default(),
                ssh_user: self.generic.generic_ssh_user.clone(),
                ssh_port: self.generic.generic_ssh_port,
                ssh_key: self.generic.generic_ssh_key.clone(),
                engine_port: self.generic.generic_engine_port,
            })),
            "none" => {
                let Some(url) = self.url.clone() else {
                    bail!("--url is required with --driver none: the engine's address, tcp://HOST:PORT")
                };
                Ok(DriverConfig::None(NoneConfig { url }))
            }
            other => bail!("unknown driver '{other}'; rmachine knows: {}", DRIVER_NAMES.join(", ")),
        }
    }

    fn engine_options(&self, engine_port: u16) -> EngineOptions {
        let engine = &self.engine;
        EngineOptions {
            install_url: engine.engine_install_url.clone(),
            storage_driver: engine.engine_storage_driver.clone(),
            userns_remap: engine.engine_userns_remap.clone(),
            labels: engine.engine_labels.clone(),
            registry_mirrors: engine.engine_registry_mirrors.clone(),
            insecure_registries: engine.engine_insecure_registries.clone(),
            options: engine.engine_options.clone(),
            env: engine.engine_env.clone(),
            port: engine_port,
        }
    }
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let driver = args.driver_config()?;
    let engine_port = match &driver {
        DriverConfig::Generic(generic) => generic.engine_port,
        DriverConfig::None(_) => EngineOptions::default().port,
    };
    let request = CreateRequest {
        name: args.name.clone(),
        driver,
        engine: args.engine_options(engine_port),
        tls_sans: args.tls_sans.clone(),
        ssh_timeout: Duration::from_secs(args.ssh_timeout),
        engine_timeout: Duration::from_secs(args.engine_timeout),
    };
    create_machine(request, context).await?;
    Ok(ExitCode::SUCCESS)
}
