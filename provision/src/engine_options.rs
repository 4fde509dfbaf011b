//! The user's engine settings ([`EngineOptions`]), their validation, and the translation of
//! `--engine-opt K=V` pairs into `daemon.json` keys.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::ProvisionError;
use crate::storage;

/// How the engine is installed and configured: one list of engine options. It is at once
/// `create`'s `--engine-*` flags (clap), a cluster file's `engine:` map and the machine record's
/// `engine` (serde): a new option is one field with its flag. Values are checked while they are
/// read, so a bad one in a cluster file is reported at its line and column.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::Args)]
#[serde(rename_all = "kebab-case", default, deny_unknown_fields)]
#[command(next_help_heading = "engine")]
pub struct EngineOptions {
    /// How to install Docker Engine when missing: unset = the distribution's package (docker.io),
    /// a URL = a get.docker.com-style script, none = never install
    #[arg(long = "engine-install-url", env = "RMACHINE_ENGINE_INSTALL_URL", value_name = "URL")]
    #[serde(deserialize_with = "checked::install_url")]
    pub install_url: Option<String>,

    /// Storage driver: overlay2, fuse-overlayfs, btrfs, zfs or vfs
    #[arg(long = "engine-storage-driver", value_name = "DRIVER")]
    #[serde(deserialize_with = "checked::storage_driver")]
    pub storage_driver: Option<String>,

    /// User-namespace remapping: default, USER or USER:GROUP (off: none)
    #[arg(long = "engine-userns-remap", value_name = "USER")]
    #[serde(deserialize_with = "checked::userns_remap")]
    pub userns_remap: Option<String>,

    /// Engine label KEY=VALUE (repeatable); provider=<driver> is always added
    #[arg(long = "engine-label", value_name = "KEY=VALUE")]
    #[serde(deserialize_with = "checked::labels")]
    pub labels: Vec<String>,

    /// Registry mirror URL (repeatable)
    #[arg(long = "engine-registry-mirror", env = "ENGINE_REGISTRY_MIRROR", value_name = "URL", value_delimiter = ',')]
    #[serde(deserialize_with = "checked::registry_mirrors")]
    pub registry_mirrors: Vec<String>,

    /// Registry reachable without TLS verification, HOST[:PORT] (repeatable)
    #[arg(long = "engine-insecure-registry", value_name = "REGISTRY")]
    #[serde(deserialize_with = "checked::insecure_registries")]
    pub insecure_registries: Vec<String>,

    /// Further daemon.json setting KEY=VALUE; VALUE is JSON when it parses as JSON (repeatable)
    #[arg(long = "engine-opt", value_name = "KEY=VALUE")]
    #[serde(deserialize_with = "checked::options")]
    pub options: Vec<String>,

    /// Environment variable KEY=VALUE for the engine's service (repeatable)
    #[arg(long = "engine-env", value_name = "KEY=VALUE")]
    #[serde(deserialize_with = "checked::env")]
    pub env: Vec<String>,

    /// The engine's TLS port: always the driver's (`Driver::engine_port`), set by the core when it
    /// opens the machine; not a flag nor a stored key.
    #[arg(skip = 2376u16)]
    #[serde(skip)]
    pub port: u16,

    /// Engine version to install, e.g. 20.10.24 or 27.3.1; an error when the install method
    /// cannot give it (the install script gets VERSION=)
    #[arg(long = "engine-version", value_name = "VERSION")]
    pub engine_version: Option<String>,

    /// Extra OCI runtime to install and register with the engine: youki
    #[arg(long = "engine-runtime", value_name = "RUNTIME")]
    pub runtime: Option<String>,

    /// The engine's default runtime: runc, or the runtime of --engine-runtime
    #[arg(long = "engine-default-runtime", value_name = "RUNTIME")]
    pub default_runtime: Option<String>,

    /// Local runtime binary to upload to the host (instead of downloading the pinned release)
    #[arg(long = "engine-runtime-binary", value_name = "PATH")]
    pub runtime_binary: Option<String>,

    /// Release tarball the host downloads the runtime from (instead of the pinned release)
    #[arg(long = "engine-runtime-url", value_name = "URL")]
    pub runtime_url: Option<String>,

    /// SHA-256 the downloaded runtime tarball must have
    #[arg(long = "engine-runtime-sha256", value_name = "HEX")]
    pub runtime_sha256: Option<String>,

