//! The cluster file (`rmachine apply -f cluster.yaml`): its YAML shape, checked while it is read so
//! that unknown keys and bad values are errors naming the file, line and column, and its
//! resolution into one [`MachineSpec`] per machine (defaults merged, `~` expanded).
//!
//! Nothing here knows a concrete driver: a machine's `DRIVER:` map (`generic: {ip-address: ..}`,
//! `aws: {...}`, a plugin's) is read against that driver's declared options (keys without the
//! driver's prefix) and goes through the same constructor as `create`'s flags; `engine:` is the
//! provisioner's own [`EngineOptions`]. The YAML walk itself is in `file_reader.rs`.

use super::file_reader::{RawMachine, read_file};
use crate::store::{DriverRecord, validate_machine_name};
use anyhow::{anyhow, bail};
use rmachine_drivers::{DriverKind, DriverOptions, NewMachine, OptionValue, Registry};
use rmachine_provision::{EngineOptions, EngineTransport};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

pub use super::file_reader::Role;

/// Which address swarm nodes advertise to each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Advertise {
    /// Each machine's private address (for the generic driver: its `ip-address`).
    Private,
    /// Each machine's public address (for the generic driver: its `ip-address`).
    Public,
    /// This address for the first manager; the others advertise their own.
    Address(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmSpec {
    pub advertise: Advertise,
}

/// One declared machine, everything `create` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineSpec {
    pub name: String,
    /// `None` when the file has no `swarm:` section.
    pub role: Option<Role>,
    /// The driver of the machine to create: its name and the settings its kind made from the
    /// file's options.
    pub driver: DriverRecord,
    /// `Driver::host_identity` of that driver, for the plan's check against what exists.
    pub host_identity: Option<String>,
    pub engine: EngineOptions,
    pub tls_sans: Vec<String>,
    pub ssh_timeout: Duration,
    pub engine_timeout: Duration,
}

/// A whole cluster file, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSpec {
    /// The `name:` key, else the file's stem: the label machines of this cluster carry.
    pub name: String,
    pub machines: Vec<MachineSpec>,
    pub swarm: Option<SwarmSpec>,
}

/// Reads and resolves the cluster file at `path`; `home` expands `~` in paths.
pub fn load(path: &Path, home: Option<&Path>, registry: &Registry) -> anyhow::Result<ClusterSpec> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| anyhow!("cannot read the cluster file {}: {error}", path.display()))?;
    parse(&text, path, home, registry)
}

/// Parses `text` as the cluster file `path` (used for messages, the default name and relative paths).
pub fn parse(text: &str, path: &Path, home: Option<&Path>, registry: &Registry) -> anyhow::Result<ClusterSpec> {
    let file = path.display();
    let folder = path.parent().unwrap_or(Path::new("."));
    let raw = read_file(text, registry, folder, home).map_err(|error| match error.location() {
        Some(location) => {
            // The parser's message ends with the position the prefix already gives.
            let (line, column) = (location.line(), location.column());
            let message = error.to_string();
            let message = message.strip_suffix(&format!(" at line {line} column {column}")).unwrap_or(&message);
            anyhow!("{file}:{line}:{column}: {message}")
        }
        None => anyhow!("{file}: {error}"),
    })?;
    let name = match &raw.name {
        Some(name) => name.clone(),
        None => {
            let stem = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or_default().to_string();
            validate_machine_name(&stem).map_err(|_| {
                anyhow!("{file}: the file name '{stem}' is not a valid cluster name: add a `name:` key")
            })?;
            stem
        }
    };
    let mut machines: Vec<MachineSpec> = Vec::new();
    for machine in &raw.machines {
        let name = machine.name.clone().unwrap_or_default();
        let at = locate_machine(text, &name, machines.iter().filter(|other| other.name == name).count());
        if machines.iter().any(|other| other.name == name) {
            bail!("{file}{at}: machine '{name}' is declared twice");
        }
        let spec = resolve_machine(&name, machine, &raw.defaults, raw.swarm.is_some(), registry, folder, home)
            .map_err(|problem| anyhow!("{file}{at}: machine '{name}': {problem}"))?;
        machines.push(spec);
    }
    let swarm = match &raw.swarm {
        None => None,
        Some(advertise) => {
            if !machines.iter().any(|machine| machine.role == Some(Role::Manager)) {
                bail!("{file}: the swarm needs at least one machine with `role: manager`");
            }
            let advertise = match advertise.as_deref() {
                None | Some("private") => Advertise::Private,
                Some("public") => Advertise::Public,
                Some(address) => Advertise::Address(address.to_string()),
            };
            Some(SwarmSpec { advertise })
        }
    };
    Ok(ClusterSpec { name, machines, swarm })
}

/// ":LINE:COLUMN" of the `occurrence`-th `name: NAME` under `machines:`, or "" when not found.
fn locate_machine(text: &str, name: &str, occurrence: usize) -> String {
    let mut seen = 0;
    let mut in_machines = false;
    for (index, line) in text.lines().enumerate() {
        if line.starts_with("machines:") {
            in_machines = true;
            continue;
        }
        if in_machines && !line.starts_with([' ', '-', '#']) && !line.trim().is_empty() {
            in_machines = false;
        }
        let Some(column) = line.find("name:") else { continue };
        let value =
            line[column + 5..].split('#').next().unwrap_or_default().trim().trim_matches(['"', '\'', ',', '}', ' ']);
        if in_machines && value == name {
            if seen == occurrence {
                return format!(":{}:{}", index + 1, column + 1);
            }
            seen += 1;
        }
    }
    String::new()
}

