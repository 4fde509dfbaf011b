//! `rmachine import`: machines of a docker-machine store made rmachine machines, the store read
//! and never written. Each machine becomes a record (version 2) whose driver settings come from
//! the driver kind that takes over docker-machine's driver (generic, none, amazonec2 → aws), or,
//! for any other driver, the settings of a docker-machine plugin's machine
//! ([`DOCKER_MACHINE_PROTOCOL`]: docker-machine's own driver configuration verbatim, and where the
//! machine is), for that driver's plugin `docker-machine-driver-NAME`. Its SSH key and
//! certificates are copied into the store (keys 0600), paths made relative; engine options are
//! mapped (`engine`); the host key is left unset, so the next SSH connection pins it.
//!
//! Certificates: a store without a CA adopts docker-machine's CA and client certificate, so the
//! engines (which trust that CA) keep working untouched; a store with another CA imports the
//! machines with docker-machine's client material in their folders (docker works through `env`)
//! and names them as needing `rmachine provision`, which moves them to the store's CA.

pub mod docker_machine_config;
mod engine;
mod files;

use crate::context::Context;
use crate::machine_access::{CA_CERTIFICATE, CA_KEY, CLIENT_CERTIFICATE, CLIENT_KEY};
use crate::natural_order::natural_cmp;
use crate::store::{DriverRecord, MachineRecord, ProvisioningStatus, Store, validate_machine_name};
use anyhow::{Context as _, bail};
use docker_machine_config::Host;
use files::SourceStore;
use rmachine_drivers::{
    DOCKER_MACHINE_PROTOCOL, DockerMachineHost, DriverError, ImportedSettings, docker_machine_port,
    docker_machine_string,
};
use rmachine_provision::EngineOptions;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What to import: from which store, which machines (all when empty), under which names.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub source: PathBuf,
    pub names: Vec<String>,
    /// docker-machine name → rmachine name.
    pub renames: BTreeMap<String, String>,
}

/// What became of one docker-machine machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Imported {
        /// What docker-machine had that rmachine did not take, one line each.
        not_imported: Vec<String>,
        /// Its engine trusts another CA than the store's: `rmachine provision` moves it over.
        needs_provision: bool,
    },
    Skipped(String),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineImport {
    /// The machine's name in docker-machine's store.
    pub source_name: String,
    /// Its name in rmachine's store.
    pub name: String,
    /// rmachine's driver for it ("-" when it was not read).
    pub driver: String,
    pub outcome: Outcome,
}

/// What happened to the store's certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Certificates {
    /// The store had no CA: it now has docker-machine's.
    Adopted,
    /// The store's CA is docker-machine's already.
    Shared,
    /// The store has a CA of its own: imported machines need `rmachine provision`.
    Different,
    /// docker-machine's store has no complete CA (certs/ca.pem, ca-key.pem, cert.pem, key.pem).
    MissingInSource,
}

#[derive(Debug)]
pub struct ImportReport {
    pub source: PathBuf,
    pub machines: Vec<MachineImport>,
    pub certificates: Certificates,
}

/// The store's CA files, as docker-machine and rmachine both lay them out.
const CA_FILES: [(&str, u32); 4] =
    [(CA_CERTIFICATE, 0o644), (CA_KEY, 0o600), (CLIENT_CERTIFICATE, 0o644), (CLIENT_KEY, 0o600)];

/// Imports the machines `request` names from a docker-machine store into `store`.
pub fn import(store: &Store, context: &Context, request: &ImportRequest) -> anyhow::Result<ImportReport> {
    let source = SourceStore::open(&request.source)?;
    let mut names = source.machine_names()?;
    names.sort_by(|a, b| natural_cmp(a, b));
    let mut machines = Vec::new();
    for wanted in &request.names {
        if !names.contains(wanted) {
            machines.push(MachineImport {
                source_name: wanted.clone(),
                name: wanted.clone(),
                driver: "-".into(),
                outcome: Outcome::Failed(format!("{} has no machine '{wanted}'", source.root().display())),
            });
        }
    }
    names.retain(|name| request.names.is_empty() || request.names.contains(name));
    let planned: Vec<(String, String, anyhow::Result<Host>)> = names
        .into_iter()
        .map(|source_name| {
            let name = request.renames.get(&source_name).cloned().unwrap_or_else(|| source_name.clone());
            let host = source.read_host(&source_name);
            (source_name, name, host)
        })
        .collect();
    let importable = planned.iter().any(|(_, name, host)| host.is_ok() && !store.exists(name));
    let certificates = store_certificates(store, &source, importable)?;
    for (source_name, name, host) in planned {
        let mut entry = MachineImport {
            source_name: source_name.clone(),
            name,
            driver: "-".into(),
            outcome: Outcome::Failed(String::new()),
        };
        entry.outcome = match host {
            Err(error) => Outcome::Failed(format!("{error:#}")),
            Ok(host) => {
                entry.driver = host.driver_name.clone();
                match skip_reason(store, &source, &source_name, &entry.name) {
                    Some(reason) => Outcome::Skipped(reason),
                    None => {
                        let candidate =
                            Candidate { source: &source, source_name: &source_name, host: &host, certificates };
                        import_machine(store, context, &candidate, &mut entry)
                            .unwrap_or_else(|error| Outcome::Failed(format!("{error:#}")))
                    }
                }
            }
        };
        machines.push(entry);
    }
    Ok(ImportReport { source: source.root().to_path_buf(), machines, certificates })
}

