//! Finding rmachine-protocol plugins (`rmachine-driver-NAME` in the search path) and the
//! [`DriverKind`] each one is: its options, description and capabilities come from its
//! `initialize` answer, asked once per run and only when needed (creating a machine, help,
//! `rmachine drivers`), never to open an existing machine: every call shakes hands itself.

use crate::driver::{PluginDriver, Stored};
use crate::process::{Cancelled, Launch};
use crate::protocol::{self, Handshake, PREFIX, PROTOCOL, Session};
use rmachine_drivers::{
    Driver, DriverEnvironment, DriverError, DriverKind, DriverOptions, DriverOrigin, NewMachine, OptionSpec,
    PluginFinder, PluginListing,
};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// An installed plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// NAME, as `--driver` takes it.
    pub name: String,
    /// `rmachine-driver-NAME`.
    pub plugin: String,
    pub path: PathBuf,
}

impl Located {
    /// The plugin `PREFIX` + `name` at `path`.
    pub fn new(prefix: &str, name: &str, path: PathBuf) -> Located {
        Located { name: name.to_string(), plugin: format!("{prefix}{name}"), path }
    }

    /// How to start it for `label` (a machine's name, else the driver's).
    pub fn launch<'a>(
        &'a self,
        environment: &'a DriverEnvironment,
        label: &'a str,
        cancelled: Option<Arc<Cancelled>>,
    ) -> Launch<'a> {
        Launch {
            plugin: &self.plugin,
            driver: &self.name,
            path: &self.path,
            variables: &environment.variables,
            log: environment.log.clone(),
            label,
            cancelled,
        }
    }

    /// Starts it once and asks `initialize`.
    pub async fn shake_hands(&self, environment: &DriverEnvironment) -> Result<Handshake, DriverError> {
        let session = Session::open(self.launch(environment, &self.name, None), environment.log.as_ref()).await?;
        Ok(session.handshake)
    }
}

/// Every plugin whose executable starts with `prefix` in the search path.
/// The plugin `prefix` + `name` where the search path has it.
pub(crate) fn locate(environment: &DriverEnvironment, prefix: &str, name: &str) -> Option<Located> {
    let path = environment.find_executable(&format!("{prefix}{name}"))?;
    Some(Located::new(prefix, name, path))
}

pub(crate) fn installed(environment: &DriverEnvironment, prefix: &str) -> Vec<Located> {
    let found = environment.executables_with_prefix(prefix).into_iter();
    found
        .filter_map(|(file, path)| Some(Located::new(prefix, file.strip_prefix(prefix)?, path)))
        .filter(|located| !located.name.is_empty())
        .collect()
}

/// `rmachine drivers`' rows of `found` and what each answered: (version, description) or why not.
pub(crate) fn listings(
    found: Vec<Located>,
    protocol: &str,
    answers: Vec<Result<(String, String), DriverError>>,
) -> Vec<PluginListing> {
    let rows = found.into_iter().zip(answers);
    rows.map(|(located, answer)| PluginListing {
        name: located.name,
        path: located.path,
        protocol: protocol.into(),
        handshake: answer.map_err(|error| protocol::one_line(&error)),
    })
    .collect()
}

/// Reads a plugin machine's stored settings (`{"protocol", "machine", ...}`), refusing those
/// made through another protocol than `expected` (a plugin of the other kind found first).
pub(crate) fn read_settings<T: serde::de::DeserializeOwned>(
    located: &Located,
    settings: &serde_json::Value,
    expected: &str,
) -> Result<T, DriverError> {
    let text = |key: &str| settings.get(key).and_then(serde_json::Value::as_str).unwrap_or_default().to_string();
    let (protocol, machine) = (text("protocol"), text("machine"));
    if protocol != expected {
        return Err(DriverError::failed(
            format!("opening machine '{machine}'"),
            format!(
                "it was made through the {protocol} protocol, but the plugin found for '{}' is {} ({})",
                located.name,
                located.plugin,
                located.path.display()
            ),
        ));
    }
    serde_json::from_value(settings.clone()).map_err(|error| {
        DriverError::failed(
            format!("reading the {} driver's settings of machine '{machine}'", located.name),
            error.to_string(),
        )
    })
}

/// What a plugin answered the first time it was asked (its handshake, its flags), kept for the run.
pub(crate) struct FirstAnswer<T> {
    answer: OnceLock<Result<T, (String, Vec<String>)>>,
}

