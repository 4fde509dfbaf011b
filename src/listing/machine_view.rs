//! A machine as docker-machine's `inspect` showed it (its `Host`: `.Name`, `.DriverName`,
//! `.Driver.IPAddress`, `.Driver.SSHUser`…, `.HostOptions.EngineOptions.*`,
//! `.HostOptions.AuthOptions.*` with absolute paths), filled from rmachine's record and what its
//! driver reports (address, SSH endpoint, engine port), merged with the record's own fields
//! (`.name`, `.driver.settings.ip_address`…) into the one document `inspect` prints and its
//! templates read. A pure function of the machine and the store's root.

use crate::store::{MachineRecord, Store};
use rmachine_drivers::{DOCKER_MACHINE_PROTOCOL, Driver};
use rmachine_provision::EngineTransport;
use serde_json::{Value, json};
use std::path::Path;

/// The record's JSON with docker-machine's fields beside its own. `driver` is `None` when the
/// machine's driver cannot be opened (a plugin that is not installed).
pub fn inspect_document(record: &MachineRecord, driver: Option<&dyn Driver>, store_root: &Path) -> Value {
    let mut document = serde_json::to_value(record).expect("a record always serialises");
    if let (Value::Object(fields), Value::Object(view)) =
        (&mut document, docker_machine_view(record, driver, store_root))
    {
        fields.extend(view);
    }
    document
}

/// docker-machine's `Host` for the machine (ConfigVersion 3).
pub fn docker_machine_view(record: &MachineRecord, driver: Option<&dyn Driver>, store_root: &Path) -> Value {
    let name = &record.name;
    let folder = store_root.join(Store::relative_machine_directory(name));
    let path = |path: std::path::PathBuf| path.display().to_string();
    let over_ssh = driver.is_some_and(|driver| driver.ssh_endpoint().is_some());
    let remote = |file: &str| if over_ssh { format!("/etc/docker/{file}") } else { String::new() };
    json!({
        "ConfigVersion": 3,
        "Name": name,
        "DriverName": record.driver.name,
        "Driver": driver_view(record, driver, store_root),
        "HostOptions": {
            "Driver": "",
            "Memory": 0,
            "Disk": 0,
            "EngineOptions": engine_view(record),
            "SwarmOptions": {
                "IsSwarm": false, "Address": "", "Discovery": "", "Agent": false, "Master": false, "Host": "",
                "Image": "", "Strategy": "", "Heartbeat": 0, "Overcommit": 0, "ArbitraryFlags": [],
                "ArbitraryJoinFlags": [], "Env": [], "IsExperimental": false
            },
            "AuthOptions": {
                "CertDir": path(store_root.join("certs")),
                "CaCertPath": path(store_root.join(crate::machine_access::CA_CERTIFICATE)),
                "CaPrivateKeyPath": path(store_root.join(crate::machine_access::CA_KEY)),
                "CaCertRemotePath": remote("ca.pem"),
                "ServerCertPath": path(folder.join("server.pem")),
                "ServerKeyPath": path(folder.join("server-key.pem")),
                "ClientKeyPath": path(store_root.join(crate::machine_access::CLIENT_KEY)),
                "ServerCertRemotePath": remote("server.pem"),
                "ServerKeyRemotePath": remote("server-key.pem"),
                "ClientCertPath": path(store_root.join(crate::machine_access::CLIENT_CERTIFICATE)),
                "ServerCertSANs": record.tls_sans,
                "StorePath": path(folder),
            },
        },
    })
}

/// docker-machine's `Driver`: the BaseDriver fields from what the driver reports, over the
/// configuration docker-machine kept for a plugin's machine.
fn driver_view(record: &MachineRecord, driver: Option<&dyn Driver>, store_root: &Path) -> Value {
    let settings = &record.driver.settings;
    let plugin_config = settings
        .get("config")
        .and_then(Value::as_str)
        .filter(|_| settings.get("protocol").and_then(Value::as_str) == Some(DOCKER_MACHINE_PROTOCOL))
        .and_then(|config| serde_json::from_str::<Value>(config).ok());
    let mut view = match plugin_config {
        Some(Value::Object(config)) => config,
        _ => serde_json::Map::new(),
    };
    view.insert("MachineName".into(), json!(record.name));
    view.insert("StorePath".into(), json!(store_root.display().to_string()));
    if let Some(driver) = driver {
        let endpoint = driver.ssh_endpoint();
        let key = endpoint.as_ref().and_then(|endpoint| endpoint.private_key.as_ref());
        view.insert("IPAddress".into(), json!(driver.ip()));
        view.insert("SSHUser".into(), json!(endpoint.as_ref().map_or("", |endpoint| endpoint.user.as_str())));
        view.insert("SSHPort".into(), json!(endpoint.as_ref().map_or(0, |endpoint| endpoint.port)));
        view.insert(
            "SSHKeyPath".into(),
            json!(key.map_or(String::new(), |key| store_root.join(key).display().to_string())),
        );
        view.insert("EnginePort".into(), json!(driver.engine_port()));
    }
    for (field, empty) in [("SwarmMaster", json!(false)), ("SwarmHost", json!("")), ("SwarmDiscovery", json!(""))] {
        view.entry(field).or_insert(empty);
    }
    Value::Object(view)
}

