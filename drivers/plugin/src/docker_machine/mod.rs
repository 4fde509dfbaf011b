//! docker-machine's driver plugins (`docker-machine-driver-NAME` in the search path) as driver
//! kinds, through the `rmachine-driver-docker-machine` crate's protocol layer. A kind's options
//! are the plugin's create flags, asked as docker-machine's flag lookup does (a process whose
//! config says `MachineName: "flag-lookup"`, then GetCreateFlags), once per run and only when
//! needed; opening an existing machine asks nothing.

mod driver;

use crate::kind::{FirstAnswer, Located, installed, listings};
use driver::{DmDriver, DmStored};
use rmachine_driver_docker_machine::{
    Flag, FlagKind, FlagValue, LogSink, MachinePlugin, OutputStream, PluginError, PluginLine, PluginOptions,
    PluginSpec, initial_config,
};
use rmachine_drivers::{
    Driver, DriverEnvironment, DriverError, DriverKind, DriverOptions, DriverOrigin, NewMachine, OptionKind,
    OptionSpec, OptionValue, PluginFinder, PluginListing,
};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

/// The protocol's name in `rmachine drivers` and records.
pub const PROTOCOL: &str = rmachine_drivers::DOCKER_MACHINE_PROTOCOL;
/// The executables' prefix.
pub const PREFIX: &str = "docker-machine-driver-";

/// The finder of docker-machine plugins, for the registry.
pub fn finder() -> Arc<dyn PluginFinder> {
    Arc::new(DockerMachineFinder)
}

/// Where a plugin's output goes: every line to the debug log (docker-machine's tags), and its
/// stdout lines (libmachine's info level) also to `progress` when someone shows them.
struct Output {
    environment: Arc<DriverEnvironment>,
    progress: Option<UnboundedSender<String>>,
}

impl LogSink for Output {
    fn line(&self, line: &PluginLine<'_>) {
        self.environment.log.debug(&line.tagged());
        if let (OutputStream::Stdout, Some(progress)) = (line.stream, &self.progress) {
            let _ = progress.send(line.text.to_string());
        }
    }
}

/// Starts the plugin (GetVersion; heartbeats from then on).
async fn launch(
    located: &Located,
    environment: &Arc<DriverEnvironment>,
    label: &str,
    progress: Option<UnboundedSender<String>>,
) -> Result<MachinePlugin, DriverError> {
    let spec = PluginSpec::new(&located.name, &located.path).env(environment.variables.clone()).label(label);
    let sink = Arc::new(Output { environment: environment.clone(), progress });
    MachinePlugin::launch(spec, PluginOptions::default(), sink).await.map_err(|error| plugin_error(located, error))
}

/// A plugin error as a driver error: what the plugin did (without its name, which the driver
/// error carries, nor its stderr, which goes in the error's log).
pub(crate) fn plugin_error(located: &Located, error: PluginError) -> DriverError {
    let log = error.stderr_lines().to_vec();
    let text = error.to_string();
    let text = text.split("\nlast lines of its stderr:").next().unwrap_or_default();
    let problem = text.strip_prefix(&format!("the plugin {} ", located.plugin)).unwrap_or(text).to_string();
    DriverError::Plugin { plugin: located.plugin.clone(), problem, log }
}

/// docker-machine's flag lookup: the plugin's create flags.
async fn flag_lookup(located: &Located, environment: &Arc<DriverEnvironment>) -> Result<Vec<Flag>, DriverError> {
    let plugin = launch(located, environment, "flag-lookup", None).await?;
    let error = |error| plugin_error(located, error);
    plugin.set_config_raw(&initial_config("flag-lookup", &environment.store_root)).await.map_err(error)?;
    plugin.get_machine_name().await.map_err(error)?;
    plugin.driver_name().await.map_err(error)?;
    let flags = plugin.get_create_flags().await.map_err(error)?;
    plugin.shutdown().await;
    Ok(flags)
}

/// A create flag as an option: the plugin's own flags (`NAME-…`) only, so that none clashes
/// with rmachine's create flags; the others still get their defaults.
fn option(driver: &str, flag: &Flag) -> Option<OptionSpec> {
    if !flag.name.starts_with(&format!("{driver}-")) {
        return None;
    }
    let (kind, default) = match &flag.default {
        FlagValue::String(text) => {
            (OptionKind::String, Some(text).filter(|t| !t.is_empty()).map(|t| OptionValue::String(t.clone())))
        }
        FlagValue::Int(number) => (OptionKind::Int, Some(OptionValue::Int(*number))),
        FlagValue::Bool(_) => (OptionKind::Bool, None),
        FlagValue::StringSlice(items) => {
            (OptionKind::StringList, Some(items).filter(|i| !i.is_empty()).map(|i| OptionValue::List(i.clone())))
        }
    };
    let mut spec = OptionSpec::new(&flag.name, kind, &flag.usage);
    spec.env = Some(flag.env_var.clone()).filter(|variable| !variable.is_empty());
    spec.default = default;
    Some(spec)
}

/// The value an option gave, as the flag's type.
pub(crate) fn flag_value(flag: &Flag, options: &DriverOptions) -> Option<FlagValue> {
    options.values().get(&flag.name)?;
    Some(match flag.kind {
        FlagKind::String => FlagValue::String(options.string(&flag.name).unwrap_or_default()),
        FlagKind::Int => FlagValue::Int(options.int(&flag.name)?),
        FlagKind::Bool => FlagValue::Bool(options.bool(&flag.name)),
        FlagKind::StringSlice => FlagValue::StringSlice(options.list(&flag.name)),
    })
}

