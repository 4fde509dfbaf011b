//! A machine of an rmachine-protocol plugin as a [`Driver`]: each operation starts the plugin,
//! shakes hands and makes one call with the machine's stored settings (and its secrets, which
//! are never stored), and keeps what the plugin answers (replacement settings, the endpoint).
//! The endpoint is cached in the settings, so `ip`, `engine_url` and `ssh_endpoint` need no
//! process. What the record keeps: [`Stored`].

use crate::endpoint::Endpoint;
use crate::kind::Located;
use crate::process::Cancelled;
use crate::protocol::{self, Cleanup, Handshake, PROTOCOL, Session};
use rmachine_drivers::{
    CreateContext, Driver, DriverEnvironment, DriverError, DriverFuture, DriverOptions, MachineState, NewMachine,
    PowerOperation, PowerOutcome, REBOOT_COMMAND, SshEndpoint, StateReport,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How long `pre_create_check` may take.
const PRE_CREATE_LIMIT: Duration = Duration::from_secs(300);
/// How long `remove` and `power` may take (create has no limit: Ctrl-C cancels it).
const LONG_LIMIT: Duration = Duration::from_secs(900);

/// What a machine record keeps of a plugin's machine (`driver.settings`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stored {
    /// `rmachine/1`.
    pub protocol: String,
    pub machine: String,
    /// The plugin's own settings, as it last returned them.
    #[serde(default)]
    pub settings: Value,
    /// Where the machine is, as the plugin last said.
    #[serde(default)]
    pub endpoint: Option<Endpoint>,
    /// Until the pre-create check: what the machine is to be made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creating: Option<Creating>,
}

/// A machine's options before its pre-create check (secret ones left out: they are never stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Creating {
    pub options: Map<String, Value>,
    #[serde(default)]
    pub joins_swarm: bool,
}

impl Stored {
    pub fn from_settings(located: &Located, settings: &serde_json::Value) -> Result<Stored, DriverError> {
        crate::kind::read_settings(located, settings, PROTOCOL)
    }
}

pub struct PluginDriver {
    located: Located,
    environment: Arc<DriverEnvironment>,
    stored: Mutex<Stored>,
    /// The secret options given to `create` (in memory only).
    given_secrets: Map<String, Value>,
    /// What the handshake of the pre-create check said about failed creates.
    cleanup: Mutex<Cleanup>,
    cancelled: Arc<Cancelled>,
}

impl PluginDriver {
    pub fn new(
        located: Located,
        environment: Arc<DriverEnvironment>,
        machine: &NewMachine<'_>,
        options: &DriverOptions,
        handshake: &Handshake,
    ) -> PluginDriver {
        let secret = |name: &str| handshake.options.iter().any(|spec| spec.secret && spec.name == name);
        let (mut given_secrets, mut plain) = (Map::new(), Map::new());
        for (name, value) in options.values() {
            let side = if secret(name) { &mut given_secrets } else { &mut plain };
            side.insert(name.clone(), json!(value));
        }
        let stored = Stored {
            protocol: PROTOCOL.into(),
            machine: machine.name.into(),
            settings: json!({}),
            endpoint: None,
            creating: Some(Creating { options: plain, joins_swarm: machine.joins_swarm }),
        };
        PluginDriver::with(located, environment, stored, given_secrets)
    }

    pub fn open(located: Located, environment: Arc<DriverEnvironment>, stored: Stored) -> PluginDriver {
        PluginDriver::with(located, environment, stored, Map::new())
    }

    fn with(
        located: Located,
        environment: Arc<DriverEnvironment>,
        stored: Stored,
        given_secrets: Map<String, Value>,
    ) -> PluginDriver {
        let stored = Mutex::new(stored);
        PluginDriver {
            located,
            environment,
            stored,
            given_secrets,
            cleanup: Mutex::default(),
            cancelled: Arc::default(),
        }
    }

    fn stored(&self) -> MutexGuard<'_, Stored> {
        self.stored.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn endpoint(&self) -> Option<Endpoint> {
        self.stored().endpoint.clone()
    }

    /// A process for one call, after what earlier cancelled calls left (their late settings).
    async fn session(&self) -> Result<Session, DriverError> {
        for answer in self.cancelled.settle().await {
            let late = match &answer {
                Ok(result) => result.get("settings"),
                Err(error) => error.data.as_ref().and_then(|data| data.get("settings")),
            };
            if let Some(settings) = late.filter(|settings| self.leaked_secret(settings, &self.given_secrets).is_none())
            {
                self.stored().settings = settings.clone();
            }
        }
        let label = self.stored().machine.clone();
        let launch = self.located.launch(&self.environment, &label, Some(self.cancelled.clone()));
        Session::open(launch, self.environment.log.as_ref()).await
    }