/// docker-machine's `EngineOptions`; rmachine's flag-less settings (userns-remap) go where
/// docker-machine users put them, in `ArbitraryFlags`.
fn engine_view(record: &MachineRecord) -> Value {
    let engine = &record.engine;
    let mut flags = engine.options.clone();
    if let Some(remap) = &engine.userns_remap {
        flags.push(format!("userns-remap={remap}"));
    }
    json!({
        "ArbitraryFlags": flags,
        "Dns": null,
        "GraphDir": "",
        "Env": engine.env,
        "Ipv6": false,
        "InsecureRegistry": engine.insecure_registries,
        "Labels": engine.labels,
        "LogLevel": "",
        "StorageDriver": engine.storage_driver.clone().unwrap_or_default(),
        "SelinuxEnabled": false,
        "TlsVerify": engine.transport == EngineTransport::Tls,
        "RegistryMirror": engine.registry_mirrors,
        "InstallURL": engine.install_url.clone().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::Template;
    use crate::store::DriverRecord;
    use rmachine_drivers::{GenericConfig, NoneConfig};
    use rmachine_provision::EngineOptions;

    fn generic_machine() -> (MachineRecord, GenericConfig) {
        let generic = GenericConfig {
            ip_address: "10.0.0.5".into(),
            ssh_user: "admin".into(),
            ssh_port: 2222,
            ssh_key: Some("machines/node1/id_ssh".into()),
            engine_port: 2376,
        };
        let engine = EngineOptions {
            labels: vec!["env=test".into()],
            storage_driver: Some("overlay2".into()),
            userns_remap: Some("default".into()),
            options: vec!["debug=true".into()],
            registry_mirrors: vec!["https://mirror.local".into()],
            insecure_registries: vec!["registry.local:5000".into()],
            env: vec!["A=B".into()],
            install_url: Some("https://get.docker.com".into()),
            ..EngineOptions::default()
        };
        let driver = DriverRecord { name: "generic".into(), settings: generic.settings() };
        (MachineRecord::new("node1", driver, engine, vec!["node1.example".into()]), generic)
    }

    fn field(document: &Value, template: &str) -> String {
        Template::parse(template).unwrap().render(document).unwrap()
    }

    #[test]
    fn docker_machine_fields_come_from_the_driver_and_the_record() {
        let (record, generic) = generic_machine();
        let document = inspect_document(&record, Some(&generic), Path::new("/store"));
        let expected = [
            ("{{.Name}}", "node1"),
            ("{{.DriverName}}", "generic"),
            ("{{.Driver.IPAddress}}", "10.0.0.5"),
            ("{{.Driver.SSHUser}}", "admin"),
            ("{{.Driver.SSHPort}}", "2222"),
            ("{{.Driver.SSHKeyPath}}", "/store/machines/node1/id_ssh"),
            ("{{.Driver.MachineName}}", "node1"),
            ("{{.Driver.EnginePort}}", "2376"),
            ("{{.HostOptions.EngineOptions.Labels}}", "[env=test]"),
            ("{{.HostOptions.EngineOptions.StorageDriver}}", "overlay2"),
            ("{{json .HostOptions.EngineOptions.InsecureRegistry}}", "[\"registry.local:5000\"]"),
            ("{{index .HostOptions.EngineOptions.RegistryMirror 0}}", "https://mirror.local"),
            ("{{.HostOptions.EngineOptions.Env}}", "[A=B]"),
            ("{{json .HostOptions.EngineOptions.ArbitraryFlags}}", "[\"debug=true\",\"userns-remap=default\"]"),
            ("{{.HostOptions.EngineOptions.InstallURL}}", "https://get.docker.com"),
            ("{{.HostOptions.AuthOptions.CaCertPath}}", "/store/certs/ca.pem"),
            ("{{.HostOptions.AuthOptions.ClientCertPath}}", "/store/certs/cert.pem"),
            ("{{.HostOptions.AuthOptions.ServerCertPath}}", "/store/machines/node1/server.pem"),
            ("{{.HostOptions.AuthOptions.ServerCertRemotePath}}", "/etc/docker/server.pem"),
            ("{{.HostOptions.AuthOptions.ServerCertSANs}}", "[node1.example]"),
            // rmachine's own fields beside them
            ("{{.name}} {{.driver.settings.ip_address}} {{.engine.labels}}", "node1 10.0.0.5 [env=test]"),
        ];
        for (template, value) in expected {
            assert_eq!(field(&document, template), value, "{template}");
        }
    }

    #[test]
    fn machines_without_ssh_or_without_their_driver_still_have_the_fields() {
        let none = NoneConfig { url: "tcp://10.0.0.9:2375".into() };
        let record = MachineRecord::new(
            "n",
            DriverRecord { name: "none".into(), settings: none.settings() },
            EngineOptions::default(),
            vec![],
        );
        let document = inspect_document(&record, Some(&none), Path::new("/s"));
        assert_eq!(
            field(&document, "{{.Driver.IPAddress}}:{{.Driver.EnginePort}} [{{.Driver.SSHUser}}]"),
            "10.0.0.9:2375 []"
        );
        assert_eq!(field(&document, "{{.HostOptions.AuthOptions.CaCertRemotePath}}|"), "|");

        let config = json!({"IPAddress": "192.0.2.7", "APIToken": "x", "MachineName": "old"}).to_string();
        let plugin_settings = json!({"protocol": DOCKER_MACHINE_PROTOCOL, "machine": "h", "config": config});
        let record = MachineRecord::new(
            "h",
            DriverRecord { name: "hetzner".into(), settings: plugin_settings },
            EngineOptions::default(),
            vec![],
        );
        let document = inspect_document(&record, None, Path::new("/s"));
        assert_eq!(
            field(&document, "{{.DriverName}} {{.Driver.IPAddress}} {{.Driver.MachineName}}"),
            "hetzner 192.0.2.7 h"
        );
    }
}
