//! `rmachine regenerate-certs`: issue machines a new engine certificate (for their current IP)
//! and restart their engines with it; `--client-certs` renews the store's CA and client
//! certificate too. Also the notice `env`, `ls` and `config` give when a machine's IP is no longer
//! in its certificate.

use crate::context::Context;
use crate::flows::provision::{SERVER_CERTIFICATE, SERVER_KEY, reprovision_and_record, server_certificate_names};
use crate::machine_access::{
    CA_CERTIFICATE, CA_KEY, CLIENT_CERTIFICATE, CLIENT_KEY, load_machine, open_store, store_certificates,
};
use crate::output::{self, Progress};
use crate::store::{MachineRecord, Store};
use crate::tls;
use anyhow::{Context as _, bail};
use clap::Parser;
use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// Issue machines new engine certificates (with their current IP) and restart their engines
#[derive(Debug, Parser)]
pub struct Args {
    /// Machines whose certificates to regenerate
    #[arg(required = true, add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
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
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let mut records = Vec::new();
    for name in &args.names {
        let record = load_machine(&store, name)?;
        if record.ssh.is_none() {
            bail!(
                "machine '{name}' uses the {} driver: rmachine does not manage its engine's certificates",
                record.driver_name()
            );
        }
        records.push(record);
    }
    if !args.yes && !args.force {
        if !context.stdin_is_terminal {
            bail!("refusing to regenerate the certificates of {} without confirmation: pass -y", args.names.join(", "));
        }
        let what = if args.client_certs {
            "the CA, the client certificate and the engine certificates"
        } else {
            "the engine certificates"
        };
        output::status(&format!("About to regenerate {what} of {}; their engines restart", args.names.join(", ")));
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
    let mut failures = 0;
    for mut record in records {
        let name = record.name.clone();
        let outcome = regenerate(&store, &mut record, &args, context).await;
        match outcome {
            Ok(()) => output::status(&format!("({name}) new certificates in place; the engine answers with them")),
            Err(error) => {
                failures += 1;
                output::status(&format!("error: ({name}) {error:#}"));
            }
        }
    }
    if failures > 0 {
        bail!("{failures} of {} machine(s) failed", args.names.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// A new server certificate for the machine's current names, then provisioning (which uploads
/// it and restarts the engine, rolling back if the engine does not come back).
async fn regenerate(store: &Store, record: &mut MachineRecord, args: &Args, context: &Context) -> anyhow::Result<()> {
    let certificates = store_certificates(store)?;
    let names = server_certificate_names(record);
    let server = tls::issue_server_certificate(&certificates.ca, &format!("rmachine.{}", record.name), &names)
        .with_context(|| format!("cannot issue the engine certificate for machine '{}'", record.name))?;
    let folder = Store::relative_machine_directory(&record.name);
    store.write_file(&folder.join(SERVER_KEY), server.key_pem.as_bytes(), 0o600)?;
    store.write_file(&folder.join(SERVER_CERTIFICATE), server.cert_pem.as_bytes(), 0o644)?;
    let progress = Progress::new(&record.name, context.stderr_is_terminal);
    reprovision_and_record(store, record, context, Duration::from_secs(args.engine_timeout), &progress).await.map(drop)
}

/// A new CA and client certificate for the store.
fn renew_store_certificates(store: &Store) -> anyhow::Result<()> {
    let _lock = store.lock()?;
    let ca = tls::generate_ca("rmachine").context("cannot create the store's certificate authority")?;
    let client =
        tls::issue_client_certificate(&ca, "rmachine client").context("cannot create the client certificate")?;
    store.write_file(Path::new(CA_KEY), ca.key_pem.as_bytes(), 0o600)?;
    store.write_file(Path::new(CA_CERTIFICATE), ca.cert_pem.as_bytes(), 0o644)?;
    store.write_file(Path::new(CLIENT_KEY), client.key_pem.as_bytes(), 0o600)?;
    store.write_file(Path::new(CLIENT_CERTIFICATE), client.cert_pem.as_bytes(), 0o644)?;
    Ok(())
}

/// When the machine's IP is no longer in its engine certificate: what to tell the user.
pub fn certificate_notice(store: &Store, record: &MachineRecord) -> Option<String> {
    let ip = record.driver.driver().ip();
    if ip.is_empty() || record.ssh.is_none() {
        return None;
    }
    let certificate =
        store.read_file(&Store::relative_machine_directory(&record.name).join(SERVER_CERTIFICATE)).ok()?;
    match tls::certificate_covers(&certificate, &ip) {
        Ok(true) | Err(_) => None,
        Ok(false) => Some(format!(
            "machine '{}' is now at {ip}, which its engine certificate does not name: 'rmachine regenerate-certs {}' fixes it",
            record.name, record.name
        )),
    }
}