    /// Register the runtime even when the check cannot prove its containers run with seccomp
    /// (a warning instead; implies --engine-runtime-accept-exec-without-seccomp)
    #[arg(long = "engine-runtime-accept-unverified")]
    pub runtime_accept_unverified: bool,

    /// Register the runtime although processes started with `docker exec` under it run without
    /// the container's seccomp filter (youki 0.7.0 applies it to a container's first process only)
    #[arg(long = "engine-runtime-accept-exec-without-seccomp")]
    pub runtime_accept_exec_without_seccomp: bool,

    /// How docker reaches the engine: tls (TCP port with TLS client certificates, as
    /// docker-machine) or ssh (no TCP port; DOCKER_HOST=ssh://USER@IP)
    #[arg(
        long = "engine-transport",
        value_name = "TRANSPORT",
        value_enum,
        default_value_t,
        hide_possible_values = true
    )]
    pub transport: crate::EngineTransport,
}

impl EngineOptions {
    /// The key records use for `key`, which may be one of the other names a cluster file's
    /// `engine:` map accepts (singular forms, the words of the flags).
    pub fn canonical_key(key: &str) -> &str {
        match key {
            "label" => "labels",
            "registry-mirror" => "registry-mirrors",
            "insecure-registry" => "insecure-registries",
            "opts" | "opt" => "options",
            "version" => "engine-version",
            other => other,
        }
    }
}

/// Field checks run while engine options are read (cluster files, records), so a bad value is
/// reported where it stands.
mod checked {
    use super::EngineOptions;
    use serde::{Deserialize, Deserializer, de::Error};

    fn check<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
        options: impl Fn(&T) -> EngineOptions,
    ) -> Result<T, D::Error> {
        let value = T::deserialize(deserializer)?;
        options(&value).validate().map_err(D::Error::custom)?;
        Ok(value)
    }

    macro_rules! checked_field {
        ($name:ident, $type:ty, $field:ident) => {
            pub fn $name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<$type, D::Error> {
                check(deserializer, |value: &$type| EngineOptions { $field: value.clone(), ..EngineOptions::default() })
            }
        };
    }

    checked_field!(install_url, Option<String>, install_url);
    checked_field!(storage_driver, Option<String>, storage_driver);
    checked_field!(userns_remap, Option<String>, userns_remap);
    checked_field!(labels, Vec<String>, labels);
    checked_field!(registry_mirrors, Vec<String>, registry_mirrors);
    checked_field!(insecure_registries, Vec<String>, insecure_registries);
    checked_field!(options, Vec<String>, options);
    checked_field!(env, Vec<String>, env);
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            install_url: None,
            storage_driver: None,
            userns_remap: None,
            labels: Vec::new(),
            registry_mirrors: Vec::new(),
            insecure_registries: Vec::new(),
            options: Vec::new(),
            env: Vec::new(),
            port: 2376,
            transport: crate::EngineTransport::Tls,
            engine_version: None,
            runtime: None,
            default_runtime: None,
            runtime_binary: None,
            runtime_url: None,
            runtime_sha256: None,
            runtime_accept_unverified: false,
            runtime_accept_exec_without_seccomp: false,
        }
    }
}

/// The install URL that means "never install the engine".
pub(crate) const NO_INSTALL: &str = "none";

/// daemon.json keys rmachine sets itself, with the option that sets them instead.
const RESERVED_KEYS: &[(&str, &str)] = &[
    ("hosts", "the engine port (rmachine sets the listening addresses itself)"),
    ("host", "the engine port (rmachine sets the listening addresses itself)"),
    ("tls", "rmachine's own TLS setup"),
    ("tlsverify", "rmachine's own TLS setup"),
    ("tlscacert", "rmachine's own TLS setup"),
    ("tlscert", "rmachine's own TLS setup"),
    ("tlskey", "rmachine's own TLS setup"),
    ("storage-driver", "--engine-storage-driver"),
    ("userns-remap", "--engine-userns-remap"),
    ("labels", "--engine-label"),
    ("label", "--engine-label"),
    ("registry-mirrors", "--engine-registry-mirror"),
    ("registry-mirror", "--engine-registry-mirror"),
    ("insecure-registries", "--engine-insecure-registry"),
    ("insecure-registry", "--engine-insecure-registry"),
];

