//! Rendering of the engine's configuration files, as pure functions (inputs → text):
//! `/etc/docker/daemon.json` merged into `templates/daemon.json`, and the systemd drop-in from
//! `templates/docker.service.d/10-rmachine.conf`. Output is deterministic: sorted keys, pretty
//! JSON, trailing newline.

use serde_json::{Map, Value};

use crate::engine_options::{EngineOptions, split_pair};

const DAEMON_JSON_TEMPLATE: &str = include_str!("../../templates/daemon.json");
const DROP_IN_TEMPLATE: &str = include_str!("../../templates/docker.service.d/10-rmachine.conf");

/// Where dockerd takes its local API socket from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listener {
    /// systemd hands it docker.socket (`fd://`).
    SocketActivation,
    /// dockerd makes /var/run/docker.sock itself.
    UnixSocket,
}

/// `hosts` in daemon.json: the local socket plus TLS on `port`.
pub(crate) fn hosts(listener: Listener, port: u16) -> Vec<String> {
    let local = match listener {
        Listener::SocketActivation => "fd://",
        Listener::UnixSocket => "unix:///var/run/docker.sock",
    };
    vec![local.to_string(), format!("tcp://0.0.0.0:{port}")]
}

/// daemon.json for `options` on a host made by the driver `driver_name`. Err lists the problems
/// of malformed options (which [`EngineOptions::validate`] reports first).
pub(crate) fn daemon_json(
    options: &EngineOptions,
    driver_name: &str,
    listener: Listener,
) -> Result<String, Vec<String>> {
    let Ok(Value::Object(mut document)) = serde_json::from_str::<Value>(DAEMON_JSON_TEMPLATE) else {
        return Err(vec!["templates/daemon.json is not a JSON object".to_string()]);
    };
    for (key, value) in options.daemon_options()? {
        document.insert(key, value);
    }
    let mut engine_hosts = hosts(listener, options.port);
    if options.transport == crate::EngineTransport::Ssh {
        // SSH only: no TCP port, so no TLS keys either (dockerd refuses tls* without a tcp host).
        engine_hosts.truncate(1);
        for key in ["tls", "tlscacert", "tlscert", "tlskey", "tlsverify"] {
            document.remove(key);
        }
    }
    document.insert("hosts".into(), strings(engine_hosts));
    let mut labels = options.labels.clone();
    let has_provider = labels.iter().any(|label| split_pair(label, "label").is_ok_and(|(key, _)| key == "provider"));
    if !has_provider {
        labels.push(format!("provider={driver_name}"));
    }
    document.insert("labels".into(), strings(labels));
    if let Some(driver) = &options.storage_driver {
        document.insert("storage-driver".into(), Value::String(driver.clone()));
    }
    if let Some(remap) = options.effective_userns_remap() {
        document.insert("userns-remap".into(), Value::String(remap.to_string()));
    }
    for (key, value) in crate::runtime::daemon_keys(options) {
        document.insert(key, value);
    }
    if !options.registry_mirrors.is_empty() {
        document.insert("registry-mirrors".into(), strings(options.registry_mirrors.clone()));
    }
    if !options.insecure_registries.is_empty() {
        document.insert("insecure-registries".into(), strings(options.insecure_registries.clone()));
    }
    let sorted = sort_keys(Value::Object(document));
    let mut text = serde_json::to_string_pretty(&sorted).expect("JSON values serialize");
    text.push('\n');
    Ok(text)
}

fn strings(items: Vec<String>) -> Value {
    Value::Array(items.into_iter().map(Value::String).collect())
}

/// The same value with every object's keys in sorted order (whatever map serde_json uses).
fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|left, right| left.0.cmp(&right.0));
            let mut sorted = Map::new();
            for (key, value) in entries {
                sorted.insert(key, sort_keys(value));
            }
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// The systemd drop-in: ExecStart cleared, then set to `dockerd` with `arguments` (the unit's
/// own, minus -H/--host, written as they were), plus one `Environment=` per `K=V` of `env`.
pub(crate) fn drop_in(dockerd: &str, arguments: &[String], env: &[String]) -> String {
    let mut exec_start = escape_specifiers(dockerd);
    for argument in arguments {
        exec_start.push(' ');
        exec_start.push_str(argument);
    }
    let environment: String =
        env.iter().map(|variable| format!("Environment=\"{}\"\n", escape_quoted(variable))).collect();
    DROP_IN_TEMPLATE.replace("{{exec-start}}", &exec_start).replace("{{environment}}\n", &environment)
}

/// Escapes systemd's `%` specifiers.
fn escape_specifiers(text: &str) -> String {
    text.replace('%', "%%")
}

/// Escapes text for a double-quoted systemd value.
fn escape_quoted(text: &str) -> String {
    escape_specifiers(&text.replace('\\', r"\\").replace('"', "\\\""))
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
