//! A machine of a docker-machine plugin as a [`Driver`], in docker-machine's call sequences:
//! the pre-create check and create share one plugin process (SetConfigRaw with the machine's
//! name and the absolute store path, GetMachineName, DriverName, GetCreateFlags,
//! SetConfigFromFlags with every flag's default under the values given, PreCreateCheck,
//! GetConfigRaw; later Create, GetConfigRaw, GetState until Running, the SSH endpoint, GetIP and
//! GetURL, GetConfigRaw); every later operation starts a process, gives it the stored config blob
//! with SetConfigRaw, makes its call and closes it. The blob is stored verbatim; the endpoint is
//! cached beside it, so the synchronous driver methods start no process.

use super::{PROTOCOL, flag_value, launch, plugin_error};
use crate::endpoint::{Endpoint, EndpointSsh};
use crate::kind::Located;
use rmachine_driver_docker_machine::{
    FlagValues, MachinePlugin, PluginError, PluginState, flag_values_with_defaults, initial_config,
};
use rmachine_drivers::{
    CreateContext, Driver, DriverEnvironment, DriverError, DriverFuture, DriverLog, DriverOptions, MachineState,
    OptionValue, PowerOperation, PowerOutcome, SshEndpoint, StateReport,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// How long a created machine may take to report Running (docker-machine: 3 minutes).
const RUNNING_WAIT: Duration = Duration::from_secs(300);
const STATE_POLL: Duration = Duration::from_secs(1);

/// What a machine record keeps of a docker-machine plugin's machine (`driver.settings`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DmStored {
    /// `docker-machine/1`.
    pub protocol: String,
    pub machine: String,
    /// The driver's config (GetConfigRaw's JSON), verbatim; SetConfigRaw gives it back.
    pub config: String,
    #[serde(default)]
    pub endpoint: Option<Endpoint>,
    /// Until the pre-create check: the flag values given (the config blob keeps them after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creating: Option<BTreeMap<String, OptionValue>>,
}

impl DmStored {
    pub fn from_settings(located: &Located, settings: &serde_json::Value) -> Result<DmStored, DriverError> {
        crate::kind::read_settings(located, settings, PROTOCOL)
    }
}

/// The create process, kept from the pre-create check to create, with its stdout lines.
struct CreateProcess {
    plugin: MachinePlugin,
    progress: UnboundedReceiver<String>,
}

pub struct DmDriver {
    located: Located,
    environment: Arc<DriverEnvironment>,
    stored: Mutex<DmStored>,
    create_process: tokio::sync::Mutex<Option<CreateProcess>>,
}

impl DmDriver {
    pub fn new(
        located: Located,
        environment: Arc<DriverEnvironment>,
        machine: &str,
        options: &DriverOptions,
    ) -> DmDriver {
        let stored = DmStored {
            protocol: PROTOCOL.into(),
            machine: machine.into(),
            config: String::new(),
            endpoint: None,
            creating: Some(options.values().clone()),
        };
        DmDriver::open(located, environment, stored)
    }

    pub fn open(located: Located, environment: Arc<DriverEnvironment>, stored: DmStored) -> DmDriver {
        DmDriver { located, environment, stored: Mutex::new(stored), create_process: Default::default() }
    }

    fn stored(&self) -> MutexGuard<'_, DmStored> {
        self.stored.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn endpoint(&self) -> Option<Endpoint> {
        self.stored().endpoint.clone()
    }

    fn error(&self, error: PluginError) -> DriverError {
        plugin_error(&self.located, error)
    }

    /// Keeps the plugin's config, verbatim.
    fn keep_config(&self, config: Vec<u8>) -> Result<(), DriverError> {
        let config = String::from_utf8(config).map_err(|_| DriverError::Plugin {
            plugin: self.located.plugin.clone(),
            problem: "answered GetConfigRaw with a config that is not UTF-8 JSON".into(),
            log: Vec::new(),
        })?;
        self.stored().config = config;
        Ok(())
    }

    /// A process for an existing machine: started, given the stored config.
    async fn reopen(&self) -> Result<MachinePlugin, DriverError> {
        let (machine, config) = {
            let stored = self.stored();
            (stored.machine.clone(), stored.config.clone())
        };
        let plugin = launch(&self.located, &self.environment, &machine, None).await?;
        plugin.set_config_raw(config.as_bytes()).await.map_err(|error| self.error(error))?;
        Ok(plugin)
    }

