//! `rmachine env`: the shell commands that point the docker CLI at a machine.

use crate::context::Context;
use crate::flows::provision::{certificate_notice, check_client_key};
use crate::machine_access::{STATE_TIMEOUT, name_or_default, open_machine, open_store, require_running};
use crate::output;
use crate::shell_env::{self, SHELL_NAMES, Shell};
use crate::store::ProvisioningStatus;
use anyhow::{anyhow, bail};
use clap::Parser;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::ExitCode;

/// Print the commands that point docker at a machine: eval "$(rmachine env NAME)"
#[derive(Debug, Parser)]
pub struct Args {
    /// Machine (not with --unset) [default: the machine named 'default']
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub name: Option<String>,

    /// Shell syntax: bash, zsh, fish, powershell, cmd, tcsh or emacs [default: from $SHELL]
    #[arg(long, value_name = "SHELL")]
    pub shell: Option<String>,

    /// Print the commands that undo the settings instead
    #[arg(short, long)]
    pub unset: bool,

    /// Add the machine's IP to NO_PROXY (or no_proxy, whichever is set)
    #[arg(long)]
    pub no_proxy: bool,

    /// tls: DOCKER_HOST=tcp://IP:2376 with certificates; ssh: DOCKER_HOST=ssh://USER@IP, with the
    /// machine's pinned host key added to ~/.ssh/known_hosts [default: the machine's engine transport]
    #[arg(long, value_parser = ["tls", "ssh"])]
    pub transport: Option<String>,

    #[command(flatten)]
    pub swarm: crate::docker_machine_flags::ClassicSwarmFlag,
}

const VARIABLES: [&str; 4] = ["DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME"];

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    args.swarm.check()?;
    if args.unset && args.name.is_some() {
        bail!("--unset takes no machine name (it undoes whichever machine's settings are set): rmachine env --unset");
    }
    let shell = match &args.shell {
        Some(name) => {
            Shell::from_name(name).ok_or_else(|| anyhow!("unknown shell '{name}'; choose one of {SHELL_NAMES}"))?
        }
        None => Shell::detect(context.shell.as_deref()),
    };
    let hint = shell_env::quote_command_line(&context.invocation);
    let no_proxy_name = context.no_proxy.as_ref().map(|(name, _)| name.as_str()).unwrap_or("NO_PROXY");
    let assignments: Vec<(&str, Option<Vec<u8>>)> = if args.unset {
        let mut unset: Vec<(&str, Option<Vec<u8>>)> = VARIABLES.iter().map(|name| (*name, None)).collect();
        if args.no_proxy {
            unset.push((no_proxy_name, None));
        }
        unset
    } else {
        let store = open_store(context)?;
        let name = &name_or_default(&store, args.name.as_deref())?;
        let machine = open_machine(&store, context, name)?;
        let record = &machine.record;
        match record.status {
            ProvisioningStatus::Ready => {}
            ProvisioningStatus::Creating => {
                bail!("machine '{name}' is still being created (or its create was interrupted: 'rmachine rm {name}')")
            }
            ProvisioningStatus::Failed => bail!(
                "machine '{name}' failed to provision: {}; 'rmachine provision {name}' tries again",
                record.last_error.as_deref().unwrap_or("no error recorded")
            ),
        }
        require_running(&machine, STATE_TIMEOUT).await?;
        if let Some(notice) = certificate_notice(&store, &machine) {
            output::warning(&notice);
        }
        let transport = args.transport.clone().unwrap_or_else(|| record.engine.transport.to_string());
        let mut assignments = if transport == "ssh" {
            let Some(url) = crate::docker_context::ssh_url(&machine) else {
                bail!("machine '{name}' is not reached over SSH (driver {}); use --transport tls", record.driver_name())
            };
            crate::known_hosts::ensure_pinned(&machine, context)?;
            vec![
                ("DOCKER_TLS_VERIFY", None),
                ("DOCKER_HOST", Some(url.into_bytes())),
                ("DOCKER_CERT_PATH", None),
                ("DOCKER_MACHINE_NAME", Some(name.as_bytes().to_vec())),
            ]
        } else {
            check_client_key(&store, &machine)?;
            vec![
                ("DOCKER_TLS_VERIFY", Some(b"1".to_vec())),
                ("DOCKER_HOST", Some(machine.engine_url().into_bytes())),
                ("DOCKER_CERT_PATH", Some(store.machine_directory(name).into_os_string().into_vec())),
                ("DOCKER_MACHINE_NAME", Some(name.as_bytes().to_vec())),
            ]
        };
        if args.no_proxy {
            let current = context.no_proxy.as_ref().map(|(_, value)| value.as_bytes()).unwrap_or_default();
            assignments.push((no_proxy_name, Some(shell_env::no_proxy_with(current, &machine.driver.ip()))));
        }
        assignments
    };
    output::data_bytes(&shell_env::render(shell, &assignments, &hint)?);
    Ok(ExitCode::SUCCESS)
}
