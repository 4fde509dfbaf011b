//! The cluster file (`rmachine apply -f cluster.yaml`): its YAML shape, checked while it is read so
//! that unknown keys and bad values are errors naming the file, line and column, and its
//! resolution into one [`MachineSpec`] per machine (defaults merged, `~` expanded).

use crate::driver_config::{DRIVER_NAMES, DriverConfig};
use crate::store::validate_machine_name;
use anyhow::{anyhow, bail};
use clap::Parser as _;
use rmachine_drivers::{GenericConfig, NoneConfig};
use rmachine_provision::{EngineOptions, EngineTransport};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A machine's part in the swarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Manager,
    Worker,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Manager => "manager",
            Role::Worker => "worker",
        }
    }
}

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
    pub driver: DriverConfig,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: Option<Checked<MachineNameRule>>,
    #[serde(default)]
    defaults: RawDefaults,
    machines: Vec<RawMachine>,
    swarm: Option<RawSwarm>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawDefaults {
    driver: Option<Checked<DriverRule>>,
    generic: Option<RawGeneric>,
    none: Option<RawNone>,
    /// `--aws-KEY VALUE` flags of `create`, by KEY; checked by the same parser as `create`'s.
    aws: Option<BTreeMap<String, serde_norway::Value>>,
    engine: Option<RawEngine>,
    tls_san: Option<Vec<String>>,
    ssh_timeout: Option<u64>,
    engine_timeout: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawMachine {
    name: Checked<MachineNameRule>,
    role: Option<Role>,
    driver: Option<Checked<DriverRule>>,
    generic: Option<RawGeneric>,
    none: Option<RawNone>,
    /// `--aws-KEY VALUE` flags of `create`, by KEY; checked by the same parser as `create`'s.
    aws: Option<BTreeMap<String, serde_norway::Value>>,
    engine: Option<RawEngine>,
    tls_san: Option<Vec<String>>,
    ssh_timeout: Option<u64>,
    engine_timeout: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawGeneric {
    ip_address: Option<Checked<AddressRule>>,
    ssh_key: Option<PathBuf>,
    ssh_user: Option<String>,
    ssh_port: Option<NonZeroU16>,
    engine_port: Option<NonZeroU16>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNone {
    url: Option<String>,
}

/// Engine settings: one key per `--engine-*` flag of `create`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawEngine {
    install_url: Option<Checked<InstallUrlRule>>,
    storage_driver: Option<Checked<StorageDriverRule>>,
    userns_remap: Option<Checked<UsernsRemapRule>>,
    #[serde(alias = "label")]
    labels: Option<Vec<Checked<LabelRule>>>,
    #[serde(alias = "registry-mirror")]
    registry_mirrors: Option<Vec<Checked<MirrorRule>>>,
    #[serde(alias = "insecure-registry")]
    insecure_registries: Option<Vec<Checked<InsecureRegistryRule>>>,
    #[serde(alias = "opt")]
    opts: Option<Vec<Checked<OptionRule>>>,
    env: Option<Vec<Checked<EnvironmentRule>>>,
    version: Option<String>,
    runtime: Option<String>,
    default_runtime: Option<String>,
    runtime_binary: Option<PathBuf>,
    runtime_url: Option<String>,
    runtime_sha256: Option<String>,
    runtime_accept_unverified: Option<bool>,
    transport: Option<Checked<TransportRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSwarm {
    advertise: Option<Checked<AdvertiseRule>>,
}

/// A string checked by rule `R` while the file is read, so a bad value is reported at its place.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String", bound = "R: Rule")]
struct Checked<R>(String, std::marker::PhantomData<R>);

impl<R: Rule> TryFrom<String> for Checked<R> {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        R::check(&value)?;
        Ok(Checked(value, std::marker::PhantomData))
    }
}

impl<R: Rule> Checked<R> {
    fn value(&self) -> String {
        self.0.clone()
    }
}

trait Rule {
    fn check(value: &str) -> Result<(), String>;
}

/// Checks one engine setting with the provisioner's own validation.
fn engine_check(options: EngineOptions) -> Result<(), String> {
    options.validate().map_err(|error| error.to_string())
}

macro_rules! rule {
    ($name:ident, |$value:ident| $body:expr) => {
        #[derive(Debug, Clone)]
        struct $name;
        impl Rule for $name {
            fn check($value: &str) -> Result<(), String> {
                $body
            }
        }
    };
}

rule!(MachineNameRule, |value| validate_machine_name(value).map_err(|error| error.to_string()));
rule!(DriverRule, |value| if DRIVER_NAMES.contains(&value) {
    Ok(())
} else {
    Err(format!("unknown driver '{value}'; rmachine knows: {}", DRIVER_NAMES.join(", ")))
});
rule!(AddressRule, |value| check_address(value));
rule!(InstallUrlRule, |value| engine_check(EngineOptions {
    install_url: Some(value.into()),
    ..EngineOptions::default()
}));
rule!(StorageDriverRule, |value| engine_check(EngineOptions {
    storage_driver: Some(value.into()),
    ..EngineOptions::default()
}));
rule!(UsernsRemapRule, |value| engine_check(EngineOptions {
    userns_remap: Some(value.into()),
    ..EngineOptions::default()
}));
rule!(LabelRule, |value| engine_check(EngineOptions { labels: vec![value.into()], ..EngineOptions::default() }));
rule!(MirrorRule, |value| engine_check(EngineOptions {
    registry_mirrors: vec![value.into()],
    ..EngineOptions::default()
}));
rule!(InsecureRegistryRule, |value| engine_check(EngineOptions {
    insecure_registries: vec![value.into()],
    ..EngineOptions::default()
}));
rule!(OptionRule, |value| engine_check(EngineOptions { options: vec![value.into()], ..EngineOptions::default() }));
rule!(EnvironmentRule, |value| engine_check(EngineOptions { env: vec![value.into()], ..EngineOptions::default() }));
rule!(TransportRule, |value| match EngineTransport::from_name(value) {
    Some(_) => Ok(()),
    None => Err(format!("transport '{value}' must be tls or ssh")),
});
rule!(AdvertiseRule, |value| match value {
    "private" | "public" => Ok(()),
    address => check_address(address).map_err(|_| format!("advertise '{value}' must be private, public or an address")),
});

fn check_address(value: &str) -> Result<(), String> {
    let hostname = !value.is_empty()
        && value.len() <= 253
        && !value.starts_with('-')
        && value.chars().all(|character| character.is_ascii_alphanumeric() || character == '.' || character == '-');
    if value.parse::<std::net::IpAddr>().is_ok() || hostname {
        Ok(())
    } else {
        Err(format!("'{value}' is neither an IP address nor a host name"))
    }
}

/// Reads and resolves the cluster file at `path`; `home` expands `~` in paths.
pub fn load(path: &Path, home: Option<&Path>) -> anyhow::Result<ClusterSpec> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| anyhow!("cannot read the cluster file {}: {error}", path.display()))?;
    parse(&text, path, home)
}

