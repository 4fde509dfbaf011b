//! The driver registry: the built-in driver kinds (the binary lists them, and names the default),
//! then external plugins found at run time by [`PluginFinder`]s. The core asks it for a
//! kind by name and never names a concrete driver.

use crate::{Driver, DriverEnvironment, DriverError, DriverKind, DriverOptions, NewMachine};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The `protocol` of the driver settings of a machine run by a docker-machine plugin
/// (`docker-machine-driver-NAME`): `{protocol, machine, config, endpoint}`, `config` being the
/// plugin's configuration JSON verbatim (GetConfigRaw/SetConfigRaw; for a machine `rmachine
/// import` took over, the `Driver` object of docker-machine's `config.json`).
pub const DOCKER_MACHINE_PROTOCOL: &str = "docker-machine/1";

/// Finds external drivers of one protocol (rmachine's own, docker-machine's) by name.
pub trait PluginFinder: Send + Sync {
    /// The protocol's name, `rmachine/1`.
    fn protocol(&self) -> &str;

    /// The plugin named `name`, when one is installed; `Err` when it is there but unusable.
    fn find(
        &self,
        name: &str,
        environment: &Arc<DriverEnvironment>,
    ) -> Option<Result<Arc<dyn DriverKind>, DriverError>>;

    /// Every plugin of this protocol that is installed, for `rmachine drivers`.
    fn list(&self, environment: &Arc<DriverEnvironment>) -> Vec<PluginListing>;

    /// What to tell a user whose driver `name` is missing: how to install a plugin for it.
    fn install_hint(&self, name: &str) -> String;
}

/// An installed plugin and what its handshake said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginListing {
    pub name: String,
    pub path: PathBuf,
    pub protocol: String,
    /// Its version and description, or why the handshake failed.
    pub handshake: Result<(String, String), String>,
}

pub struct Registry {
    environment: Arc<DriverEnvironment>,
    default_driver: Option<String>,
    builtin: Vec<Arc<dyn DriverKind>>,
    finders: Vec<Arc<dyn PluginFinder>>,
    found: Mutex<BTreeMap<String, Arc<dyn DriverKind>>>,
}

impl Registry {
    /// A registry of `builtin` kinds and plugin finders; `default_driver` is what `create` uses
    /// when no driver is named (`None`: the user must name one).
    pub fn new(
        environment: Arc<DriverEnvironment>,
        default_driver: Option<&str>,
        builtin: Vec<Arc<dyn DriverKind>>,
        finders: Vec<Arc<dyn PluginFinder>>,
    ) -> Registry {
        let default_driver = default_driver.map(str::to_string);
        Registry { environment, default_driver, builtin, finders, found: Mutex::new(BTreeMap::new()) }
    }

    /// The same registry (with the plugins it found so far) over another environment.
    pub fn with_environment(self, environment: Arc<DriverEnvironment>) -> Registry {
        Registry { environment, ..self }
    }

    pub fn environment(&self) -> &Arc<DriverEnvironment> {
        &self.environment
    }

    /// The driver `create` uses when none is named.
    pub fn default_kind(&self) -> Option<Arc<dyn DriverKind>> {
        self.default_driver.as_deref().and_then(|name| self.builtin_kind(name))
    }

    pub fn builtin(&self) -> &[Arc<dyn DriverKind>] {
        &self.builtin
    }

    pub fn finders(&self) -> &[Arc<dyn PluginFinder>] {
        &self.finders
    }

    /// The built-in kind named `name` (or with that alias).
    pub fn builtin_kind(&self, name: &str) -> Option<Arc<dyn DriverKind>> {
        self.builtin
            .iter()
            .find(|kind| kind.name() == name || kind.aliases().iter().any(|alias| alias == name))
            .cloned()
    }

    /// The kind named `name`: built in, else the first plugin of that name, which must answer
    /// its handshake (to make machines, its options are needed).
    pub fn kind(&self, name: &str) -> Result<Arc<dyn DriverKind>, DriverError> {
        let kind = self.lookup(name)?;
        kind.usable()?;
        Ok(kind)
    }