    /// The secret options' values for a call: as given to `create`, else from their environment
    /// variables (the only place they are between commands).
    fn secrets(&self, handshake: &Handshake) -> Map<String, Value> {
        let mut secrets = self.given_secrets.clone();
        for spec in handshake.options.iter().filter(|spec| spec.secret) {
            if secrets.contains_key(&spec.name) {
                continue;
            }
            let text = spec.env.as_deref().and_then(|variable| self.environment.variable(variable));
            if let Some(value) = text.and_then(|text| spec.parse_text(&text).ok()) {
                secrets.insert(spec.name.clone(), json!(value));
            }
        }
        secrets
    }

    /// The secret option whose value appears in `value`, if any.
    fn leaked_secret(&self, value: &Value, secrets: &Map<String, Value>) -> Option<String> {
        let text = value.to_string();
        secrets.iter().find_map(|(name, secret)| {
            let pieces: Vec<&str> = match secret {
                Value::String(piece) => vec![piece.as_str()],
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let leaks = pieces.iter().filter(|piece| piece.chars().count() >= 4).any(|piece| {
                let escaped = serde_json::to_string(piece).unwrap_or_default();
                text.contains(escaped.trim_matches('"'))
            });
            leaks.then(|| name.clone())
        })
    }

    /// Refuses settings or an endpoint that carry a secret option's value: the record keeps them.
    fn refuse_secrets(
        &self,
        session: &Session,
        method: &str,
        value: &Value,
        secrets: &Map<String, Value>,
    ) -> Result<(), DriverError> {
        match self.leaked_secret(value, secrets) {
            None => Ok(()),
            Some(option) => Err(session.error(format!(
                "answered `{method}` with settings that contain the value of the secret option --{option}; \
                 rmachine never stores secrets: the plugin gets them in `secrets` on every call"
            ))),
        }
    }

    /// The parameters every operation gets.
    fn params(&self, secrets: Map<String, Value>) -> Map<String, Value> {
        let stored = self.stored();
        let store_root = &self.environment.store_root;
        let machine_directory = store_root.join("machines").join(&stored.machine);
        let mut params = Map::new();
        params.insert("machine".into(), stored.machine.clone().into());
        params.insert("settings".into(), stored.settings.clone());
        params.insert("secrets".into(), Value::Object(secrets));
        params.insert("store_root".into(), store_root.display().to_string().into());
        params.insert("machine_directory".into(), machine_directory.display().to_string().into());
        params
    }

    /// Takes `settings` and `endpoint` from an answer when it has them (checked first).
    fn keep(
        &self,
        session: &Session,
        method: &str,
        answer: &Value,
        secrets: &Map<String, Value>,
        store_root: &Path,
    ) -> Result<(), DriverError> {
        let settings = answer.get("settings").filter(|settings| !settings.is_null());
        let endpoint = answer.get("endpoint").filter(|endpoint| !endpoint.is_null());
        for value in settings.iter().chain(endpoint.iter()) {
            self.refuse_secrets(session, method, value, secrets)?;
        }
        let endpoint = match endpoint {
            None => None,
            Some(value) => Some(
                serde_json::from_value::<Endpoint>(value.clone())
                    .map_err(|error| error.to_string())
                    .and_then(|endpoint| endpoint.normalised(store_root))
                    .map_err(|problem| {
                        session.error(format!("answered `{method}` with an endpoint that is wrong: {problem}"))
                    })?,
            ),
        };
        let mut stored = self.stored();
        if let Some(settings) = settings {
            stored.settings = settings.clone();
        }
        if let Some(endpoint) = endpoint {
            stored.endpoint = Some(endpoint);
        }
        Ok(())
    }

    async fn state_report(&self, timeout: Duration) -> Result<StateReport, DriverError> {
        let mut session = self.session().await?;
        let mut params = self.params(self.secrets(&session.handshake));
        params.insert("timeout_ms".into(), u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX).into());
        let answer = session.call("state", &Value::Object(params), None, self.environment.log.as_ref(), false).await?;
        let text = answer.get("state").and_then(Value::as_str).unwrap_or_default();
        let state = parse_state(text).ok_or_else(|| {
            session.error(format!("answered `state` with the state {text:?}, which rmachine does not know"))
        })?;
        let reason =
            answer.get("reason").and_then(Value::as_str).filter(|reason| !reason.is_empty()).map(str::to_string);
        Ok(StateReport { state, reason })
    }

    async fn power_operation(&mut self, operation: PowerOperation) -> Result<PowerOutcome, DriverError> {
        let mut session = self.session().await?;
        if !session.handshake.has("power") {
            if operation == PowerOperation::Restart && self.ssh_endpoint().is_some() {
                return Ok(PowerOutcome::RunOverSsh(REBOOT_COMMAND.to_string()));
            }
            let reason = format!("{} does not declare the `power` capability", session.plugin());
            return Err(DriverError::unsupported(&self.located.name, operation.verb(), reason));
        }
        let secrets = self.secrets(&session.handshake);
        let mut params = self.params(secrets.clone());
        params.insert("operation".into(), operation.verb().into());
        let answer = session
            .call("power", &Value::Object(params), Some(LONG_LIMIT), self.environment.log.as_ref(), false)
            .await?;
        self.keep(&session, "power", &answer, &secrets, &self.environment.store_root)?;
        match answer.get("outcome") {
            Some(Value::String(done)) if done == "done" => Ok(PowerOutcome::Done),
            Some(Value::Object(outcome)) if outcome.get("run_over_ssh").is_some_and(Value::is_string) => {
                Ok(PowerOutcome::RunOverSsh(outcome["run_over_ssh"].as_str().unwrap_or_default().to_string()))
            }
            other => Err(session.error(format!(
                "answered `power` with the outcome {}, not \"done\" or {{\"run_over_ssh\": COMMAND}}",
                other.map_or_else(|| "(none)".to_string(), Value::to_string)
            ))),
        }
    }
}