/// Parses `text` as the cluster file `path` (used for messages, the default name and relative paths).
pub fn parse(text: &str, path: &Path, home: Option<&Path>) -> anyhow::Result<ClusterSpec> {
    let file = path.display();
    let raw: RawFile = serde_norway::from_str(text).map_err(|error| match error.location() {
        Some(location) => anyhow!("{file}:{}:{}: {error}", location.line(), location.column()),
        None => anyhow!("{file}: {error}"),
    })?;
    let name = match &raw.name {
        Some(name) => name.value(),
        None => {
            let stem = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or_default().to_string();
            validate_machine_name(&stem).map_err(|_| {
                anyhow!("{file}: the file name '{stem}' is not a valid cluster name: add a `name:` key")
            })?;
            stem
        }
    };
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut machines: Vec<MachineSpec> = Vec::new();
    for machine in &raw.machines {
        let name = machine.name.value();
        let at = locate_machine(text, &name, machines.iter().filter(|other| other.name == name).count());
        if machines.iter().any(|other| other.name == name) {
            bail!("{file}{at}: machine '{name}' is declared twice");
        }
        let spec = resolve_machine(machine, &raw.defaults, raw.swarm.is_some(), folder, home)
            .map_err(|problem| anyhow!("{file}{at}: machine '{name}': {problem}"))?;
        machines.push(spec);
    }
    let swarm = match &raw.swarm {
        None => None,
        Some(swarm) => {
            if !machines.iter().any(|machine| machine.role == Some(Role::Manager)) {
                bail!("{file}: the swarm needs at least one machine with `role: manager`");
            }
            let advertise = match swarm.advertise.as_ref().map(Checked::value).as_deref() {
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
    machine: &RawMachine,
    defaults: &RawDefaults,
    swarm: bool,
    folder: &Path,
    home: Option<&Path>,
) -> Result<MachineSpec, String> {
    let role = match (machine.role, swarm) {
        (Some(_), false) => return Err("`role` needs a `swarm:` section in the file".into()),
        (role, true) => Some(role.unwrap_or(Role::Worker)),
        (None, false) => None,
    };
    let driver_name = machine.driver.as_ref().or(defaults.driver.as_ref()).map(Checked::value);
    let Some(driver_name) = driver_name else {
        return Err(format!("no driver: set `driver:` here or under `defaults:` ({})", DRIVER_NAMES.join(", ")));
    };
    let mut engine = merge_engine(defaults.engine.as_ref(), machine.engine.as_ref());
    let runtime_binary = machine.engine.as_ref().and_then(|own| own.runtime_binary.as_ref());
    if let Some(binary) = runtime_binary.or(defaults.engine.as_ref().and_then(|own| own.runtime_binary.as_ref())) {
        engine.runtime_binary = Some(expand_path(binary, folder, home)?.to_string_lossy().into_owned());
    }
    if swarm && engine.transport != EngineTransport::Tls {
        return Err("a swarm is set up through the engine's TLS API: remove `transport: ssh`".into());
    }
    let (driver, engine) = match driver_name.as_str() {
        "generic" => {
            let given = machine.generic.clone().unwrap_or_default();
            let fallback = defaults.generic.clone().unwrap_or_default();
            let port = |own: Option<NonZeroU16>, other: Option<NonZeroU16>, default: u16| {
                own.or(other).map_or(default, NonZeroU16::get)
            };
            let Some(ip_address) = given.ip_address.as_ref().or(fallback.ip_address.as_ref()).map(Checked::value)
            else {
                return Err("the generic driver needs `generic: { ip-address: ADDRESS }`".into());
            };
            let ssh_key = match given.ssh_key.as_ref().or(fallback.ssh_key.as_ref()) {
                Some(key) => Some(expand_path(key, folder, home)?),
                None => None,
            };
            let engine_port = port(given.engine_port, fallback.engine_port, 2376);
            let config = GenericConfig {
                ip_address,
                ssh_user: given.ssh_user.or(fallback.ssh_user).unwrap_or_else(|| "root".into()),
                ssh_port: port(given.ssh_port, fallback.ssh_port, 22),
                ssh_key,
                engine_port,
            };
            (DriverConfig::Generic(config), EngineOptions { port: engine_port, ..engine })
        }
        "none" => {
            let url = machine.none.as_ref().and_then(|none| none.url.clone());
            let Some(url) = url.or_else(|| defaults.none.as_ref().and_then(|none| none.url.clone())) else {
                return Err("the none driver needs `none: { url: tcp://HOST:PORT }`".into());
            };
            (DriverConfig::None(NoneConfig { url }), engine)
        }
        "aws" | "amazonec2" => {
            let mut settings = defaults.aws.clone().unwrap_or_default();
            settings.extend(machine.aws.clone().unwrap_or_default());
            let config = aws_config(&machine.name.value(), &settings, swarm)?;
            let engine_port = config.engine_port;
            (DriverConfig::Aws(Box::new(config)), EngineOptions { port: engine_port, ..engine })
        }
        other => return Err(format!("the {other} driver cannot be used from a cluster file yet")),
    };
    engine.validate().map_err(|error| error.to_string())?;
    Ok(MachineSpec {
        name: machine.name.value(),
        role,
        driver,
        engine,
        tls_sans: machine.tls_san.clone().or_else(|| defaults.tls_san.clone()).unwrap_or_default(),
        ssh_timeout: Duration::from_secs(machine.ssh_timeout.or(defaults.ssh_timeout).unwrap_or(120)),
        engine_timeout: Duration::from_secs(machine.engine_timeout.or(defaults.engine_timeout).unwrap_or(90)),
    })
}

/// The AWS settings as `create --aws-KEY VALUE` flags, parsed by `create`'s own parser: every
/// `--aws-*` flag is a key (`instance-type: t3.small`, `open-port: [80, 443]`, `spot: true`).
/// A swarm opens Docker Swarm's ports in the security group.
fn aws_config(
    name: &str,
    settings: &BTreeMap<String, serde_norway::Value>,
    swarm: bool,
) -> Result<rmachine_driver_aws::AwsConfig, String> {
    use serde_norway::Value;
    let scalar = |key: &str, value: &Value| match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        _ => Err(format!("aws: `{key}` takes a value, a list of values or true/false")),
    };
    let mut arguments = vec!["aws".to_string()];
    for (key, value) in settings {
        let flag = format!("--aws-{key}");
        match value {
            Value::Bool(true) => arguments.push(flag),
            Value::Bool(false) => {}
            Value::Sequence(items) => {
                for item in items {
                    arguments.extend([flag.clone(), scalar(key, item)?]);
                }
            }
            other => arguments.extend([flag, scalar(key, other)?]),
        }
    }
    if swarm && !settings.contains_key("swarm-ports") {
        arguments.push("--aws-swarm-ports".into());
    }
    let parsed = crate::commands::create::aws::AwsArgs::try_parse_from(&arguments).map_err(|error| {
        let message = error.to_string();
        let first = message.lines().next().unwrap_or_default().trim_start_matches("error: ").to_string();
        format!("aws: {}", first.replace("'--aws-", "'").replace("argument", "key"))
    })?;
    parsed.config(name).map_err(|error| format!("aws: {error:#}"))
}

/// The machine's engine settings over the defaults': a key the machine sets replaces the default's.
fn merge_engine(defaults: Option<&RawEngine>, own: Option<&RawEngine>) -> EngineOptions {
    let empty = RawEngine::default();
    let (defaults, own) = (defaults.unwrap_or(&empty), own.unwrap_or(&empty));
    fn pick<T: Clone>(own: &Option<T>, defaults: &Option<T>) -> Option<T> {
        own.clone().or_else(|| defaults.clone())
    }
    fn values<R: Rule>(list: Option<Vec<Checked<R>>>) -> Vec<String> {
        list.unwrap_or_default().iter().map(Checked::value).collect()
    }
    EngineOptions {
        install_url: pick(&own.install_url, &defaults.install_url).map(|value| value.value()),
        storage_driver: pick(&own.storage_driver, &defaults.storage_driver).map(|value| value.value()),
        userns_remap: pick(&own.userns_remap, &defaults.userns_remap).map(|value| value.value()),
        labels: values(pick(&own.labels, &defaults.labels)),
        registry_mirrors: values(pick(&own.registry_mirrors, &defaults.registry_mirrors)),
        insecure_registries: values(pick(&own.insecure_registries, &defaults.insecure_registries)),
        options: values(pick(&own.opts, &defaults.opts)),
        env: values(pick(&own.env, &defaults.env)),
        engine_version: pick(&own.version, &defaults.version),
        runtime: pick(&own.runtime, &defaults.runtime),
        default_runtime: pick(&own.default_runtime, &defaults.default_runtime),
        runtime_url: pick(&own.runtime_url, &defaults.runtime_url),
        runtime_sha256: pick(&own.runtime_sha256, &defaults.runtime_sha256),
        runtime_accept_unverified: pick(&own.runtime_accept_unverified, &defaults.runtime_accept_unverified)
            .unwrap_or(false),
        transport: pick(&own.transport, &defaults.transport)
            .and_then(|transport| EngineTransport::from_name(&transport.value()))
            .unwrap_or_default(),
        ..EngineOptions::default()
    }
}

/// `~` and `~/...` from the home folder; a relative path from the cluster file's folder.
fn expand_path(path: &Path, folder: &Path, home: Option<&Path>) -> Result<PathBuf, String> {
    let text = path.to_string_lossy();
    let home_relative = if text == "~" { Some("") } else { text.strip_prefix("~/") };
    if let Some(rest) = home_relative {
        let Some(home) = home else {
            return Err(format!("cannot expand '{text}': HOME is not set"));
        };
        return Ok(home.join(rest));
    }
    if text.starts_with('~') {
        return Err(format!("'{text}': only '~/' (your home folder) is expanded"));
    }
    Ok(if path.is_relative() { folder.join(path) } else { path.to_path_buf() })
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
