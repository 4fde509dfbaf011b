//! Tests of the config.json reader on the hand-written fixtures of tests/fixtures/docker-machine
//! (one per ConfigVersion and driver, an unknown field, a truncated file) and on edge cases.

use super::*;

const STORE: &str = "/home/u/.docker/machine";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/docker-machine/machines/{name}/config.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn host(name: &str) -> Host {
    parse(&fixture(name), Path::new(STORE)).unwrap_or_else(|error| panic!("{name}: {error}"))
}

#[test]
fn version_3_generic_reads_every_option() {
    let host = host("gen3");
    assert_eq!(host.config_version, 3);
    assert_eq!(host.name.as_deref(), Some("gen3"));
    assert_eq!(host.driver_name, "generic");
    assert_eq!(host.driver["IPAddress"], "127.0.0.1");
    assert_eq!(host.driver["StorePath"], "/home/u/.docker/machine", "version 3 keeps its own StorePath");
    assert_eq!(host.engine.labels, ["env=test", "team=web"]);
    assert_eq!(host.engine.arbitrary_flags, ["userns-remap=default", "log-opt=max-size=10m"]);
    assert_eq!(host.engine.registry_mirror, ["https://mirror.local"]);
    assert_eq!(host.engine.insecure_registry, ["registry.local:5000"]);
    assert_eq!(host.engine.env, ["HTTP_PROXY=http://proxy.local:3128"]);
    assert_eq!(host.engine.storage_driver, "overlay2");
    assert_eq!(host.engine.install_url, "https://get.docker.com");
    assert_eq!(host.auth.ca_cert_path, "/home/u/.docker/machine/certs/ca.pem");
    assert_eq!(host.auth.ca_private_key_path, "/home/u/.docker/machine/certs/ca-key.pem");
    assert_eq!(host.auth.server_cert_path, "/home/u/.docker/machine/machines/gen3/server.pem");
    assert_eq!(host.auth.server_cert_sans, ["gen3.example"]);
    assert!(!host.swarm.is_swarm);
    assert!(host.unknown_fields.is_empty(), "{:?}", host.unknown_fields);
}

#[test]
fn version_2_none_gets_its_store_path_injected() {
    let host = host("none2");
    assert_eq!(host.config_version, 2);
    assert_eq!(host.driver_name, "none");
    assert_eq!(host.driver["URL"], "tcp://127.0.0.1:1");
    assert_eq!(host.driver["StorePath"], STORE, "the migration to 3 adds the store's folder");
    assert!(host.engine.labels.is_empty(), "nulls are empty lists");
}

#[test]
fn version_1_reads_its_names_and_ca_key_from_the_older_fields() {
    let host = host("gen1");
    assert_eq!(host.config_version, 1);
    assert_eq!(host.name.as_deref(), Some("gen1"), "version 1 names the machine in the driver only");
    assert_eq!(host.auth.ca_private_key_path, "/home/u/.docker/machine/certs/ca-key.pem");
    assert_eq!(host.engine.labels, ["old=yes"]);
    assert_eq!(host.driver["StorePath"], STORE);
}

#[test]
fn version_0_is_flat_and_drops_its_engine_options_as_docker_machine_did() {
    let host = host("gen0");
    assert_eq!(host.config_version, 0);
    assert_eq!(host.auth.ca_cert_path, "/home/u/.docker/machine/certs/ca.pem");
    assert_eq!(host.auth.ca_private_key_path, "/home/u/.docker/machine/certs/ca-key.pem");
    assert_eq!(host.auth.server_cert_path, "/home/u/.docker/machine/machines/gen0/server.pem");
    assert!(host.swarm.master && host.swarm.is_swarm);
    assert_eq!(host.swarm.discovery, "token://abc");
    assert_eq!(host.engine, EngineOptions::default());
}

#[test]
fn amazonec2_and_plugin_drivers_keep_their_driver_object_whole() {
    let aws = host("aws3");
    assert_eq!(aws.driver_name, "amazonec2");
    assert_eq!(aws.driver["InstanceId"], "i-0123456789abcdef0");
    assert_eq!(aws.driver["SecurityGroupNames"], serde_json::json!(["docker-machine"]));
    let plugin = host("hetzner3");
    assert_eq!(plugin.driver_name, "hetzner");
    assert_eq!(plugin.driver["ServerType"], "cx22");
}

#[test]
fn unknown_fields_are_kept_aside() {
    let host = host("odd3");
    assert_eq!(host.unknown_fields, ["Flavour", "Provisioned"]);
    assert_eq!(host.driver_name, "generic");
}

#[test]
fn broken_files_say_what_is_wrong() {
    let truncated = parse(&fixture("broken"), Path::new(STORE)).unwrap_err();
    assert!(matches!(truncated, ConfigError::NotJson { .. }), "{truncated:?}");
    assert!(truncated.to_string().contains("EOF") && truncated.to_string().contains("truncated"), "{truncated}");
    let future = parse(&fixture("future4"), Path::new(STORE)).unwrap_err();
    assert_eq!(future, ConfigError::FromTheFuture { found: 4 });
    let cases: [(&str, ConfigError); 5] = [
        ("[1]", ConfigError::NotObject),
        (r#"{"ConfigVersion": 3, "Driver": {}}"#, ConfigError::Missing { field: "DriverName".into() }),
        (r#"{"ConfigVersion": 3, "DriverName": "generic"}"#, ConfigError::Missing { field: "Driver".into() }),
        (r#"{"ConfigVersion": "3", "DriverName": "x", "Driver": {}}"#, wrong("ConfigVersion", "a number")),
        (
            r#"{"ConfigVersion": 3, "DriverName": "x", "Driver": {}, "HostOptions": {"EngineOptions": {"Labels": "a=b"}}}"#,
            wrong("HostOptions.EngineOptions.Labels", "a list of strings"),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parse(text.as_bytes(), Path::new(STORE)).unwrap_err(), expected, "{text}");
    }
}