/// A state's name as plugins send it (any case).
fn parse_state(text: &str) -> Option<MachineState> {
    [
        MachineState::Running,
        MachineState::Starting,
        MachineState::Stopping,
        MachineState::Stopped,
        MachineState::Error,
        MachineState::Timeout,
        MachineState::NotFound,
    ]
    .into_iter()
    .find(|state| state.to_string().eq_ignore_ascii_case(text))
}

impl Driver for PluginDriver {
    fn name(&self) -> &str {
        &self.located.name
    }

    fn settings(&self) -> Value {
        serde_json::to_value(&*self.stored()).expect("plugin settings serialise")
    }

    fn pre_create_check(&self) -> DriverFuture<'_, Result<(), DriverError>> {
        Box::pin(async move {
            let Some(creating) = self.stored().creating.clone() else {
                return Err(DriverError::failed("the pre-create check", "the machine exists already"));
            };
            let mut session = self.session().await?;
            let secrets = self.secrets(&session.handshake);
            let mut options = creating.options;
            options.extend(secrets.clone());
            let mut params = self.params(secrets.clone());
            params.insert("options".into(), Value::Object(options));
            params.insert("joins_swarm".into(), creating.joins_swarm.into());
            let log = self.environment.log.as_ref();
            let answer =
                session.call("pre_create_check", &Value::Object(params), Some(PRE_CREATE_LIMIT), log, false).await?;
            if !answer.get("settings").is_some_and(Value::is_object) {
                return Err(session.error("answered `pre_create_check` without a \"settings\" object".into()));
            }
            self.keep(&session, "pre_create_check", &answer, &secrets, &self.environment.store_root)?;
            self.stored().creating = None;
            *self.cleanup.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
                session.handshake.cleanup_on_failed_create;
            Ok(())
        })
    }

    fn create<'a>(&'a mut self, context: &'a CreateContext<'a>) -> DriverFuture<'a, Result<(), DriverError>> {
        Box::pin(async move {
            let mut session = self.session().await?;
            let secrets = self.secrets(&session.handshake);
            let mut params = self.params(secrets.clone());
            let directory = context.store_root.join(context.machine_directory);
            params.insert("machine_directory".into(), directory.display().to_string().into());
            params.insert("store_root".into(), context.store_root.display().to_string().into());
            let answer = session.call("create", &Value::Object(params), None, context.log, true).await?;
            if !answer.get("endpoint").is_some_and(Value::is_object) {
                return Err(session.error("answered `create` without an \"endpoint\" object".into()));
            }
            self.keep(&session, "create", &answer, &secrets, context.store_root)
        })
    }

    fn ip(&self) -> String {
        self.endpoint().map(|endpoint| endpoint.ip).unwrap_or_default()
    }

    fn addresses(&self) -> rmachine_drivers::Addresses {
        self.endpoint().map(|endpoint| endpoint.addresses()).unwrap_or_default()
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
            match tokio::time::timeout(timeout, self.state_report(timeout)).await {
                Ok(Ok(report)) => report,
                Ok(Err(error)) => StateReport::with_reason(MachineState::Error, protocol::one_line(&error)),
                Err(_) => StateReport::with_reason(
                    MachineState::Timeout,
                    format!(
                        "driver plugin {} did not answer `state` within {}s",
                        self.located.plugin,
                        timeout.as_secs()
                    ),
                ),
            }
        })
    }

    fn remove(&self) -> DriverFuture<'_, Result<(), DriverError>> {
        Box::pin(async move {
            let mut session = self.session().await?;
            let params = self.params(self.secrets(&session.handshake));
            let log = self.environment.log.as_ref();
            session.call("remove", &Value::Object(params), Some(LONG_LIMIT), log, false).await.map(drop)
        })
    }

    fn remove_after_failed_create(&self, provisioning_started: bool) -> bool {
        match *self.cleanup.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) {
            Cleanup::Always => true,
            Cleanup::BeforeProvisioning => !provisioning_started,
        }
    }

    fn power(&mut self, operation: PowerOperation) -> DriverFuture<'_, Result<PowerOutcome, DriverError>> {
        Box::pin(self.power_operation(operation))
    }

    fn ssh_wait(&self) -> Option<Duration> {
        self.endpoint().and_then(|endpoint| endpoint.ssh).and_then(|ssh| ssh.wait_seconds).map(Duration::from_secs)
    }
}