/// Adopts docker-machine's CA when the store has none (and a machine is about to be imported),
/// else says how the two compare.
fn store_certificates(store: &Store, source: &SourceStore, importable: bool) -> anyhow::Result<Certificates> {
    let source_files: Option<Vec<Vec<u8>>> =
        CA_FILES.iter().map(|(file, _)| std::fs::read(source.root().join(file)).ok()).collect();
    let Some(source_files) = source_files else { return Ok(Certificates::MissingInSource) };
    let _lock = store.lock()?;
    match std::fs::read(store.resolve(Path::new(CA_CERTIFICATE))) {
        Ok(existing) if existing == source_files[0] => Ok(Certificates::Shared),
        Ok(_) => Ok(Certificates::Different),
        Err(_) if !importable => Ok(Certificates::Different),
        Err(_) => {
            for ((file, mode), contents) in CA_FILES.iter().zip(&source_files) {
                store.write_file(Path::new(file), contents, *mode)?;
            }
            Ok(Certificates::Adopted)
        }
    }
}

/// Why a machine is not imported: its name is taken (by an earlier import of it, or another).
fn skip_reason(store: &Store, source: &SourceStore, source_name: &str, name: &str) -> Option<String> {
    if !store.exists(name) {
        return None;
    }
    let origin = source.machine_folder(source_name).display().to_string();
    match store.load(name) {
        Ok(record) if record.imported_from.as_deref() == Some(origin.as_str()) => {
            Some(format!("already imported from {origin}"))
        }
        _ => Some(format!(
            "rmachine already has a machine '{name}'; --rename {source_name}=NEW imports it under another name"
        )),
    }
}

/// One docker-machine machine to import, with what the import found for the whole store.
#[derive(Clone, Copy)]
struct Candidate<'a> {
    source: &'a SourceStore,
    source_name: &'a str,
    host: &'a Host,
    certificates: Certificates,
}

/// Claims the machine's name and makes it; a failure after the claim removes what was made.
fn import_machine(
    store: &Store,
    context: &Context,
    candidate: &Candidate<'_>,
    entry: &mut MachineImport,
) -> anyhow::Result<Outcome> {
    validate_machine_name(&entry.name)?;
    // The name is claimed with a record marked `creating` (which `ls` shows and `rm` removes);
    // the files are copied and the real record written after it.
    let placeholder = DriverRecord { name: candidate.host.driver_name.clone(), settings: serde_json::Value::Null };
    store.add(&mut MachineRecord::new(&entry.name, placeholder, EngineOptions::default(), Vec::new()))?;
    let made = make_machine(store, context, candidate, entry);
    if made.is_err() {
        let _ = store.remove(&entry.name);
    }
    made
}

