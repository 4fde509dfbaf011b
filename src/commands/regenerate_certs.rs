//! `rmachine regenerate-certs`: issue machines a new engine certificate (for their current IP)
//! and restart their engines with it; `--client-certs` renews the store's CA and client
//! certificate too.

use crate::context::Context;
use crate::flows::fanout;
use crate::flows::provision::{issue_server_certificate, reprovision_and_record};
use crate::machine_access::{
    Machine, names_or_default, new_store_certificates, open_machine, open_store, store_certificates,
    write_store_certificates,
};
use crate::output::{self, Progress};
use crate::store::Store;
use anyhow::bail;
use clap::Parser;
use std::io::BufRead;
use std::process::ExitCode;
use std::time::Duration;

/// Issue machines new engine certificates (with their current IP) and restart their engines
#[derive(Debug, Parser)]
pub struct Args {
    /// Machines whose certificates to regenerate [default: the machine named 'default']
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub names: Vec<String>,

    /// Also renew the store's CA and client certificate (every other machine then needs regenerate-certs too)
    #[arg(long)]
    pub client_certs: bool,

    /// Do not ask for confirmation
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,

    /// Do not ask for confirmation (as docker-machine's -f)
    #[arg(short, long)]
    pub force: bool,

    /// Seconds to wait for the engine's TLS endpoint after the restart
    #[arg(long, default_value_t = 90, value_name = "SECONDS")]
    pub engine_timeout: u64,

    #[command(flatten)]
    pub parallel: super::Parallel,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let names = names_or_default(&store, &args.names)?;
    for name in &names {
        let machine = open_machine(&store, context, name)?;
        if !machine.over_ssh() {
            bail!(
                "machine '{name}' uses the {} driver: rmachine does not manage its engine's certificates",
                machine.record.driver_name()
            );
        }
    }
    if !args.yes && !args.force {
        if !context.stdin_is_terminal {
            bail!("refusing to regenerate the certificates of {} without confirmation: pass -y", names.join(", "));
        }
        let what = if args.client_certs {
            "the CA, the client certificate and the engine certificates"
        } else {
            "the engine certificates"
        };
        output::status(&format!("About to regenerate {what} of {}; their engines restart", names.join(", ")));
        eprint!("Are you sure? (y/n): ");
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("regenerating certificates cancelled");
        }
    }
    if args.client_certs {
        renew_store_certificates(&store)?;
        output::warning(
            "the CA changed: machines not named here no longer accept the new client certificate until 'rmachine regenerate-certs NAME' runs for them",
        );
    }
    let outcomes = fanout::for_each(&names, args.parallel.limit, |name| {
        let store = &store;
        let engine_timeout = Duration::from_secs(args.engine_timeout);
        async move {
            let mut machine = open_machine(store, context, name)?;
            regenerate(store, &mut machine, engine_timeout, context).await?;
            output::status(&format!("({name}) new certificates in place; the engine answers with them"));
            Ok(vec!["new certificates in place".to_string()])
        }
    })
    .await;
    super::finish(&outcomes, "regenerate the certificates of")
}

/// A new server certificate for the machine's current names, then provisioning (which uploads
/// it and restarts the engine, rolling back if the engine does not come back).
async fn regenerate(
    store: &Store,
    machine: &mut Machine,
    engine_timeout: Duration,
    context: &Context,
) -> anyhow::Result<()> {
    issue_server_certificate(store, machine, &store_certificates(store)?)?;
    let progress = Progress::new(machine.name(), context.stderr_is_terminal);
    reprovision_and_record(store, machine, context, engine_timeout, &progress).await.map(drop)
}

/// A new CA and client certificate for the store.
fn renew_store_certificates(store: &Store) -> anyhow::Result<()> {
    let _lock = store.lock()?;
    write_store_certificates(store, &new_store_certificates()?)
}