fn resolve_machine(
    name: &str,
    machine: &RawMachine,
    defaults: &RawMachine,
    swarm: bool,
    registry: &Registry,
    folder: &Path,
    home: Option<&Path>,
) -> Result<MachineSpec, String> {
    let role = match (machine.role, swarm) {
        (Some(_), false) => return Err("`role` needs a `swarm:` section in the file".into()),
        (role, true) => Some(role.unwrap_or(Role::Worker)),
        (None, false) => None,
    };
    let known = || registry.builtin().iter().map(|kind| kind.name().to_string()).collect::<Vec<_>>().join(", ");
    let Some(driver_name) = machine.driver.as_ref().or(defaults.driver.as_ref()) else {
        return Err(format!("no driver: set `driver:` here or under `defaults:` ({})", known()));
    };
    let kind = registry.kind(driver_name).map_err(|error| error.to_string())?;
    let engine = merge_engine(defaults.engine.as_ref(), machine.engine.as_ref(), folder, home)?;
    if swarm && engine.transport != EngineTransport::Tls {
        return Err("a swarm is set up through the engine's TLS API: remove `transport: ssh`".into());
    }
    let options = driver_options(kind.as_ref(), defaults, machine, registry)?;
    let new_machine = NewMachine { name, joins_swarm: swarm };
    let driver = registry.new_driver(kind.as_ref(), &new_machine, &options).map_err(|error| error.to_string())?;
    let engine = EngineOptions { port: driver.engine_port(), ..engine };
    engine.validate().map_err(|error| error.to_string())?;
    let ssh_timeout = machine.ssh_timeout.or(defaults.ssh_timeout).map(Duration::from_secs);
    Ok(MachineSpec {
        name: name.to_string(),
        role,
        driver: DriverRecord { name: driver.name().to_string(), settings: driver.settings() },
        host_identity: driver.host_identity(),
        engine,
        tls_sans: machine.tls_san.clone().or_else(|| defaults.tls_san.clone()).unwrap_or_default(),
        ssh_timeout: ssh_timeout.or(driver.ssh_wait()).unwrap_or(crate::flows::create::DEFAULT_SSH_TIMEOUT),
        engine_timeout: Duration::from_secs(machine.engine_timeout.or(defaults.engine_timeout).unwrap_or(90)),
    })
}

/// The driver's options: the defaults' map, each key the machine's map sets replacing it, then
/// the options' environment variables and defaults, as for `create`.
fn driver_options(
    kind: &dyn DriverKind,
    defaults: &RawMachine,
    machine: &RawMachine,
    registry: &Registry,
) -> Result<DriverOptions, String> {
    let mut given: BTreeMap<String, OptionValue> = defaults.drivers.get(kind.name()).cloned().unwrap_or_default();
    given.extend(machine.drivers.get(kind.name()).cloned().unwrap_or_default());
    let specs = kind.options();
    let environment = registry.environment().clone();
    let lookup = |variable: &str| environment.variable(variable);
    for spec in specs.iter().filter(|spec| spec.required && !given.contains_key(&spec.name)) {
        if spec.variables().find_map(lookup).is_none() {
            let key = super::file_reader::map_key(kind.name(), &spec.name);
            let placeholder = spec.value_name.clone().unwrap_or_else(|| "VALUE".into());
            return Err(format!("the {} driver needs `{}: {{ {key}: {placeholder} }}`", kind.name(), kind.name()));
        }
    }
    let mut options = DriverOptions::default();
    for (option, value) in given {
        options.give(&option, value);
    }
    options.complete(&specs, &lookup).map_err(|error| error.to_string())
}

/// The machine's engine settings over the defaults': a key the machine sets replaces the
/// default's. Both maps were checked (and their keys made canonical) while the file was read.
fn merge_engine(
    defaults: Option<&serde_norway::Mapping>,
    own: Option<&serde_norway::Mapping>,
    folder: &Path,
    home: Option<&Path>,
) -> Result<EngineOptions, String> {
    let mut merged = defaults.cloned().unwrap_or_default();
    for (key, value) in own.cloned().unwrap_or_default() {
        merged.insert(key, value);
    }
    let mut engine: EngineOptions =
        serde_norway::from_value(serde_norway::Value::Mapping(merged)).map_err(|error| error.to_string())?;
    if let Some(binary) = &engine.runtime_binary {
        engine.runtime_binary = Some(expand_path(binary, folder, home)?);
    }
    Ok(engine)
}

/// `~` and `~/...` from the home folder; a relative path from the cluster file's folder.
pub fn expand_path(text: &str, folder: &Path, home: Option<&Path>) -> Result<String, String> {
    let home_relative = if text == "~" { Some("") } else { text.strip_prefix("~/") };
    let path = match home_relative {
        Some(rest) => match home {
            Some(home) => home.join(rest),
            None => return Err(format!("cannot expand '{text}': HOME is not set")),
        },
        None if text.starts_with('~') => return Err(format!("'{text}': only '~/' (your home folder) is expanded")),
        None if Path::new(text).is_relative() => folder.join(text),
        None => Path::new(text).to_path_buf(),
    };
    Ok(path.to_string_lossy().into_owned())
}

/// An engine map of the file: every key the provisioner knows (its canonical name), every value
/// checked by the provisioner itself.
pub fn check_engine_map(map: &serde_norway::Mapping) -> Result<serde_norway::Mapping, String> {
    let mut canonical = serde_norway::Mapping::new();
    for (key, value) in map {
        let key = key.as_str().map(EngineOptions::canonical_key).unwrap_or_default();
        canonical.insert(serde_norway::Value::String(key.to_string()), value.clone());
    }
    serde_norway::from_value::<EngineOptions>(serde_norway::Value::Mapping(canonical.clone()))
        .map_err(|error| error.to_string())?;
    Ok(canonical)
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
