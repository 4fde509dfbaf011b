//! `rmachine create`: make a machine with a driver, provision its engine and verify it.

pub(crate) mod aws;

use crate::context::Context;
use crate::driver_config::{DRIVER_NAMES, DriverConfig};
use crate::flows::create::{CreateRequest, create_machine};
use anyhow::bail;
use clap::Parser;
use rmachine_drivers::{GenericConfig, NoneConfig};
use rmachine_provision::EngineOptions;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Create a machine: take hold of a host, install and secure its container engine, verify it
#[derive(Debug, Parser)]
pub struct Args {
    /// Name of the machine (letters, digits, '.' and '-'; up to 63 characters)
    pub name: String,

    /// Driver that makes the host: generic (an existing host over SSH), aws (an EC2 instance; alias amazonec2)
    /// or none (an engine rmachine does not manage)
    #[arg(short = 'd', long, env = "RMACHINE_DRIVER", value_name = "DRIVER")]
    pub driver: Option<String>,

    #[command(flatten)]
    pub generic: GenericArgs,

    #[command(flatten)]
    pub aws: aws::AwsArgs,

    /// none driver: URL of the engine, tcp://HOST:PORT
    #[arg(long, value_name = "URL", help_heading = "none driver")]
    pub url: Option<String>,

    #[command(flatten)]
    pub engine: EngineArgs,

    /// Extra name or address for the engine's TLS certificate (repeatable)
    #[arg(long = "tls-san", value_name = "NAME")]
    pub tls_sans: Vec<String>,

    /// Seconds to wait for the host to answer SSH
    #[arg(long, visible_alias = "aws-ssh-timeout", default_value_t = 120, value_name = "SECONDS")]
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

    /// How docker reaches the engine: tls (TCP port with TLS client certificates, as
    /// docker-machine) or ssh (no TCP port; DOCKER_HOST=ssh://USER@IP)
    #[arg(long = "engine-transport", value_name = "TRANSPORT", default_value = "tls", value_parser = ["tls", "ssh"])]
    pub engine_transport: String,

    /// Engine version to install, e.g. 20.10.24 or 27.3.1; an error when the install method
    /// cannot give it (the install script gets VERSION=)
    #[arg(long, value_name = "VERSION")]
    pub engine_version: Option<String>,

    /// Extra OCI runtime to install and register with the engine: youki
    #[arg(long, value_name = "RUNTIME")]
    pub engine_runtime: Option<String>,

    /// The engine's default runtime: runc, or the runtime of --engine-runtime
    #[arg(long, value_name = "RUNTIME")]
    pub engine_default_runtime: Option<String>,

    /// Local runtime binary to upload to the host (instead of downloading the pinned release)
    #[arg(long, value_name = "PATH")]
    pub engine_runtime_binary: Option<String>,

    /// Release tarball the host downloads the runtime from (instead of the pinned release)
    #[arg(long, value_name = "URL")]
    pub engine_runtime_url: Option<String>,

    /// SHA-256 the downloaded runtime tarball must have
    #[arg(long, value_name = "HEX")]
    pub engine_runtime_sha256: Option<String>,

    /// Register the runtime even when a container under it does not run with seccomp
    #[arg(long)]
    pub engine_runtime_accept_unverified: bool,
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
            "aws" | "amazonec2" => Ok(DriverConfig::Aws(Box::new(self.aws.config(&self.name)?))),
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
            transport: rmachine_provision::EngineTransport::from_name(&engine.engine_transport).unwrap_or_default(),
            engine_version: engine.engine_version.clone(),
            runtime: engine.engine_runtime.clone(),
            default_runtime: engine.engine_default_runtime.clone(),
            // Absolute, so that a later `rmachine provision` from another folder finds it.
            runtime_binary: engine.engine_runtime_binary.as_ref().map(|path| {
                std::fs::canonicalize(path).map_or_else(|_| path.clone(), |absolute| absolute.display().to_string())
            }),
            runtime_url: engine.engine_runtime_url.clone(),
            runtime_sha256: engine.engine_runtime_sha256.clone(),
            runtime_accept_unverified: engine.engine_runtime_accept_unverified,
        }
    }
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let driver = args.driver_config()?;
    let engine_port = match &driver {
        DriverConfig::Generic(generic) => generic.engine_port,
        DriverConfig::None(_) => EngineOptions::default().port,
        DriverConfig::Aws(aws) => aws.engine_port,
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
