//! Reading docker-machine's `config.json` (the `Host` of libmachine), of every ConfigVersion it
//! wrote, into one shape, as docker-machine 0.16's own migrations (host/migrate*.go) would load it:
//!
//! - 0 (no `ConfigVersion`): flat paths at the top (`StorePath` = the machine's folder,
//!   `CaCertPath`, `PrivateKeyPath` = the CA key, `ServerCertPath`…, `SwarmMaster`…); the
//!   engine options start empty (the migration to 1 drops them);
//! - 1: `HostOptions` {EngineOptions, SwarmOptions, AuthOptions with `PrivateKeyPath`}, the
//!   machine's folder as a top-level `StorePath`, the name only in the driver (`MachineName`);
//! - 2: `Name` at the top, AuthOptions with `CertDir`, `CaPrivateKeyPath`, `StorePath`;
//! - 3: as 2, with `StorePath` inside the `Driver` object (the migration to 3 adds the store's
//!   folder there; so does this reader for older versions).
//!
//! Unknown fields are kept aside, not refused; a version above 3 is refused as docker-machine
//! refuses it. Nothing here touches the file system: the bytes come in, a value goes out (so the
//! fuzz target in `fuzz/` compiles this module on its own, with serde_json and thiserror).

use serde_json::{Map, Value};
use std::path::Path;

/// The newest ConfigVersion docker-machine wrote (0.16).
pub const NEWEST_CONFIG_VERSION: u64 = 3;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("it is not JSON ({problem}); a truncated or hand-edited file?")]
    NotJson { problem: String },
    #[error("it is JSON but not an object")]
    NotObject,
    #[error(
        "its ConfigVersion {found} is newer than any docker-machine wrote ({NEWEST_CONFIG_VERSION}): \"config version is from the future\""
    )]
    FromTheFuture { found: u64 },
    #[error("it has no {field}")]
    Missing { field: String },
    #[error("its {field} is not {expected}")]
    WrongType { field: String, expected: &'static str },
}

/// docker-machine's engine options (`HostOptions.EngineOptions`; engine/engine.go).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineOptions {
    pub arbitrary_flags: Vec<String>,
    pub dns: Vec<String>,
    pub graph_dir: String,
    pub env: Vec<String>,
    pub ipv6: bool,
    pub insecure_registry: Vec<String>,
    pub labels: Vec<String>,
    pub log_level: String,
    pub storage_driver: String,
    pub selinux_enabled: bool,
    pub registry_mirror: Vec<String>,
    pub install_url: String,
}

/// What of docker-machine's classic Swarm options matters to an import: whether it was used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwarmOptions {
    pub is_swarm: bool,
    pub master: bool,
    pub discovery: String,
}

/// docker-machine's certificate paths (`HostOptions.AuthOptions`; auth/auth.go), absolute as it
/// wrote them; empty when the configuration has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthOptions {
    pub cert_dir: String,
    pub ca_cert_path: String,
    pub ca_private_key_path: String,
    pub client_cert_path: String,
    pub client_key_path: String,
    pub server_cert_path: String,
    pub server_key_path: String,
    pub server_cert_sans: Vec<String>,
}

/// One machine of a docker-machine store.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// The ConfigVersion the file has (0 when it names none).
    pub config_version: u64,
    /// The name the file gives (`Name`, or the driver's `MachineName` before version 2).
    pub name: Option<String>,
    pub driver_name: String,
    /// The `Driver` object, with `StorePath` as version 3 has it.
    pub driver: Value,
    pub engine: EngineOptions,
    pub swarm: SwarmOptions,
    pub auth: AuthOptions,
    /// Top-level fields this reader does not know, for the import's report.
    pub unknown_fields: Vec<String>,
}

/// The top-level fields of each version (known ones are not reported as unknown).
const KNOWN_FIELDS: &[&str] = &[
    "ConfigVersion",
    "Driver",
    "DriverName",
    "HostOptions",
    "Name",
    "StorePath",
    "CaCertPath",
    "PrivateKeyPath",
    "ServerCertPath",
    "ServerKeyPath",
    "ClientCertPath",
    "ClientKeyPath",
    "SwarmHost",
    "SwarmMaster",
    "SwarmDiscovery",
    // rancher/machine's additions
    "CustomInstallScript",
    "HostnameOverride",
    "MachineOS",
];