/// dockerd flag names whose daemon.json key is spelled differently (docker-machine users wrote
/// the flag names).
const FLAG_ALIASES: &[(&str, &str)] = &[
    ("storage-opt", "storage-opts"),
    ("exec-opt", "exec-opts"),
    ("dns-opt", "dns-opts"),
    ("log-opt", "log-opts"),
    ("authorization-plugin", "authorization-plugins"),
];

/// daemon.json keys that always hold a list, even when given once.
const LIST_KEYS: &[&str] = &[
    "dns",
    "dns-opts",
    "dns-search",
    "exec-opts",
    "storage-opts",
    "authorization-plugins",
    "allow-nondistributable-artifacts",
];

/// daemon.json keys that hold a string map; each value is "NAME=VALUE" or a JSON object.
const MAP_KEYS: &[&str] = &["log-opts"];

impl EngineOptions {
    /// Checks every option's shape; the error lists all problems at once.
    pub fn validate(&self) -> Result<(), ProvisionError> {
        let mut problems = Vec::new();
        if self.port == 0 {
            problems.push("the engine port must not be 0".to_string());
        }
        if let Some(url) = &self.install_url
            && url != NO_INSTALL
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            problems.push(format!("install URL {url:?} must start with https:// or http://, or be 'none'"));
        }
        if let Some(driver) = &self.storage_driver
            && let Err(problem) = storage::check_driver_name(driver)
        {
            problems.push(problem);
        }
        if let Some(remap) = &self.userns_remap
            && let Err(problem) = check_userns_remap(remap)
        {
            problems.push(problem);
        }
        for label in &self.labels {
            if let Err(problem) = split_pair(label, "engine label") {
                problems.push(problem);
            }
        }
        for mirror in &self.registry_mirrors {
            if !(mirror.starts_with("https://") || mirror.starts_with("http://")) || has_space_or_control(mirror) {
                problems.push(format!("registry mirror {mirror:?} must be a URL starting with https:// or http://"));
            }
        }
        for registry in &self.insecure_registries {
            if registry.is_empty() || registry.contains("://") || has_space_or_control(registry) {
                problems
                    .push(format!("insecure registry {registry:?} must be HOST[:PORT] or a CIDR, without a scheme"));
            }
        }
        problems.extend(crate::runtime::option_problems(self));
        if let Some(version) = &self.engine_version
            && !is_version(version)
        {
            problems.push(format!("engine version {version:?} must look like 20.10.24 or 27.3 (digits and dots)"));
        }
        for variable in &self.env {
            if let Err(problem) = check_environment_variable(variable) {
                problems.push(problem);
            }
        }
        if let Err(option_problems) = self.daemon_options() {
            problems.extend(option_problems);
        }
        if problems.is_empty() { Ok(()) } else { Err(ProvisionError::InvalidEngineOptions { problems }) }
    }

    /// The `--engine-opt` pairs as daemon.json keys: a value that parses as JSON is kept as that
    /// JSON (`true`, `3`, `["a"]`), any other value is a string; a repeated key becomes a list;
    /// list keys (dns, exec-opts…) are always lists; `log-opts` collects `NAME=VALUE` pairs.
    pub(crate) fn daemon_options(&self) -> Result<BTreeMap<String, Value>, Vec<String>> {
        let mut problems = Vec::new();
        let mut keys: BTreeMap<String, Value> = BTreeMap::new();
        let mut occurrences: BTreeMap<String, usize> = BTreeMap::new();
        for option in &self.options {
            let (key, value) = match split_pair(option, "engine option") {
                Ok(pair) => pair,
                Err(problem) => {
                    problems.push(problem);
                    continue;
                }
            };
            let key = FLAG_ALIASES.iter().find(|(flag, _)| *flag == key).map_or(key, |(_, config_key)| *config_key);
            if let Some((_, flag)) = RESERVED_KEYS.iter().find(|(reserved, _)| *reserved == key) {
                problems.push(format!(
                    "engine option {option:?} clashes with {flag}: rmachine sets {key:?} in daemon.json itself"
                ));
                continue;
            }
            if !key.starts_with(|character: char| character.is_ascii_alphanumeric())
                || !key.chars().all(|character| character.is_ascii_alphanumeric() || "-._".contains(character))
            {
                problems.push(format!(
                    "engine option {option:?}: {key:?} is not a daemon.json key (write KEY=VALUE, e.g. debug=true)"
                ));
                continue;
            }
            if MAP_KEYS.contains(&key) {
                if let Err(problem) = add_map_entry(&mut keys, key, value, option) {
                    problems.push(problem);
                }
                continue;
            }
            let parsed = parse_value(value);
            if LIST_KEYS.contains(&key) {
                let list = keys.entry(key.to_string()).or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = list {
                    match parsed {
                        Value::Array(more) => items.extend(more),
                        single => items.push(single),
                    }
                }
                continue;
            }
            let count = occurrences.entry(key.to_string()).or_insert(0);
            *count += 1;
            let count = *count;
            match keys.get_mut(key) {
                Some(existing) if count == 2 => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, parsed]);
                }
                Some(Value::Array(items)) if count > 2 => items.push(parsed),
                _ => {
                    keys.insert(key.to_string(), parsed);
                }
            }
        }
        if problems.is_empty() { Ok(keys) } else { Err(problems) }
    }
}

