//! rmachine's driver protocol, version 1, above the process: the `initialize` handshake (what a
//! plugin says about itself, checked), a [`Session`] (one process after its handshake, whose
//! calls fail with [`DriverError`]s), and how the plugin's error codes map onto them.
//! `docs/driver-protocol.md` is the specification.

use crate::jsonrpc::{ErrorObject, METHOD_NOT_FOUND, REQUEST_CANCELLED};
use crate::process::{CallError, Launch, PluginProcess};
use rmachine_drivers::{DriverError, DriverLog, OptionSpec};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// The protocol versions this rmachine speaks.
pub const PROTOCOL_VERSIONS: &[u32] = &[1];
/// The protocol's name in `rmachine drivers` and records.
pub const PROTOCOL: &str = "rmachine/1";
/// The executables' prefix: `rmachine-driver-NAME`.
pub const PREFIX: &str = "rmachine-driver-";
/// How long a plugin has to answer `initialize`.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Error codes of the protocol's own (JSON-RPC leaves codes outside -32768..-32000 to applications).
pub const INVALID_SETTING: i64 = 1;
pub const API_ERROR: i64 = 2;
pub const FAILED: i64 = 3;
pub const UNSUPPORTED: i64 = 4;

/// When a failed create removes what it made (`Driver::remove_after_failed_create`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cleanup {
    /// Only while provisioning has not started (a host the user brought is kept with its error).
    #[default]
    BeforeProvisioning,
    /// After any failure (hosts the plugin launched).
    Always,
}

/// What a plugin says about itself in answer to `initialize`.
#[derive(Debug, Clone, Deserialize)]
pub struct Handshake {
    pub protocol: u32,
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub options: Vec<OptionSpec>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub cleanup_on_failed_create: Cleanup,
}

impl Handshake {
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|known| known == capability)
    }

    /// Reads and checks `initialize`'s result for the driver `driver`.
    pub fn from_result(driver: &str, result: Value) -> Result<Handshake, String> {
        let handshake: Handshake =
            serde_json::from_value(result).map_err(|error| format!("answered `initialize` with {error}"))?;
        if !PROTOCOL_VERSIONS.contains(&handshake.protocol) {
            return Err(format!(
                "speaks protocol version {}, this rmachine speaks {:?}: install a matching version of either",
                handshake.protocol, PROTOCOL_VERSIONS
            ));
        }
        if handshake.name != driver {
            return Err(format!(
                "calls itself '{}' but is installed as {PREFIX}{driver}: rename it or answer with the name rmachine gives (params.driver_name)",
                handshake.name
            ));
        }
        let mut seen = BTreeSet::new();
        let prefix = format!("{driver}-");
        for spec in &handshake.options {
            if !spec.name.starts_with(&prefix) || spec.name.len() == prefix.len() {
                return Err(format!("declares option '{}', which does not start with '{prefix}'", spec.name));
            }
            if !seen.insert(spec.name.as_str()) || spec.aliases.iter().any(|alias| !alias.starts_with(&prefix)) {
                return Err(format!("declares option '{}' twice, or with an alias without '{prefix}'", spec.name));
            }
            if let Some(default) = &spec.default
                && let Err(problem) = spec.check_value(default)
            {
                return Err(format!("gives option '{}' a default that does not fit: it {problem}", spec.name));
            }
        }
        Ok(handshake)
    }
}

/// The error a plugin returned, as one of rmachine's driver errors.
pub fn remote_error(driver: &str, plugin: &str, method: &str, error: ErrorObject, log: Vec<String>) -> DriverError {
    let data = error.data.as_ref();
    let text = |key: &str| data.and_then(|data| data.get(key)).and_then(Value::as_str).map(str::to_string);
    let kind = text("kind");
    let code = match kind.as_deref() {
        Some("invalid_setting") => INVALID_SETTING,
        Some("api") => API_ERROR,
        Some("failed") => FAILED,
        Some("unsupported") => UNSUPPORTED,
        _ => error.code,
    };
    let operation = text("operation").unwrap_or_else(|| method.to_string());
    match code {
        INVALID_SETTING => DriverError::InvalidSetting {
            flag: text("option")
                .map_or_else(|| format!("the {driver} driver's settings"), |option| format!("--{option}")),
            problem: error.message,
        },
        API_ERROR => DriverError::Api {
            service: text("service").unwrap_or_else(|| driver.to_string()),
            operation,
            message: with_last_line(error.message, &log),
        },
        UNSUPPORTED => DriverError::unsupported(driver, &operation, error.message),
        METHOD_NOT_FOUND => {
            DriverError::unsupported(driver, &operation, format!("{plugin} does not implement `{method}`"))
        }
        REQUEST_CANCELLED => DriverError::Interrupted { operation: format!("the {driver} driver's {method}") },
        FAILED => DriverError::Plugin {
            plugin: plugin.to_string(),
            problem: format!("`{method}` failed: {}", error.message),
            log,
        },
        other => DriverError::Plugin {
            plugin: plugin.to_string(),
            problem: format!("`{method}` failed with error {other}: {}", error.message),
            log,
        },
    }
}

fn with_last_line(message: String, log: &[String]) -> String {
    match log.last() {
        Some(line) => format!("{message} (its last log line: {line})"),
        None => message,
    }
}

