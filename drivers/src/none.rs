//! The `none` driver: an engine that already runs somewhere, which rmachine only points docker at.

use crate::driver::DriverFuture;
use crate::options::string_option;
use crate::probe::state_from_probe;
use crate::registry::{settings_from_json, settings_to_json};
use crate::state::MachineState;
use crate::{
    CreateContext, DockerMachineHost, Driver, DriverEnvironment, DriverError, DriverKind, DriverOptions,
    ImportedSettings, NewMachine, OptionSpec, SshEndpoint, StateReport, docker_machine_string,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

const NAME: &str = "none";

/// The none driver's kind, for the registry.
pub fn kind() -> Arc<dyn DriverKind> {
    Arc::new(NoneKind)
}

struct NoneKind;

impl DriverKind for NoneKind {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> String {
        "an engine that already runs somewhere, which rmachine only points docker at".into()
    }

    fn options(&self) -> Vec<OptionSpec> {
        vec![string_option("url", "URL of the engine, tcp://HOST:PORT").value_name("URL")]
    }

    fn controls_power(&self) -> bool {
        false
    }

    fn new_driver(
        &self,
        _environment: &Arc<DriverEnvironment>,
        _machine: &NewMachine<'_>,
        options: &DriverOptions,
    ) -> Result<Box<dyn Driver>, DriverError> {
        let Some(url) = options.string("url").filter(|url| !url.is_empty()) else {
            return Err(DriverError::invalid(
                "--url",
                "is required with --driver none: the engine's address, tcp://HOST:PORT",
            ));
        };
        Ok(Box::new(NoneConfig { url }))
    }

    fn open(
        &self,
        _environment: &Arc<DriverEnvironment>,
        settings: &serde_json::Value,
    ) -> Result<Box<dyn Driver>, DriverError> {
        Ok(Box::new(settings_from_json::<NoneConfig>(NAME, settings)?))
    }

    fn docker_machine_drivers(&self) -> Vec<String> {
        vec![NAME.into()]
    }

    /// docker-machine's none driver keeps the engine's URL as `URL`.
    fn import_docker_machine(&self, machine: &DockerMachineHost<'_>) -> Result<ImportedSettings, DriverError> {
        let none = NoneConfig { url: docker_machine_string(machine.config, "URL") };
        none.host_and_port().map_err(|error| DriverError::invalid("URL", error.to_string()))?;
        Ok(ImportedSettings { settings: none.settings(), not_imported: Vec::new() })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoneConfig {
    /// `tcp://HOST:PORT`
    pub url: String,
}

impl NoneConfig {
    /// Host and port of the URL, or why the URL is not `tcp://HOST:PORT`.
    pub fn host_and_port(&self) -> Result<(String, u16), DriverError> {
        let invalid = |problem: String| DriverError::invalid("--url", problem);
        let rest = self.url.strip_prefix("tcp://").ok_or_else(|| {
            invalid(format!("'{}' must look like tcp://HOST:PORT (for example tcp://10.0.0.5:2376)", self.url))
        })?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| invalid(format!("'{}' has no port; write tcp://HOST:PORT", self.url)))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(invalid(format!("'{}' has no host; write tcp://HOST:PORT", self.url)));
        }
        crate::options::check_address(host).map_err(|problem| invalid(format!("in '{}': {problem}", self.url)))?;
        let port: u16 =
            port.parse().map_err(|_| invalid(format!("'{port}' in '{}' is not a port number", self.url)))?;
        Ok((host.to_string(), port))
    }
}

impl Driver for NoneConfig {
    fn name(&self) -> &str {
        NAME
    }

    fn settings(&self) -> serde_json::Value {
        settings_to_json(self)
    }

    fn pre_create_check(&self) -> DriverFuture<'_, Result<(), DriverError>> {
        Box::pin(async move { self.host_and_port().map(|_| ()) })
    }

    fn create<'a>(&'a mut self, _context: &'a CreateContext<'a>) -> DriverFuture<'a, Result<(), DriverError>> {
        Box::pin(async { Ok(()) })
    }

    fn ip(&self) -> String {
        self.host_and_port().map(|(host, _)| host).unwrap_or_default()
    }

    fn engine_port(&self) -> u16 {
        self.host_and_port().map(|(_, port)| port).unwrap_or(2376)
    }

    fn engine_url(&self) -> String {
        self.url.trim_end_matches('/').to_string()
    }

    fn ssh_endpoint(&self) -> Option<SshEndpoint> {
        None
    }

    fn host_identity(&self) -> Option<String> {
        Some(self.engine_url())
    }

    fn state(&self, timeout: Duration) -> DriverFuture<'_, StateReport> {
        Box::pin(async move {
            let (host, port) = match self.host_and_port() {
                Ok(address) => address,
                Err(error) => return StateReport::with_reason(MachineState::Error, error.to_string()),
            };
            let refused = format!("nothing listens on {host}:{port}");
            state_from_probe(&host, port, timeout, refused).await
        })
    }

    fn remove(&self) -> DriverFuture<'_, Result<(), DriverError>> {
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> NoneConfig {
        NoneConfig { url: url.to_string() }
    }

    #[test]
    fn docker_machine_none_machines_keep_their_url() {
        let config = serde_json::json!({"IPAddress": "", "MachineName": "n", "URL": "tcp://10.0.0.5:2376"});
        let machine = DockerMachineHost { name: "n", driver_name: "none", config: &config, ssh_key: None };
        let imported = NoneKind.import_docker_machine(&machine).unwrap();
        assert_eq!(imported.settings, serde_json::json!({"url": "tcp://10.0.0.5:2376"}));
        let bad = serde_json::json!({"URL": "http://x"});
        let error = NoneKind.import_docker_machine(&DockerMachineHost { config: &bad, ..machine }).unwrap_err();
        assert!(error.to_string().starts_with("URL: "), "{error}");
    }

    #[test]
    fn a_tcp_url_gives_host_and_port() {
        assert_eq!(config("tcp://10.0.0.5:2376").host_and_port().unwrap(), ("10.0.0.5".to_string(), 2376));
        assert_eq!(config("tcp://[::1]:2375/").host_and_port().unwrap(), ("::1".to_string(), 2375));
    }

    #[test]
    fn bad_urls_are_refused_with_the_flag_named() {
        for url in [
            "http://10.0.0.5:2376",
            "tcp://10.0.0.5",
            "tcp://:2376",
            "tcp://host:port",
            "tcp://a b:2376",
            "tcp://$(id):2376",
            "tcp://-oProxyCommand=x:2376",
        ] {
            let error = config(url).host_and_port().unwrap_err().to_string();
            assert!(error.starts_with("--url:"), "{error}");
        }
    }
}
