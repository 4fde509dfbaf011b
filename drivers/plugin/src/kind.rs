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
    pub fn new(name: &str, path: PathBuf) -> Located {
        Located { name: name.to_string(), plugin: format!("{PREFIX}{name}"), path }
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
        let path = environment.find_executable(&format!("{PREFIX}{name}"))?;
        let kind = PluginKind {
            located: Located::new(name, path),
            environment: environment.clone(),
            handshake: OnceLock::new(),
        };
        Some(Ok(Arc::new(kind)))
    }

    fn list(&self, environment: &Arc<DriverEnvironment>) -> Vec<PluginListing> {
        let found: Vec<Located> = environment
            .executables_with_prefix(PREFIX)
            .into_iter()
            .filter_map(|(file, path)| Some(Located::new(file.strip_prefix(PREFIX)?, path)))
            .filter(|located| !located.name.is_empty())
            .collect();
        let answers = crate::blocking::run_all(found.iter().map(|located| located.shake_hands(environment)).collect());
        found
            .into_iter()
            .zip(answers)
            .map(|(located, answer)| PluginListing {
                name: located.name,
                path: located.path,
                protocol: PROTOCOL.into(),
                handshake: answer
                    .map(|handshake| (handshake.version, handshake.description))
                    .map_err(|error| protocol::one_line(&error)),
            })
            .collect()
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
    handshake: OnceLock<Result<Handshake, (String, Vec<String>)>>,
}

impl PluginKind {
    /// Its `initialize` answer, asked the first time it is needed.
    fn handshake(&self) -> Result<&Handshake, DriverError> {
        let answer = self.handshake.get_or_init(|| {
            crate::blocking::run(self.located.shake_hands(&self.environment)).map_err(|error| match error {
                DriverError::Plugin { problem, log, .. } => (problem, log),
                other => (other.to_string(), Vec::new()),
            })
        });
        answer.as_ref().map_err(|(problem, log)| DriverError::Plugin {
            plugin: self.located.plugin.clone(),
            problem: problem.clone(),
            log: log.clone(),
        })
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