    /// The kind named `name`, without asking a plugin anything.
    fn lookup(&self, name: &str) -> Result<Arc<dyn DriverKind>, DriverError> {
        if let Some(kind) = self.builtin_kind(name) {
            return Ok(kind);
        }
        if let Some(kind) = self.found.lock().expect("the plugin cache lock is never poisoned").get(name) {
            return Ok(kind.clone());
        }
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            for finder in &self.finders {
                if let Some(found) = finder.find(name, &self.environment) {
                    let kind = found?;
                    self.found
                        .lock()
                        .expect("the plugin cache lock is never poisoned")
                        .insert(name.into(), kind.clone());
                    return Ok(kind);
                }
            }
        }
        Err(self.unknown(name))
    }

    fn unknown(&self, name: &str) -> DriverError {
        let mut known: Vec<String> = self.builtin.iter().map(|kind| kind.name().to_string()).collect();
        for finder in &self.finders {
            known.extend(finder.list(&self.environment).into_iter().map(|plugin| plugin.name));
        }
        let hints: Vec<String> = self.finders.iter().map(|finder| finder.install_hint(name)).collect();
        let hint = if hints.is_empty() { String::new() } else { format!("; {}", hints.join(", or ")) };
        DriverError::UnknownDriver { name: name.to_string(), known: known.join(", "), hint }
    }

    /// The driver of a machine to be created.
    pub fn new_driver(
        &self,
        kind: &dyn DriverKind,
        machine: &NewMachine<'_>,
        options: &DriverOptions,
    ) -> Result<Box<dyn Driver>, DriverError> {
        kind.new_driver(&self.environment, machine, options)
    }

    /// The driver of an existing machine from its record's driver name and settings. A machine
    /// imported from docker-machine whose driver is missing says which plugin to install.
    pub fn open(&self, name: &str, settings: &serde_json::Value) -> Result<Box<dyn Driver>, DriverError> {
        match self.lookup(name) {
            Ok(kind) => kind.open(&self.environment, settings),
            Err(DriverError::UnknownDriver { name, known, hint })
                if settings.get("protocol").and_then(serde_json::Value::as_str) == Some(DOCKER_MACHINE_PROTOCOL) =>
            {
                let hint = format!(
                    "{hint}; the machine was imported from docker-machine: install its plugin docker-machine-driver-{name} \
                     (an executable on PATH or in RMACHINE_DRIVER_PATH) to use it ('rmachine rm' removes the record without it)"
                );
                Err(DriverError::UnknownDriver { name, known, hint })
            }
            Err(error) => Err(error),
        }
    }

    /// The built-in kind that takes over machines docker-machine made with its driver
    /// `docker_machine_driver` (`amazonec2`), for `rmachine import`.
    pub fn docker_machine_importer(&self, docker_machine_driver: &str) -> Option<Arc<dyn DriverKind>> {
        self.builtin
            .iter()
            .find(|kind| kind.docker_machine_drivers().iter().any(|name| name == docker_machine_driver))
            .cloned()
    }

    /// Every installed plugin, of every protocol.
    pub fn plugins(&self) -> Vec<PluginListing> {
        self.finders.iter().flat_map(|finder| finder.list(&self.environment)).collect()
    }
}

/// Reads a built-in driver's stored settings, naming the driver when they do not parse.
pub fn settings_from_json<T: serde::de::DeserializeOwned>(
    driver: &str,
    settings: &serde_json::Value,
) -> Result<T, DriverError> {
    serde_json::from_value(settings.clone())
        .map_err(|error| DriverError::failed(format!("reading the {driver} driver's settings"), error.to_string()))
}

/// A built-in driver's settings as JSON.
pub fn settings_to_json<T: serde::Serialize>(settings: &T) -> serde_json::Value {
    serde_json::to_value(settings).expect("driver settings always serialise")
}