    /// The endpoint as the plugin tells it now (SSH host, port, user and key, IP, URL).
    async fn ask_endpoint(&self, plugin: &MachinePlugin, store_root: &Path) -> Result<Endpoint, DriverError> {
        let error = |error| self.error(error);
        let key = plugin.get_ssh_key_path().await.map_err(error)?;
        let ssh = EndpointSsh {
            host: plugin.get_ssh_hostname().await.map_err(error)?,
            port: plugin.get_ssh_port().await.map_err(error)?,
            user: plugin.get_ssh_username().await.map_err(error)?,
            private_key: Some(PathBuf::from(key)).filter(|key| !key.as_os_str().is_empty()),
            host_key: None,
            wait_seconds: None,
        };
        let endpoint = Endpoint {
            ip: plugin.get_ip().await.map_err(error)?,
            engine_url: Some(plugin.get_url().await.map_err(error)?),
            engine_port: None,
            addresses: None,
            ssh: Some(ssh),
        };
        endpoint.normalised(store_root).map_err(|problem| DriverError::Plugin {
            plugin: self.located.plugin.clone(),
            problem: format!("reported an endpoint that is wrong: {problem}"),
            log: plugin.plugin().stderr_tail(),
        })
    }

    /// GetState until Running, docker-machine's wait after Create.
    async fn wait_until_running(&self, plugin: &MachinePlugin) -> Result<(), DriverError> {
        let deadline = Instant::now() + RUNNING_WAIT;
        loop {
            let state = plugin.get_state().await.map_err(|error| self.error(error))?;
            if state == PluginState::Running {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(DriverError::Plugin {
                    plugin: self.located.plugin.clone(),
                    problem: format!(
                        "the machine did not report Running within {}s after Create (it says {state:?})",
                        RUNNING_WAIT.as_secs()
                    ),
                    log: plugin.plugin().stderr_tail(),
                });
            }
            tokio::time::sleep(STATE_POLL).await;
        }
    }

    async fn check_before_create(&self) -> Result<(), DriverError> {
        let Some(values) = self.stored().creating.clone() else {
            return Err(DriverError::failed("the pre-create check", "the machine exists already"));
        };
        let mut options = DriverOptions::default();
        values.into_iter().for_each(|(name, value)| options.give(&name, value));
        let machine = self.stored().machine.clone();
        let (progress, lines) = unbounded_channel();
        let plugin = launch(&self.located, &self.environment, &machine, Some(progress)).await?;
        let error = |error| self.error(error);
        plugin.set_config_raw(&initial_config(&machine, &self.environment.store_root)).await.map_err(error)?;
        plugin.get_machine_name().await.map_err(error)?;
        plugin.driver_name().await.map_err(error)?;
        let flags = plugin.get_create_flags().await.map_err(error)?;
        let given: FlagValues =
            flags.iter().filter_map(|flag| Some((flag.name.clone(), flag_value(flag, &options)?))).collect();
        plugin.set_config_from_flags(&flag_values_with_defaults(&flags, &given)).await.map_err(error)?;
        plugin.pre_create_check().await.map_err(error)?;
        self.keep_config(plugin.get_config_raw().await.map_err(error)?)?;
        self.stored().creating = None;
        *self.create_process.lock().await = Some(CreateProcess { plugin, progress: lines });
        Ok(())
    }

    async fn create_machine(&mut self, context: &CreateContext<'_>) -> Result<(), DriverError> {
        let process = self.create_process.lock().await.take();
        let mut process = match process {
            Some(process) => process,
            None => CreateProcess { plugin: self.reopen().await?, progress: unbounded_channel().1 },
        };
        let plugin = &process.plugin;
        let created = show_progress(plugin.create(), &mut process.progress, context.log).await;
        // What Create made is in the config even when it failed: kept, for remove.
        let config = plugin.get_config_raw().await;
        if let Ok(config) = config {
            self.keep_config(config)?;
        }
        created.map_err(|error| self.error(error))?;
        self.wait_until_running(plugin).await?;
        let endpoint = self.ask_endpoint(plugin, context.store_root).await?;
        self.stored().endpoint = Some(endpoint);
        self.keep_config(plugin.get_config_raw().await.map_err(|error| self.error(error))?)?;
        process.plugin.shutdown().await;
        Ok(())
    }

    async fn ask_state(&self) -> Result<StateReport, DriverError> {
        let plugin = self.reopen().await?;
        let state = plugin.get_state().await.map_err(|error| self.error(error))?;
        // Close in the background: the answer is in.
        tokio::spawn(plugin.shutdown());
        Ok(state_report(state))
    }

    async fn power_operation(&mut self, operation: PowerOperation) -> Result<PowerOutcome, DriverError> {
        let plugin = self.reopen().await?;
        let done = match operation {
            PowerOperation::Start => plugin.start().await,
            PowerOperation::Stop => plugin.stop().await,
            PowerOperation::Restart => plugin.restart().await,
            PowerOperation::Kill => plugin.kill().await,
        };
        if let Ok(config) = plugin.get_config_raw().await {
            self.keep_config(config)?;
        }
        done.map_err(|error| self.error(error))?;
        // A start may move the machine; a stopped one may not say where it is: keep the old.
        if matches!(operation, PowerOperation::Start | PowerOperation::Restart)
            && let Ok(endpoint) = self.ask_endpoint(&plugin, &self.environment.store_root).await
        {
            self.stored().endpoint = Some(endpoint);
        }
        plugin.shutdown().await;
        Ok(PowerOutcome::Done)
    }

