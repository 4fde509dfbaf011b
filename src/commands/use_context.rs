//! `rmachine use NAME`: a docker context named after the machine, made current, so that plain
//! `docker` commands (in every shell, without `eval $(rmachine env)`) reach it.

use crate::context::Context;
use crate::docker_context::{self, Endpoint};
use crate::machine_access::{open_machine, open_store};
use crate::output;
use anyhow::bail;
use clap::Parser;
use std::process::ExitCode;

/// Create or update the docker context NAME for a machine and make it current (--unset: back to the default context)
#[derive(Debug, Parser)]
pub struct Args {
    /// Machine (not with --unset)
    #[arg(required_unless_present = "unset", conflicts_with = "unset", add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub name: Option<String>,

    /// Make docker's default context current again
    #[arg(short, long)]
    pub unset: bool,

    /// How docker reaches the engine: tls (TCP with the store's certificates) or ssh
    /// [default: the machine's engine transport]
    #[arg(long, value_parser = ["tls", "ssh"])]
    pub transport: Option<String>,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let Some(name) = args.name else {
        docker_context::use_default()?;
        output::status("Docker's default context is current again");
        return Ok(ExitCode::SUCCESS);
    };
    let store = open_store(context)?;
    let machine = open_machine(&store, context, &name)?;
    let transport = args.transport.unwrap_or_else(|| machine.record.engine.transport.to_string());
    let endpoint = if transport == "ssh" {
        let Some(url) = docker_context::ssh_url(&machine) else {
            bail!(
                "machine '{name}' is not reached over SSH (driver {}); use --transport tls",
                machine.record.driver_name()
            )
        };
        crate::known_hosts::ensure_pinned(&machine, context)?;
        Endpoint { host: url, tls_folder: None }
    } else {
        let folder = store.machine_directory(&name);
        if !docker_context::has_tls_files(&folder) {
            bail!(
                "machine '{name}' has no client certificates in {}; 'rmachine provision {name}' makes them",
                folder.display()
            );
        }
        Endpoint { host: machine.engine_url(), tls_folder: Some(folder) }
    };
    docker_context::create_and_use(&name, &endpoint)?;
    if context.docker_host.is_some() {
        output::warning("DOCKER_HOST is set and overrides docker contexts: 'eval \"$(rmachine env -u)\"' unsets it");
    }
    output::status(&format!("Docker context '{name}' ({}) is current", endpoint.host));
    Ok(ExitCode::SUCCESS)
}