struct DockerMachineFinder;

impl PluginFinder for DockerMachineFinder {
    fn protocol(&self) -> &str {
        PROTOCOL
    }

    fn find(
        &self,
        name: &str,
        environment: &Arc<DriverEnvironment>,
    ) -> Option<Result<Arc<dyn DriverKind>, DriverError>> {
        let located = crate::kind::locate(environment, PREFIX, name)?;
        Some(Ok(Arc::new(DmKind { located, environment: environment.clone(), flags: FirstAnswer::default() })))
    }

    fn list(&self, environment: &Arc<DriverEnvironment>) -> Vec<PluginListing> {
        let found = installed(environment, PREFIX);
        let answers = crate::blocking::run_all(found.iter().map(|located| flag_lookup(located, environment)).collect());
        let answers =
            answers.into_iter().map(|answer| answer.map(|flags| (String::new(), description(flags.len())))).collect();
        listings(found, PROTOCOL, answers)
    }

    fn install_hint(&self, name: &str) -> String {
        format!("a docker-machine driver plugin {PREFIX}{name} in RMACHINE_DRIVER_PATH or PATH works too")
    }
}

fn description(flags: usize) -> String {
    format!("a docker-machine driver plugin (plugin API 1, {flags} create flags)")
}

/// A docker-machine plugin as a driver kind.
pub struct DmKind {
    located: Located,
    environment: Arc<DriverEnvironment>,
    flags: FirstAnswer<Vec<Flag>>,
}

impl DmKind {
    /// Its create flags, looked up the first time they are needed.
    fn flags(&self) -> Result<&Vec<Flag>, DriverError> {
        let ask = || crate::blocking::run(flag_lookup(&self.located, &self.environment));
        self.flags.get(&self.located.plugin, ask)
    }
}

impl DriverKind for DmKind {
    fn name(&self) -> &str {
        &self.located.name
    }

    fn description(&self) -> String {
        match self.flags() {
            Ok(flags) => description(flags.len()),
            Err(error) => format!("unusable: {}", crate::protocol::one_line(&error)),
        }
    }

    fn options(&self) -> Vec<OptionSpec> {
        let flags = self.flags().map(Vec::as_slice).unwrap_or_default();
        flags.iter().filter_map(|flag| option(&self.located.name, flag)).collect()
    }

    /// docker-machine drivers all implement Start, Stop, Restart and Kill (some by an error).
    fn controls_power(&self) -> bool {
        true
    }

    fn origin(&self) -> DriverOrigin {
        DriverOrigin::Plugin { path: self.located.path.clone(), protocol: PROTOCOL.into(), version: String::new() }
    }

    fn usable(&self) -> Result<(), DriverError> {
        self.flags().map(drop)
    }

    fn new_driver(
        &self,
        environment: &Arc<DriverEnvironment>,
        machine: &NewMachine<'_>,
        options: &DriverOptions,
    ) -> Result<Box<dyn Driver>, DriverError> {
        self.flags()?;
        Ok(Box::new(DmDriver::new(self.located.clone(), environment.clone(), machine.name, options)))
    }

    fn open(
        &self,
        environment: &Arc<DriverEnvironment>,
        settings: &serde_json::Value,
    ) -> Result<Box<dyn Driver>, DriverError> {
        let stored = DmStored::from_settings(&self.located, settings)?;
        Ok(Box::new(DmDriver::open(self.located.clone(), environment.clone(), stored)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(name: &str, default: FlagValue) -> Flag {
        Flag { name: name.into(), usage: "u".into(), env_var: "X_ENV".into(), kind: default.kind(), default }
    }

    #[test]
    fn the_plugins_own_flags_become_options_with_their_defaults() {
        let token = option("x", &flag("x-token", FlagValue::String(String::new()))).unwrap();
        assert_eq!(
            (token.kind, token.default.clone(), token.env.as_deref()),
            (OptionKind::String, None, Some("X_ENV"))
        );
        let port = option("x", &flag("x-port", FlagValue::Int(22))).unwrap();
        assert_eq!(port.default, Some(OptionValue::Int(22)));
        let tags = option("x", &flag("x-tags", FlagValue::StringSlice(vec!["a".into()]))).unwrap();
        assert_eq!((tags.kind, tags.default), (OptionKind::StringList, Some(OptionValue::List(vec!["a".into()]))));
        assert_eq!(option("x", &flag("x-debug", FlagValue::Bool(false))).unwrap().default, None);
        assert!(option("x", &flag("engine-install-url", FlagValue::String("u".into()))).is_none());
        let mut options = DriverOptions::default();
        options.give("x-port", OptionValue::Int(2222));
        options.give("x-tags", OptionValue::List(vec!["b".into(), "c".into()]));
        assert_eq!(flag_value(&flag("x-port", FlagValue::Int(22)), &options), Some(FlagValue::Int(2222)));
        let tags = flag_value(&flag("x-tags", FlagValue::StringSlice(vec![])), &options);
        assert_eq!(tags, Some(FlagValue::StringSlice(vec!["b".into(), "c".into()])));
        assert_eq!(flag_value(&flag("x-token", FlagValue::String(String::new())), &options), None);
    }
}