/// Copies the files of one machine and writes its record.
fn make_machine(
    store: &Store,
    context: &Context,
    candidate: &Candidate<'_>,
    entry: &mut MachineImport,
) -> anyhow::Result<Outcome> {
    let Candidate { source, source_name, host, certificates } = *candidate;
    let machine_folder = Store::relative_machine_directory(&entry.name);
    let copied = files::copy_machine_files(store, source, source_name, host, &machine_folder)?;
    let machine = DockerMachineHost {
        name: &entry.name,
        driver_name: &host.driver_name,
        config: &host.driver,
        ssh_key: copied.ssh_key.as_deref(),
    };
    let (driver_name, imported) = driver_settings(context, &machine)?;
    entry.driver = driver_name.clone();
    // A driver rmachine has checks its settings; a missing plugin's are kept as they are.
    let driver = match context.registry.kind(&driver_name) {
        Ok(_) => Some(
            context
                .registry
                .open(&driver_name, &imported.settings)
                .with_context(|| format!("the {driver_name} driver refuses the settings made of docker-machine's"))?,
        ),
        Err(_) => None,
    };
    let provisioned_over_ssh = driver.as_ref().is_some_and(|driver| driver.ssh_endpoint().is_some());
    let (engine, mut not_imported) = engine::engine_options(&host.engine);
    not_imported.extend(imported.not_imported);
    not_imported.extend(notes(host));
    let mut record = MachineRecord::new(
        &entry.name,
        DriverRecord { name: driver_name, settings: imported.settings },
        engine,
        host.auth.server_cert_sans.clone(),
    );
    record.status = ProvisioningStatus::Ready;
    record.imported_from = Some(source.machine_folder(source_name).display().to_string());
    store.save(&mut record)?;
    let shared_ca = matches!(certificates, Certificates::Adopted | Certificates::Shared);
    let needs_provision = provisioned_over_ssh && !(copied.server_certificate && shared_ca);
    Ok(Outcome::Imported { not_imported, needs_provision })
}

/// The rmachine driver and settings for a docker-machine driver: a built-in kind that takes it
/// over, else its plugin when installed and able to, else docker-machine's configuration as it is.
fn driver_settings(context: &Context, machine: &DockerMachineHost<'_>) -> anyhow::Result<(String, ImportedSettings)> {
    let kind = context
        .registry
        .docker_machine_importer(machine.driver_name)
        .or_else(|| context.registry.kind(machine.driver_name).ok());
    if let Some(kind) = kind {
        match kind.import_docker_machine(machine) {
            Ok(imported) => return Ok((kind.name().to_string(), imported)),
            Err(DriverError::Unsupported { .. }) => {}
            Err(error) => bail!("docker-machine's {} configuration: {error}", machine.driver_name),
        }
    }
    let settings = plugin_settings(machine);
    let installed = context.registry.kind(machine.driver_name).is_ok();
    let not_imported = if installed {
        Vec::new()
    } else {
        vec![format!(
            "its driver: rmachine has no {0} driver; install docker-machine-driver-{0} to manage it ('rmachine ls' says so until then)",
            machine.driver_name
        )]
    };
    Ok((machine.driver_name.to_string(), ImportedSettings { settings, not_imported }))
}

/// A docker-machine plugin's machine as the plugin driver keeps it: the configuration the plugin
/// gets back with SetConfigRaw (docker-machine's `Driver` object, verbatim), and the endpoint
/// docker-machine knew (its address, SSH user and port; the key rmachine copied).
fn plugin_settings(machine: &DockerMachineHost<'_>) -> serde_json::Value {
    let ip = docker_machine_string(machine.config, "IPAddress");
    let user = Some(docker_machine_string(machine.config, "SSHUser")).filter(|user| !user.is_empty());
    serde_json::json!({
        "protocol": DOCKER_MACHINE_PROTOCOL,
        "machine": machine.name,
        "config": machine.config.to_string(),
        "endpoint": {
            "ip": ip,
            "engine_port": docker_machine_port(machine.config, "EnginePort").unwrap_or(2376),
            "ssh": {
                "host": ip,
                "port": docker_machine_port(machine.config, "SSHPort").unwrap_or(22),
                "user": user.unwrap_or_else(|| "root".into()),
                "private_key": machine.ssh_key,
            },
        },
    })
}

/// What a configuration had that has no place in rmachine: classic Swarm, unknown fields.
fn notes(host: &Host) -> Vec<String> {
    let mut notes = Vec::new();
    if host.swarm.is_swarm || host.swarm.master || !host.swarm.discovery.is_empty() {
        notes.push(format!(
            "classic Swarm (swarm {}{}): rmachine has no equivalent (Docker Swarm mode comes with cluster files, 'rmachine apply')",
            if host.swarm.master { "master" } else { "agent" },
            if host.swarm.discovery.is_empty() { String::new() } else { format!(", discovery {}", host.swarm.discovery) }
        ));
    }
    if !host.unknown_fields.is_empty() {
        notes.push(format!("fields rmachine does not know: {}", host.unknown_fields.join(", ")));
    }
    notes
}
