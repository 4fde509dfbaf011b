//! `rmachine import`: docker-machine's machines taken over, its store left as it is.

use crate::context::Context;
use crate::import::{Certificates, ImportReport, ImportRequest, Outcome, import};
use crate::machine_access::open_store;
use crate::output;
use anyhow::{Context as _, bail};
use clap::Parser;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// Import machines from a docker-machine store (its files are only read)
///
/// Each machine keeps its host, engine and certificates: generic, none and amazonec2 (as aws)
/// machines are managed by rmachine's drivers, others by their docker-machine plugin
/// (docker-machine-driver-NAME). A machine whose name rmachine has is skipped; importing again
/// changes nothing.
#[derive(Debug, Parser)]
pub struct Args {
    /// Machines to import; all when none is named
    pub names: Vec<String>,

    /// The docker-machine store [default: $MACHINE_STORAGE_PATH, else ~/.docker/machine]
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,

    /// Import machine OLD as NEW (when rmachine has a machine OLD already); repeatable
    #[arg(long, value_name = "OLD=NEW", value_parser = rename_pair)]
    pub rename: Vec<(String, String)>,
}

fn rename_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((old, new)) if !old.is_empty() && !new.is_empty() => Ok((old.to_string(), new.to_string())),
        _ => Err(format!("'{text}' is not OLD=NEW")),
    }
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let source = args
        .from
        .or_else(|| context.docker_machine_store.clone())
        .context("no docker-machine store to read: give --from DIR (or set MACHINE_STORAGE_PATH or HOME)")?;
    let renames: BTreeMap<String, String> = args.rename.into_iter().collect();
    let mut names = args.names;
    for old in renames.keys() {
        if !names.is_empty() && !names.contains(old) {
            names.push(old.clone());
        }
    }
    let store = open_store(context)?;
    let report = import(&store, context, &ImportRequest { source, names, renames })?;
    output::data(&render_report(&report));
    let failed: Vec<&str> = report
        .machines
        .iter()
        .filter(|machine| matches!(machine.outcome, Outcome::Failed(_)))
        .map(|machine| machine.source_name.as_str())
        .collect();
    if !failed.is_empty() {
        bail!("{} of {} machine(s) could not be imported: {}", failed.len(), report.machines.len(), failed.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

/// The summary: a table of machines (imported, skipped, failed, with the reason), what was not
/// imported, the certificates, and which machines need `rmachine provision`.
pub fn render_report(report: &ImportReport) -> String {
    let mut lines = vec!["NAME\tDRIVER\tRESULT\tDETAILS".to_string()];
    let mut left_out = Vec::new();
    let mut to_provision = Vec::new();
    for machine in &report.machines {
        let shown = if machine.name == machine.source_name {
            machine.name.clone()
        } else {
            format!("{} (was {})", machine.name, machine.source_name)
        };
        let (result, details) = match &machine.outcome {
            Outcome::Imported { not_imported, needs_provision } => {
                left_out.extend(not_imported.iter().map(|note| format!("  {}: {note}", machine.name)));
                if *needs_provision {
                    to_provision.push(machine.name.clone());
                }
                ("imported", if *needs_provision { "needs 'rmachine provision'".to_string() } else { String::new() })
            }
            Outcome::Skipped(reason) => ("skipped", reason.clone()),
            Outcome::Failed(reason) => ("failed", reason.split_whitespace().collect::<Vec<_>>().join(" ")),
        };
        lines.push(format!("{shown}\t{}\t{result}\t{details}", machine.driver));
    }
    let mut text = crate::listing::template::align(&lines);
    let imported = report.machines.iter().any(|machine| matches!(machine.outcome, Outcome::Imported { .. }));
    if !left_out.is_empty() {
        text.push_str("\nNot imported (no rmachine equivalent, or refused):\n");
        text.push_str(&left_out.join("\n"));
        text.push('\n');
    }
    let source_certs = report.source.join("certs");
    let certificates = match report.certificates {
        Certificates::Adopted => Some(format!(
            "rmachine's store had no CA: it now uses docker-machine's ({}), which the imported engines trust, so they keep working as they are",
            source_certs.display()
        )),
        Certificates::Shared => Some("rmachine's store uses docker-machine's CA already".to_string()),
        Certificates::Different if imported => Some(
            "rmachine's store has its own CA: each imported machine keeps docker-machine's client certificates (docker works through 'rmachine env') until 'rmachine provision' moves its engine to rmachine's CA".to_string(),
        ),
        Certificates::MissingInSource if imported => {
            Some(format!("{} has no complete CA (ca.pem, ca-key.pem, cert.pem, key.pem)", source_certs.display()))
        }
        _ => None,
    };
    if let Some(certificates) = certificates {
        text.push_str(&format!("\nCertificates: {certificates}.\n"));
    }
    if !to_provision.is_empty() {
        text.push_str(&format!(
            "Run 'rmachine provision {}' to move {} to rmachine's configuration and CA.\n",
            to_provision.join(" "),
            if to_provision.len() == 1 { "it" } else { "them" }
        ));
    }
    text
}