/// A [`DriverError::Plugin`] in one line (for `ls` rows and state reasons).
pub fn one_line(error: &DriverError) -> String {
    match error {
        DriverError::Plugin { plugin, problem, log } => {
            with_last_line(format!("driver plugin {plugin}: {problem}"), log)
        }
        other => other.to_string().lines().next().unwrap_or_default().to_string(),
    }
}

/// One plugin process after a successful handshake.
pub struct Session {
    process: PluginProcess,
    driver: String,
    pub handshake: Handshake,
}

impl Session {
    /// Starts the plugin and shakes hands with it.
    pub async fn open(launch: Launch<'_>, quiet: &dyn DriverLog) -> Result<Session, DriverError> {
        let driver = launch.driver.to_string();
        let plugin = launch.plugin.to_string();
        let mut process = PluginProcess::launch(launch).map_err(|problem| DriverError::Plugin {
            plugin: plugin.clone(),
            problem,
            log: Vec::new(),
        })?;
        let params = json!({
            "protocol_versions": PROTOCOL_VERSIONS,
            "rmachine_version": env!("CARGO_PKG_VERSION"),
            "driver_name": driver,
        });
        let result = process.call("initialize", &params, Some(HANDSHAKE_TIMEOUT), quiet, false).await;
        let result = result.map_err(|error| call_error(&driver, &process, "initialize", error))?;
        let handshake = Handshake::from_result(&driver, result).map_err(|problem| DriverError::Plugin {
            plugin: plugin.clone(),
            problem,
            log: process.log_tail(),
        })?;
        Ok(Session { process, driver, handshake })
    }

    pub fn plugin(&self) -> &str {
        self.process.plugin()
    }

    /// Calls `method`; errors are the plugin's own (mapped) or what it did wrong.
    pub async fn call(
        &mut self,
        method: &str,
        params: &Value,
        limit: Option<Duration>,
        log: &dyn DriverLog,
        progress: bool,
    ) -> Result<Value, DriverError> {
        let result = self.process.call(method, params, limit, log, progress).await;
        result.map_err(|error| call_error(&self.driver, &self.process, method, error))
    }

    /// A plugin error naming this plugin, with its last log lines.
    pub fn error(&self, problem: String) -> DriverError {
        DriverError::Plugin { plugin: self.plugin().to_string(), problem, log: self.process.log_tail() }
    }
}

fn call_error(driver: &str, process: &PluginProcess, method: &str, error: CallError) -> DriverError {
    match error {
        CallError::Remote(error) => remote_error(driver, process.plugin(), method, error, process.log_tail()),
        CallError::Misbehaved(problem) => {
            DriverError::Plugin { plugin: process.plugin().to_string(), problem, log: process.log_tail() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake(value: Value) -> Result<Handshake, String> {
        Handshake::from_result("ex", value)
    }

    #[test]
    fn a_handshake_is_read_and_checked() {
        let good = handshake(json!({
            "protocol": 1, "name": "ex", "version": "1.2", "capabilities": ["power"], "future_field": {},
            "options": [{"name": "ex-ip", "type": "string", "usage": "address", "required": true},
                        {"name": "ex-token", "type": "string", "secret": true, "env": "EX_TOKEN"},
                        {"name": "ex-port", "type": "int", "default": 22}],
            "cleanup_on_failed_create": "always"
        }))
        .unwrap();
        assert!(good.has("power") && !good.has("concurrent"));
        assert_eq!(good.options.len(), 3);
        assert!(good.options[1].secret);
        assert_eq!(good.cleanup_on_failed_create, Cleanup::Always);
        for (bad, expected) in [
            (json!({"protocol": 2, "name": "ex"}), "protocol version 2"),
            (json!({"protocol": 1, "name": "other"}), "calls itself 'other'"),
            (
                json!({"protocol": 1, "name": "ex", "options": [{"name": "url", "type": "string"}]}),
                "does not start with 'ex-'",
            ),
            (json!({"protocol": 1, "name": "ex", "options": [{"name": "ex-a", "type": "float"}]}), "unknown variant"),
            (
                json!({"protocol": 1, "name": "ex", "options": [{"name": "ex-a", "type": "int", "default": "x"}]}),
                "does not fit",
            ),
            (json!({"name": "ex"}), "missing field `protocol`"),
        ] {
            let problem = handshake(bad).unwrap_err();
            assert!(problem.contains(expected), "{problem}");
        }
    }

    #[test]
    fn error_codes_map_onto_driver_errors() {
        let error = |code: i64, data: Value| ErrorObject { code, message: "no".into(), data: Some(data) };
        let map =
            |code, data| remote_error("ex", "rmachine-driver-ex", "create", error(code, data), vec!["last".into()]);
        let invalid = map(INVALID_SETTING, json!({"option": "ex-ip"})).to_string();
        assert_eq!(invalid, "--ex-ip: no");
        let api = map(0, json!({"kind": "api", "service": "EC2", "operation": "RunInstances"})).to_string();
        assert_eq!(api, "EC2 RunInstances failed: no (its last log line: last)");
        assert!(matches!(map(METHOD_NOT_FOUND, json!(null)), DriverError::Unsupported { .. }));
        assert!(matches!(map(REQUEST_CANCELLED, json!(null)), DriverError::Interrupted { .. }));
        let failed = map(FAILED, json!(null));
        assert!(matches!(&failed, DriverError::Plugin { log, .. } if log == &["last"]));
        assert_eq!(
            one_line(&failed),
            "driver plugin rmachine-driver-ex: `create` failed: no (its last log line: last)"
        );
        assert!(map(77, json!(null)).to_string().contains("error 77"));
    }
}