/// Reads a `config.json`; `store_path` is the docker-machine store it is read from (injected as
/// the driver's `StorePath` when the file is older than version 3).
pub fn parse(bytes: &[u8], store_path: &Path) -> Result<Host, ConfigError> {
    let document: Value =
        serde_json::from_slice(bytes).map_err(|error| ConfigError::NotJson { problem: error.to_string() })?;
    let top = document.as_object().ok_or(ConfigError::NotObject)?;
    let config_version = match top.get("ConfigVersion") {
        None | Some(Value::Null) => 0,
        Some(value) => value
            .as_u64()
            .ok_or_else(|| ConfigError::WrongType { field: "ConfigVersion".into(), expected: "a number" })?,
    };
    if config_version > NEWEST_CONFIG_VERSION {
        return Err(ConfigError::FromTheFuture { found: config_version });
    }
    let driver_name = text(top, "DriverName", "DriverName")?;
    if driver_name.is_empty() {
        return Err(ConfigError::Missing { field: "DriverName".into() });
    }
    let mut driver = match top.get("Driver") {
        Some(Value::Object(driver)) => driver.clone(),
        Some(_) => return Err(ConfigError::WrongType { field: "Driver".into(), expected: "an object" }),
        None => return Err(ConfigError::Missing { field: "Driver".into() }),
    };
    if !matches!(driver.get("StorePath"), Some(Value::String(path)) if !path.is_empty()) {
        driver.insert("StorePath".into(), Value::String(store_path.to_string_lossy().into_owned()));
    }
    let host_options = object(top, "HostOptions", "HostOptions")?;
    let (engine, swarm, auth) = if config_version == 0 {
        (EngineOptions::default(), flat_swarm(top)?, flat_auth(top)?)
    } else {
        let engine = object(&host_options, "EngineOptions", "HostOptions.EngineOptions")?;
        let swarm = object(&host_options, "SwarmOptions", "HostOptions.SwarmOptions")?;
        let auth = object(&host_options, "AuthOptions", "HostOptions.AuthOptions")?;
        (engine_options(&engine)?, swarm_options(&swarm)?, auth_options(&auth, config_version)?)
    };
    let name = if config_version >= 2 {
        text(top, "Name", "Name")?
    } else {
        text(&driver, "MachineName", "Driver.MachineName")?
    };
    let unknown_fields = top.keys().filter(|key| !KNOWN_FIELDS.contains(&key.as_str())).cloned().collect::<Vec<_>>();
    Ok(Host {
        config_version,
        name: Some(name).filter(|name| !name.is_empty()),
        driver_name,
        driver: Value::Object(driver),
        engine,
        swarm,
        auth,
        unknown_fields,
    })
}

fn wrong(field: &str, expected: &'static str) -> ConfigError {
    ConfigError::WrongType { field: field.into(), expected }
}

/// A string field; missing or null is "".
fn text(object: &Map<String, Value>, key: &str, field: &str) -> Result<String, ConfigError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err(wrong(field, "a string")),
    }
}

/// A boolean field; missing or null is false.
fn flag(object: &Map<String, Value>, key: &str, field: &str) -> Result<bool, ConfigError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(_) => Err(wrong(field, "true or false")),
    }
}

/// A list of strings; missing or null (Go's nil slice) is empty.
fn strings(object: &Map<String, Value>, key: &str, field: &str) -> Result<Vec<String>, ConfigError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string).ok_or_else(|| wrong(field, "a list of strings")))
            .collect(),
        Some(_) => Err(wrong(field, "a list of strings")),
    }
}

/// An object field; missing or null (Go's nil pointer) is empty.
fn object(object: &Map<String, Value>, key: &str, field: &str) -> Result<Map<String, Value>, ConfigError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(inner)) => Ok(inner.clone()),
        Some(_) => Err(wrong(field, "an object")),
    }
}

