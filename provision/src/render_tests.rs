//! Golden-file tests of rendering. To regenerate the files under `tests/golden/` after an
//! intended change: `UPDATE_GOLDEN=1 cargo test -p rmachine-provision render`, then review the diff.

use super::*;
use crate::managed_files::{CA_PATH, SERVER_CERTIFICATE_PATH, SERVER_KEY_PATH};

/// Compares `actual` with the golden file `name`, or rewrites it when UPDATE_GOLDEN is set.
fn assert_golden(name: &str, actual: &str) {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(format!("{}/tests/golden", env!("CARGO_MANIFEST_DIR"))).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{path}: {error} (run with UPDATE_GOLDEN=1 to create it)"));
    assert_eq!(actual, expected, "{name} differs from its golden file (UPDATE_GOLDEN=1 rewrites it)");
}

fn full_options() -> EngineOptions {
    EngineOptions {
        install_url: Some("https://get.docker.com".into()),
        storage_driver: Some("overlay2".into()),
        userns_remap: Some("default".into()),
        labels: vec!["env=staging".into(), "team=platform".into()],
        registry_mirrors: vec!["https://mirror.example.com".into()],
        insecure_registries: vec!["registry.internal:5000".into(), "10.0.0.0/8".into()],
        options: vec![
            "debug=true".into(),
            "max-concurrent-downloads=3".into(),
            "log-level=warn".into(),
            "dns=10.0.0.2".into(),
            "dns=10.0.0.3".into(),
            "log-opt=max-size=10m".into(),
            "default-address-pools=[{\"base\":\"172.30.0.0/16\",\"size\":24}]".into(),
        ],
        env: vec![
            "HTTP_PROXY=http://proxy.internal:3128".into(),
            "NO_PROXY=localhost,127.0.0.1,.internal".into(),
            "ODD=say \"100%\" \\ done".into(),
        ],
        port: 2376,
        ..EngineOptions::default()
    }
}

#[test]
fn daemon_json_full() {
    let text = daemon_json(&full_options(), "generic", Listener::SocketActivation).unwrap();
    assert_golden("daemon-full.json", &text);
}

#[test]
fn daemon_json_minimal() {
    let text = daemon_json(&EngineOptions::default(), "none", Listener::UnixSocket).unwrap();
    assert_golden("daemon-minimal.json", &text);
}

#[test]
fn drop_in_full() {
    let arguments = vec!["--containerd=/run/containerd/containerd.sock".to_string(), "$DOCKER_OPTS".to_string()];
    assert_golden("drop-in-full.conf", &drop_in("/usr/sbin/dockerd", &arguments, &full_options().env));
}

#[test]
fn drop_in_minimal() {
    assert_golden("drop-in-minimal.conf", &drop_in("/usr/bin/dockerd", &[], &[]));
}

#[test]
fn daemon_json_is_sorted_pretty_and_ends_with_a_newline() {
    let text = daemon_json(&full_options(), "generic", Listener::SocketActivation).unwrap();
    assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
    let value: Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(value["hosts"], serde_json::json!(["fd://", "tcp://0.0.0.0:2376"]));
    assert_eq!(value["labels"], serde_json::json!(["env=staging", "team=platform", "provider=generic"]));
    assert_eq!(value["debug"], serde_json::json!(true));
    assert_eq!(value["max-concurrent-downloads"], serde_json::json!(3));
    assert_eq!(value["tlscacert"], CA_PATH);
    assert_eq!(value["tlscert"], SERVER_CERTIFICATE_PATH);
    assert_eq!(value["tlskey"], SERVER_KEY_PATH);
    assert_eq!(value["tls"], true);
    assert_eq!(value["tlsverify"], true);
    assert_eq!(daemon_json(&full_options(), "generic", Listener::SocketActivation).unwrap(), text, "deterministic");
}

#[test]
fn port_and_listener_shape_hosts() {
    let options = EngineOptions { port: 12376, ..EngineOptions::default() };
    let value: Value = serde_json::from_str(&daemon_json(&options, "aws", Listener::UnixSocket).unwrap()).unwrap();
    assert_eq!(value["hosts"], serde_json::json!(["unix:///var/run/docker.sock", "tcp://0.0.0.0:12376"]));
    assert!(value.get("storage-driver").is_none());
    assert!(value.get("userns-remap").is_none());
    assert!(value.get("registry-mirrors").is_none());
}

#[test]
fn a_user_provider_label_replaces_the_default() {
    let options = EngineOptions { labels: vec!["provider=onprem".into()], ..EngineOptions::default() };
    let value: Value = serde_json::from_str(&daemon_json(&options, "generic", Listener::UnixSocket).unwrap()).unwrap();
    assert_eq!(value["labels"], serde_json::json!(["provider=onprem"]));
}

#[test]
fn clashing_options_are_refused_by_rendering_too() {
    let options = EngineOptions { options: vec!["hosts=[]".into()], ..EngineOptions::default() };
    assert!(daemon_json(&options, "generic", Listener::UnixSocket).is_err());
}

#[test]
fn drop_in_escapes_environment_values() {
    let text = drop_in("/usr/bin/dockerd", &[], &["A=%h \"q\" \\".to_string()]);
    assert!(text.contains("Environment=\"A=%%h \\\"q\\\" \\\\\"\n"), "{text}");
    assert!(text.contains("\nExecStart=\nExecStart=/usr/bin/dockerd\n"), "{text}");
    assert!(!text.contains("{{"), "{text}");
}

#[test]
fn ssh_transport_opens_no_tcp_port_and_drops_the_tls_keys() {
    let options = EngineOptions { transport: crate::EngineTransport::Ssh, ..EngineOptions::default() };
    let value: Value =
        serde_json::from_str(&daemon_json(&options, "generic", Listener::SocketActivation).unwrap()).unwrap();
    assert_eq!(value["hosts"], serde_json::json!(["fd://"]));
    for key in ["tls", "tlscacert", "tlscert", "tlskey", "tlsverify"] {
        assert!(value.get(key).is_none(), "{key} left in {value}");
    }
}
