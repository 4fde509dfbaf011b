//! The `generic` driver: an existing host reachable over SSH. Creating it copies the SSH key into
//! the store; its state is whether its SSH port answers; removing it leaves the host alone.

use crate::driver::DriverFuture;
use crate::files::{copy_private, with_extension_appended};
use crate::options::{
    check_address, check_port, check_private_key_file, check_ssh_user, check_ssh_user_value, int_option, path_option,
    string_option,
};
use crate::probe::state_from_ssh_probe;
use crate::registry::{settings_from_json, settings_to_json};
use crate::{
    CreateContext, DockerMachineHost, Driver, DriverEnvironment, DriverError, DriverKind, DriverOptions,
    ImportedSettings, NewMachine, OptionSpec, OptionValue, PowerOperation, PowerOutcome, REBOOT_COMMAND, SshEndpoint,
    StateReport, docker_machine_port, docker_machine_string, tcp_url,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The file name of the machine's copy of its SSH key, inside the machine's folder.
pub const KEY_FILE_NAME: &str = "id_ssh";

const NAME: &str = "generic";

/// The generic driver's kind, for the registry.
pub fn kind() -> Arc<dyn DriverKind> {
    Arc::new(GenericKind)
}

struct GenericKind;

impl DriverKind for GenericKind {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> String {
        "an existing host reachable over SSH (rmachine installs and configures its engine)".into()
    }

    fn options(&self) -> Vec<OptionSpec> {
        vec![
            string_option("generic-ip-address", "IP address or host name of the host")
                .env("GENERIC_IP_ADDRESS")
                .value_name("ADDRESS")
                .required()
                .check(check_address_value),
            string_option("generic-ssh-user", "SSH user; a user other than root needs passwordless sudo")
                .env("GENERIC_SSH_USER")
                .value_name("USER")
                .default_value(OptionValue::String("root".into()))
                .check(check_ssh_user_value),
            path_option("generic-ssh-key", "SSH private key (ed25519 or RSA); without it the ssh-agent is used")
                .env("GENERIC_SSH_KEY")
                .value_name("FILE"),
            int_option("generic-ssh-port", "SSH port", 22).env("GENERIC_SSH_PORT").value_name("PORT").check(check_port),
            int_option("generic-engine-port", "Port the engine listens on with TLS", 2376)
                .env("GENERIC_ENGINE_PORT")
                .value_name("PORT")
                .check(check_port),
        ]
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
        Ok(Box::new(GenericConfig {
            ip_address: options.string_or("generic-ip-address", ""),
            ssh_user: options.string_or("generic-ssh-user", "root"),
            ssh_port: options.port("generic-ssh-port", 22)?,
            ssh_key: options.path("generic-ssh-key"),
            engine_port: options.port("generic-engine-port", 2376)?,
        }))
    }

    fn open(
        &self,
        _environment: &Arc<DriverEnvironment>,
        settings: &serde_json::Value,
    ) -> Result<Box<dyn Driver>, DriverError> {
        Ok(Box::new(settings_from_json::<GenericConfig>(NAME, settings)?))
    }

    fn docker_machine_drivers(&self) -> Vec<String> {
        vec![NAME.into()]
    }

    /// docker-machine's generic driver keeps the same settings under its own names.
    fn import_docker_machine(&self, machine: &DockerMachineHost<'_>) -> Result<ImportedSettings, DriverError> {
        let config = machine.config;
        let ip_address = docker_machine_string(config, "IPAddress");
        check_address(&ip_address).map_err(|problem| DriverError::invalid("IPAddress", problem))?;
        let ssh_user = Some(docker_machine_string(config, "SSHUser")).filter(|user| !user.is_empty());
        let generic = GenericConfig {
            ip_address,
            ssh_user: ssh_user.unwrap_or_else(|| "root".into()),
            ssh_port: docker_machine_port(config, "SSHPort").unwrap_or(22),
            ssh_key: machine.ssh_key.map(std::path::Path::to_path_buf),
            engine_port: docker_machine_port(config, "EnginePort").unwrap_or(2376),
        };
        Ok(ImportedSettings { settings: generic.settings(), not_imported: Vec::new() })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenericConfig {
    pub ip_address: String,
    pub ssh_user: String,
    pub ssh_port: u16,
    /// The key: before `create`, where the user keeps it; after, the store's copy relative to the store root.
    /// `None` means the ssh-agent.
    pub ssh_key: Option<PathBuf>,
    pub engine_port: u16,
}

fn check_address_value(value: &OptionValue) -> Result<(), String> {
    match value {
        OptionValue::String(address) if address.trim().is_empty() => Ok(()),
        OptionValue::String(address) => check_address(address.trim()),
        _ => Err("takes an address".into()),
    }
}

impl GenericConfig {
    fn check_address(&self) -> Result<(), DriverError> {
        let address = self.ip_address.trim();
        if address.is_empty() {
            return Err(DriverError::invalid(
                "--generic-ip-address",
                "is required: the address of the host to provision (or set GENERIC_IP_ADDRESS)",
            ));
        }
        check_address(address).map_err(|problem| DriverError::invalid("--generic-ip-address", problem))
    }

    fn check(&self) -> Result<(), DriverError> {
        self.check_address()?;
        check_ssh_user(&self.ssh_user).map_err(|problem| DriverError::invalid("--generic-ssh-user", problem))?;
        for (flag, port) in [("--generic-ssh-port", self.ssh_port), ("--generic-engine-port", self.engine_port)] {
            if port == 0 {
                return Err(DriverError::invalid(flag, "must be a nonzero port number from 1 to 65535"));
            }
        }
        if let Some(key) = &self.ssh_key {
            std::fs::File::open(key).map_err(|source| DriverError::KeyUnreadable { path: key.clone(), source })?;
            check_private_key_file(key)
                .map_err(|problem| DriverError::invalid("--generic-ssh-key", format!("{} {problem}", key.display())))?;
        }
        Ok(())
    }
}

impl Driver for GenericConfig {
    fn name(&self) -> &str {
        NAME
    }

    fn settings(&self) -> serde_json::Value {
        settings_to_json(self)
    }

    fn pre_create_check(&self) -> DriverFuture<'_, Result<(), DriverError>> {
        Box::pin(async move { self.check() })
    }

    fn create<'a>(&'a mut self, context: &'a CreateContext<'a>) -> DriverFuture<'a, Result<(), DriverError>> {
        Box::pin(async move {
            let Some(source) = self.ssh_key.clone() else { return Ok(()) };
            let relative = context.machine_directory.join(KEY_FILE_NAME);
            copy_private(&source, &context.store_root.join(&relative))?;
            let public_source = with_extension_appended(&source, "pub");
            if public_source.exists() {
                let public_target = context.store_root.join(with_extension_appended(&relative, "pub"));
                copy_private(&public_source, &public_target)?;
            }
            self.ssh_key = Some(relative);
            Ok(())
        })
    }

    fn ip(&self) -> String {
        self.ip_address.clone()
    }

    fn engine_port(&self) -> u16 {
        self.engine_port
    }

    fn engine_url(&self) -> String {
        tcp_url(&self.ip_address, self.engine_port)
    }

    fn ssh_endpoint(&self) -> Option<SshEndpoint> {
        Some(SshEndpoint {
            host: self.ip_address.clone(),
            port: self.ssh_port,
            user: self.ssh_user.clone(),
            private_key: self.ssh_key.clone(),
            expected_host_key: None,
        })
    }

    /// The key is not part of it: the file names the user's key, the record the store's copy.
    fn host_identity(&self) -> Option<String> {
        Some(format!("{}@{}:{} engine port {}", self.ssh_user, self.ip_address, self.ssh_port, self.engine_port))
    }

    fn state(&self, timeout: Duration) -> DriverFuture<'_, StateReport> {
        Box::pin(async move {
            let (host, port) = (self.ip_address.as_str(), self.ssh_port);
            let refused = format!("the host answers but nothing listens on SSH port {port}");
            state_from_ssh_probe(host, port, timeout, refused).await
        })
    }

    fn remove(&self) -> DriverFuture<'_, Result<(), DriverError>> {
        Box::pin(async { Ok(()) })
    }

    /// An existing host can only be rebooted, by a command the core runs over SSH.
    fn power(&mut self, operation: PowerOperation) -> DriverFuture<'_, Result<PowerOutcome, DriverError>> {
        Box::pin(async move {
            match operation {
                PowerOperation::Restart => Ok(PowerOutcome::RunOverSsh(REBOOT_COMMAND.to_string())),
                _ => Err(DriverError::unsupported(
                    NAME,
                    operation.verb(),
                    "it only reaches an existing host over SSH and cannot power it on or off; use the host's own console (restart works: it reboots over SSH)",
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    #[test]
    fn docker_machine_generic_machines_keep_their_settings() {
        let settings = serde_json::json!({
            "IPAddress": "203.0.113.5", "MachineName": "node1", "SSHUser": "admin", "SSHPort": 2222,
            "SSHKeyPath": "/home/u/.docker/machine/machines/node1/id_rsa", "EnginePort": 2377, "SSHKey": "/home/u/.ssh/id_rsa",
        });
        let key = Path::new("machines/node1/id_ssh");
        let machine =
            DockerMachineHost { name: "node1", driver_name: "generic", config: &settings, ssh_key: Some(key) };
        let imported = GenericKind.import_docker_machine(&machine).unwrap();
        let generic: GenericConfig = serde_json::from_value(imported.settings).unwrap();
        assert_eq!(
            generic,
            GenericConfig { ssh_key: Some(key.into()), ..config_with("203.0.113.5", "admin", 2222, 2377) }
        );
        let defaults = serde_json::json!({"IPAddress": "10.0.0.5"});
        let machine = DockerMachineHost { config: &defaults, ssh_key: None, ..machine };
        let generic: GenericConfig =
            serde_json::from_value(GenericKind.import_docker_machine(&machine).unwrap().settings).unwrap();
        assert_eq!(generic, config("10.0.0.5", None));
        let nowhere = serde_json::json!({"SSHUser": "root"});
        let error = GenericKind.import_docker_machine(&DockerMachineHost { config: &nowhere, ..machine }).unwrap_err();
        assert!(error.to_string().starts_with("IPAddress: "), "{error}");
    }

    fn config_with(address: &str, user: &str, ssh_port: u16, engine_port: u16) -> GenericConfig {
        GenericConfig { ssh_user: user.into(), ssh_port, engine_port, ..config(address, None) }
    }

    fn config(address: &str, key: Option<PathBuf>) -> GenericConfig {
        GenericConfig {
            ip_address: address.into(),
            ssh_user: "root".into(),
            ssh_port: 22,
            ssh_key: key,
            engine_port: 2376,
        }
    }

    #[test]
    fn the_address_is_required_and_checked() {
        let missing = config("", None).check().unwrap_err().to_string();
        assert!(missing.contains("--generic-ip-address") && missing.contains("required"), "{missing}");
        let bad = config("10.0.0.1/24", None).check().unwrap_err().to_string();
        assert!(bad.contains("neither an IP address nor a host name"), "{bad}");
        config("host.example.com", None).check().unwrap();
    }

    #[test]
    fn a_missing_key_is_named() {
        let error = config("10.0.0.1", Some("/nonexistent/key".into())).check().unwrap_err().to_string();
        assert!(error.contains("/nonexistent/key"), "{error}");
    }

    #[test]
    fn a_key_that_is_no_private_key_or_a_folder_is_refused() {
        let folder = std::env::temp_dir().join(format!("rmachine-generic-keys-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        let public = folder.join("id.pub");
        std::fs::write(&public, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA test\n").unwrap();
        let error = config("10.0.0.1", Some(public)).check().unwrap_err().to_string();
        assert!(error.contains("is not an SSH private key") && error.contains("id.pub"), "{error}");
        let error = config("10.0.0.1", Some(folder.clone())).check().unwrap_err().to_string();
        assert!(error.contains("is not a file"), "{error}");
        let private = folder.join("id");
        std::fs::write(&private, "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
            .unwrap();
        config("10.0.0.1", Some(private)).check().unwrap();
        std::fs::remove_dir_all(&folder).unwrap();
    }

    #[test]
    fn a_user_that_could_pass_for_an_option_is_refused() {
        let mut generic = config("10.0.0.1", None);
        for user in ["-oProxyCommand=id", "root;id", "a b", "", "$(id)"] {
            generic.ssh_user = user.into();
            let error = generic.check().unwrap_err().to_string();
            assert!(error.contains("--generic-ssh-user"), "{user}: {error}");
        }
        for user in ["admin", "ec2-user", "jane.doe@corp.example", "svc_deploy"] {
            generic.ssh_user = user.into();
            generic.check().unwrap();
        }
    }

    #[tokio::test]
    async fn create_copies_the_key_privately_and_records_a_relative_path() {
        let store = std::env::temp_dir().join(format!("rmachine-generic-test-{}", std::process::id()));
        let machine = Path::new("machines/node1");
        std::fs::create_dir_all(store.join(machine)).unwrap();
        let key = store.join("user-key");
        std::fs::write(&key, "PRIVATE").unwrap();
        std::fs::write(store.join("user-key.pub"), "PUBLIC").unwrap();
        let mut generic = config("10.0.0.1", Some(key));
        generic
            .create(&CreateContext { store_root: &store, machine_directory: machine, log: &crate::SilentLog })
            .await
            .unwrap();
        assert_eq!(generic.ssh_key.as_deref(), Some(Path::new("machines/node1/id_ssh")));
        let copy = store.join("machines/node1/id_ssh");
        assert_eq!(std::fs::read_to_string(&copy).unwrap(), "PRIVATE");
        assert_eq!(std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(store.join("machines/node1/id_ssh.pub").exists());
        std::fs::remove_dir_all(store).unwrap();
    }

    #[tokio::test]
    async fn only_restart_is_possible_and_it_runs_over_ssh() {
        let mut generic = config("10.0.0.1", None);
        let restart = generic.power(PowerOperation::Restart).await.unwrap();
        assert!(matches!(restart, PowerOutcome::RunOverSsh(command) if command.contains("shutdown -r now")));
        for operation in [PowerOperation::Start, PowerOperation::Stop, PowerOperation::Kill] {
            let error = generic.power(operation).await.unwrap_err().to_string();
            assert!(error.contains(&format!("the generic driver cannot {operation}")), "{error}");
        }
    }

    #[test]
    fn the_url_uses_the_engine_port() {
        assert_eq!(config("10.0.0.1", None).engine_url(), "tcp://10.0.0.1:2376");
        assert_eq!(config("fd00::1", None).engine_url(), "tcp://[fd00::1]:2376");
    }
}