    async fn remove_machine(&self) -> Result<(), DriverError> {
        let plugin = self.reopen().await?;
        plugin.remove().await.map_err(|error| self.error(error))?;
        plugin.shutdown().await;
        Ok(())
    }
}

/// Runs `call`, showing the plugin's stdout lines as progress meanwhile.
async fn show_progress<T>(
    call: impl Future<Output = T>,
    lines: &mut UnboundedReceiver<String>,
    log: &dyn DriverLog,
) -> T {
    tokio::pin!(call);
    loop {
        tokio::select! {
            outcome = &mut call => return outcome,
            Some(line) = lines.recv() => log.phase(&line),
        }
    }
}

/// docker-machine's states as rmachine's.
fn state_report(state: PluginState) -> StateReport {
    match state {
        PluginState::Running => StateReport::running(),
        PluginState::Stopped => StateReport { state: MachineState::Stopped, reason: None },
        PluginState::Stopping => StateReport { state: MachineState::Stopping, reason: None },
        PluginState::Starting => StateReport { state: MachineState::Starting, reason: None },
        PluginState::Paused => StateReport::with_reason(MachineState::Stopped, "the plugin reports it Paused"),
        PluginState::Saved => {
            StateReport::with_reason(MachineState::Stopped, "the plugin reports it Saved (suspended)")
        }
        PluginState::Timeout => StateReport::with_reason(MachineState::Timeout, "the plugin reports Timeout"),
        PluginState::Error => StateReport::with_reason(MachineState::Error, "the plugin reports Error"),
        PluginState::None => StateReport::with_reason(MachineState::Error, "the plugin reports no state (None)"),
    }
}

impl Driver for DmDriver {
    fn name(&self) -> &str {
        &self.located.name
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::to_value(&*self.stored()).expect("plugin settings serialise")
    }

    fn pre_create_check(&self) -> DriverFuture<'_, Result<(), DriverError>> {
        Box::pin(self.check_before_create())
    }

    fn create<'a>(&'a mut self, context: &'a CreateContext<'a>) -> DriverFuture<'a, Result<(), DriverError>> {
        Box::pin(self.create_machine(context))
    }

    fn ip(&self) -> String {
        self.endpoint().map(|endpoint| endpoint.ip).unwrap_or_default()
    }

    fn engine_port(&self) -> u16 {
        self.endpoint().map_or(crate::endpoint::DEFAULT_ENGINE_PORT, |endpoint| endpoint.engine_port())
    }

    fn engine_url(&self) -> String {
        self.endpoint().map(|endpoint| endpoint.engine_url()).unwrap_or_default()
    }

    fn ssh_endpoint(&self) -> Option<SshEndpoint> {
        self.endpoint().and_then(|endpoint| endpoint.ssh_endpoint())
    }

    fn state(&self, timeout: Duration) -> DriverFuture<'_, StateReport> {
        Box::pin(async move {
            match tokio::time::timeout(timeout, self.ask_state()).await {
                Ok(Ok(report)) => report,
                Ok(Err(error)) => StateReport::with_reason(MachineState::Error, crate::protocol::one_line(&error)),
                Err(_) => StateReport::with_reason(
                    MachineState::Timeout,
                    format!(
                        "driver plugin {} did not answer GetState within {}s",
                        self.located.plugin,
                        timeout.as_secs()
                    ),
                ),
            }
        })
    }

    fn remove(&self) -> DriverFuture<'_, Result<(), DriverError>> {
        Box::pin(self.remove_machine())
    }

    /// docker-machine removes a machine whose create failed: the plugin launched what it made.
    fn remove_after_failed_create(&self, _provisioning_started: bool) -> bool {
        true
    }

    fn power(&mut self, operation: PowerOperation) -> DriverFuture<'_, Result<PowerOutcome, DriverError>> {
        Box::pin(self.power_operation(operation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_machine_states_map_onto_rmachines() {
        assert_eq!(state_report(PluginState::Running), StateReport::running());
        assert_eq!(state_report(PluginState::Stopped).state, MachineState::Stopped);
        assert_eq!(state_report(PluginState::Saved).state, MachineState::Stopped);
        assert!(state_report(PluginState::None).reason.unwrap().contains("no state"));
    }

    #[test]
    fn stored_settings_name_their_protocol() {
        let located = Located { name: "x".into(), plugin: "docker-machine-driver-x".into(), path: "/p/x".into() };
        let settings = serde_json::json!({"protocol": "rmachine/1", "machine": "n1", "config": "{}"});
        let error = DmStored::from_settings(&located, &settings).unwrap_err().to_string();
        assert!(error.contains("made through the rmachine/1 protocol"), "{error}");
        let settings =
            serde_json::json!({"protocol": PROTOCOL, "machine": "n1", "config": "{\"IPAddress\":\"1.2.3.4\"}"});
        assert_eq!(DmStored::from_settings(&located, &settings).unwrap().config, "{\"IPAddress\":\"1.2.3.4\"}");
    }
}