/// The value of `--engine-opt K=V`: JSON when V parses as JSON, else the string V.
pub(crate) fn parse_value(value: &str) -> Value {
    serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()))
}

fn add_map_entry(keys: &mut BTreeMap<String, Value>, key: &str, value: &str, option: &str) -> Result<(), String> {
    let map = keys.entry(key.to_string()).or_insert_with(|| Value::Object(serde_json::Map::new()));
    let Value::Object(map) = map else {
        return Err(format!("engine option {option:?}: {key} must be an object"));
    };
    if let Ok(Value::Object(entries)) = serde_json::from_str::<Value>(value) {
        for (name, entry) in entries {
            let entry = match entry {
                Value::String(text) => text,
                other => other.to_string(),
            };
            map.insert(name, Value::String(entry));
        }
        return Ok(());
    }
    let (name, entry) = value
        .split_once('=')
        .filter(|(name, _)| !name.is_empty())
        .ok_or_else(|| format!("engine option {option:?}: {key} takes NAME=VALUE (e.g. {key}=max-size=10m)"))?;
    map.insert(name.to_string(), Value::String(entry.to_string()));
    Ok(())
}

/// Splits "K=V" into its key and value; the key must be non-empty and free of spaces.
pub(crate) fn split_pair<'a>(pair: &'a str, what: &str) -> Result<(&'a str, &'a str), String> {
    let Some((key, value)) = pair.split_once('=') else {
        return Err(format!("{what} {pair:?} must have the form KEY=VALUE"));
    };
    if key.is_empty() || has_space_or_control(key) {
        return Err(format!("{what} {pair:?} needs a key without spaces before '='"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{what} {pair:?} must not hold control characters (newlines, tabs)"));
    }
    Ok((key, value))
}

fn has_space_or_control(text: &str) -> bool {
    text.chars().any(|character| character.is_whitespace() || character.is_control())
}

fn check_environment_variable(variable: &str) -> Result<(), String> {
    let (name, _) = split_pair(variable, "engine environment variable")?;
    let valid = name.starts_with(|character: char| character.is_ascii_alphabetic() || character == '_')
        && name.chars().all(|character| character.is_ascii_alphanumeric() || character == '_');
    if valid {
        Ok(())
    } else {
        Err(format!("engine environment variable {variable:?}: {name:?} is not a variable name (letters, digits, '_')"))
    }
}

/// Whether `text` is a dotted version number: "27", "20.10.24".
fn is_version(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| !part.is_empty() && part.chars().all(|character| character.is_ascii_digit()))
}

/// The value of `--engine-userns-remap` that turns remapping off.
pub(crate) const USERNS_OFF: &str = "off";

impl EngineOptions {
    /// The remapping asked for: None when unset or "off".
    pub(crate) fn effective_userns_remap(&self) -> Option<&str> {
        self.userns_remap.as_deref().filter(|remap| *remap != USERNS_OFF)
    }
}

fn check_userns_remap(remap: &str) -> Result<(), String> {
    let valid_name = |name: &str| {
        !name.is_empty()
            && name.len() <= 32
            && !name.starts_with('-')
            && name.chars().all(|character| character.is_ascii_alphanumeric() || "_.-".contains(character))
    };
    let valid = match remap.split_once(':') {
        None => valid_name(remap),
        Some((user, group)) => valid_name(user) && valid_name(group),
    };
    if valid { Ok(()) } else { Err(format!("userns-remap {remap:?} must be 'default', USER, USER:GROUP or 'off'")) }
}

#[cfg(test)]
#[path = "engine_options_tests.rs"]
mod tests;