fn engine_options(engine: &Map<String, Value>) -> Result<EngineOptions, ConfigError> {
    let field = |key: &str| format!("HostOptions.EngineOptions.{key}");
    Ok(EngineOptions {
        arbitrary_flags: strings(engine, "ArbitraryFlags", &field("ArbitraryFlags"))?,
        dns: strings(engine, "Dns", &field("Dns"))?,
        graph_dir: text(engine, "GraphDir", &field("GraphDir"))?,
        env: strings(engine, "Env", &field("Env"))?,
        ipv6: flag(engine, "Ipv6", &field("Ipv6"))?,
        insecure_registry: strings(engine, "InsecureRegistry", &field("InsecureRegistry"))?,
        labels: strings(engine, "Labels", &field("Labels"))?,
        log_level: text(engine, "LogLevel", &field("LogLevel"))?,
        storage_driver: text(engine, "StorageDriver", &field("StorageDriver"))?,
        selinux_enabled: flag(engine, "SelinuxEnabled", &field("SelinuxEnabled"))?,
        registry_mirror: strings(engine, "RegistryMirror", &field("RegistryMirror"))?,
        install_url: text(engine, "InstallURL", &field("InstallURL"))?,
    })
}

fn swarm_options(swarm: &Map<String, Value>) -> Result<SwarmOptions, ConfigError> {
    let field = |key: &str| format!("HostOptions.SwarmOptions.{key}");
    Ok(SwarmOptions {
        is_swarm: flag(swarm, "IsSwarm", &field("IsSwarm"))?,
        master: flag(swarm, "Master", &field("Master"))?,
        discovery: text(swarm, "Discovery", &field("Discovery"))?,
    })
}

/// Versions 1 (`PrivateKeyPath`) and 2-3 (`CaPrivateKeyPath`, `CertDir`).
fn auth_options(auth: &Map<String, Value>, version: u64) -> Result<AuthOptions, ConfigError> {
    let field = |key: &str| format!("HostOptions.AuthOptions.{key}");
    let ca_key = if version == 1 { "PrivateKeyPath" } else { "CaPrivateKeyPath" };
    Ok(AuthOptions {
        cert_dir: text(auth, "CertDir", &field("CertDir"))?,
        ca_cert_path: text(auth, "CaCertPath", &field("CaCertPath"))?,
        ca_private_key_path: text(auth, ca_key, &field(ca_key))?,
        client_cert_path: text(auth, "ClientCertPath", &field("ClientCertPath"))?,
        client_key_path: text(auth, "ClientKeyPath", &field("ClientKeyPath"))?,
        server_cert_path: text(auth, "ServerCertPath", &field("ServerCertPath"))?,
        server_key_path: text(auth, "ServerKeyPath", &field("ServerKeyPath"))?,
        server_cert_sans: strings(auth, "ServerCertSANs", &field("ServerCertSANs"))?,
    })
}

/// Version 0's certificate paths, at the top of the file.
fn flat_auth(top: &Map<String, Value>) -> Result<AuthOptions, ConfigError> {
    Ok(AuthOptions {
        cert_dir: String::new(),
        ca_cert_path: text(top, "CaCertPath", "CaCertPath")?,
        ca_private_key_path: text(top, "PrivateKeyPath", "PrivateKeyPath")?,
        client_cert_path: text(top, "ClientCertPath", "ClientCertPath")?,
        client_key_path: text(top, "ClientKeyPath", "ClientKeyPath")?,
        server_cert_path: text(top, "ServerCertPath", "ServerCertPath")?,
        server_key_path: text(top, "ServerKeyPath", "ServerKeyPath")?,
        server_cert_sans: Vec::new(),
    })
}

/// Version 0's swarm settings, at the top of the file.
fn flat_swarm(top: &Map<String, Value>) -> Result<SwarmOptions, ConfigError> {
    let master = flag(top, "SwarmMaster", "SwarmMaster")?;
    let discovery = text(top, "SwarmDiscovery", "SwarmDiscovery")?;
    Ok(SwarmOptions { is_swarm: master || !discovery.is_empty(), master, discovery })
}

#[cfg(test)]
#[path = "docker_machine_config_tests.rs"]
mod tests;