impl<T> Default for FirstAnswer<T> {
    fn default() -> Self {
        FirstAnswer { answer: OnceLock::new() }
    }
}

impl<T> FirstAnswer<T> {
    /// The answer, asking with `ask` the first time; an error names `plugin`.
    pub fn get(&self, plugin: &str, ask: impl FnOnce() -> Result<T, DriverError>) -> Result<&T, DriverError> {
        let answer = self.answer.get_or_init(|| {
            ask().map_err(|error| match error {
                DriverError::Plugin { problem, log, .. } => (problem, log),
                other => (other.to_string(), Vec::new()),
            })
        });
        answer.as_ref().map_err(|(problem, log)| DriverError::Plugin {
            plugin: plugin.to_string(),
            problem: problem.clone(),
            log: log.clone(),
        })
    }
}

/// The finder of rmachine-protocol plugins, for the registry.
pub fn finder() -> Arc<dyn PluginFinder> {
    Arc::new(RmachineFinder)
}

struct RmachineFinder;

impl PluginFinder for RmachineFinder {
    fn protocol(&self) -> &str {
        PROTOCOL
    }

    fn find(
        &self,
        name: &str,
        environment: &Arc<DriverEnvironment>,
    ) -> Option<Result<Arc<dyn DriverKind>, DriverError>> {
        let located = locate(environment, PREFIX, name)?;
        Some(Ok(Arc::new(PluginKind { located, environment: environment.clone(), handshake: FirstAnswer::default() })))
    }

    fn list(&self, environment: &Arc<DriverEnvironment>) -> Vec<PluginListing> {
        let found = installed(environment, PREFIX);
        let answers = crate::blocking::run_all(found.iter().map(|located| located.shake_hands(environment)).collect());
        let answers =
            answers.into_iter().map(|answer| answer.map(|shake| (shake.version, shake.description))).collect();
        listings(found, PROTOCOL, answers)
    }

    fn install_hint(&self, name: &str) -> String {
        format!(
            "an rmachine driver plugin is an executable {PREFIX}{name} in RMACHINE_DRIVER_PATH or PATH (docs/driver-protocol.md)"
        )
    }
}

/// A plugin as a driver kind.
pub struct PluginKind {
    located: Located,
    environment: Arc<DriverEnvironment>,
    handshake: FirstAnswer<Handshake>,
}

impl PluginKind {
    /// Its `initialize` answer, asked the first time it is needed.
    fn handshake(&self) -> Result<&Handshake, DriverError> {
        let ask = || crate::blocking::run(self.located.shake_hands(&self.environment));
        self.handshake.get(&self.located.plugin, ask)
    }
}

impl DriverKind for PluginKind {
    fn name(&self) -> &str {
        &self.located.name
    }

    fn description(&self) -> String {
        match self.handshake() {
            Ok(handshake) if !handshake.description.is_empty() => handshake.description.clone(),
            Ok(_) => format!("a driver plugin ({})", self.located.path.display()),
            Err(error) => format!("unusable: {}", protocol::one_line(&error)),
        }
    }

    fn options(&self) -> Vec<OptionSpec> {
        self.handshake().map(|handshake| handshake.options.clone()).unwrap_or_default()
    }

    fn controls_power(&self) -> bool {
        self.handshake().is_ok_and(|handshake| handshake.has("power"))
    }

    fn origin(&self) -> DriverOrigin {
        DriverOrigin::Plugin {
            path: self.located.path.clone(),
            protocol: PROTOCOL.into(),
            version: self.handshake().map(|handshake| handshake.version.clone()).unwrap_or_default(),
        }
    }

    fn usable(&self) -> Result<(), DriverError> {
        self.handshake().map(drop)
    }

    fn new_driver(
        &self,
        environment: &Arc<DriverEnvironment>,
        machine: &NewMachine<'_>,
        options: &DriverOptions,
    ) -> Result<Box<dyn Driver>, DriverError> {
        let handshake = self.handshake()?;
        Ok(Box::new(PluginDriver::new(self.located.clone(), environment.clone(), machine, options, handshake)))
    }

    fn open(
        &self,
        environment: &Arc<DriverEnvironment>,
        settings: &serde_json::Value,
    ) -> Result<Box<dyn Driver>, DriverError> {
        let stored = Stored::from_settings(&self.located, settings)?;
        Ok(Box::new(PluginDriver::open(self.located.clone(), environment.clone(), stored)))
    }
}
