//! Tests of engine option validation and `--engine-opt` value parsing.

use super::*;
use serde_json::json;

fn options_with(options: &[&str]) -> EngineOptions {
    EngineOptions { options: options.iter().map(|option| option.to_string()).collect(), ..EngineOptions::default() }
}

fn problems(options: &EngineOptions) -> Vec<String> {
    match options.validate() {
        Ok(()) => Vec::new(),
        Err(ProvisionError::InvalidEngineOptions { problems }) => problems,
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[test]
fn default_port_is_2376_and_defaults_are_valid() {
    let options = EngineOptions::default();
    assert_eq!(options.port, 2376);
    assert_eq!(options.validate().map_err(|error| error.to_string()), Ok(()));
}

#[test]
fn deserializes_kebab_case_with_defaults() {
    let options: EngineOptions = serde_json::from_value(json!({
        "install-url": "none",
        "storage-driver": "overlay2",
        "registry-mirrors": ["https://mirror.example"],
    }))
    .unwrap();
    assert_eq!(options.install_url.as_deref(), Some("none"));
    assert_eq!(options.storage_driver.as_deref(), Some("overlay2"));
    assert_eq!(options.port, 2376);
    let round_trip: EngineOptions = serde_json::from_str(&serde_json::to_string(&options).unwrap()).unwrap();
    assert_eq!(round_trip, options);
}

#[test]
fn option_values_parse_as_json_when_they_can() {
    assert_eq!(parse_value("true"), json!(true));
    assert_eq!(parse_value("3"), json!(3));
    assert_eq!(parse_value("1.5"), json!(1.5));
    assert_eq!(parse_value("[\"a\",\"b\"]"), json!(["a", "b"]));
    assert_eq!(parse_value("{\"a\":1}"), json!({"a": 1}));
    assert_eq!(parse_value("\"quoted\""), json!("quoted"));
    assert_eq!(parse_value("debug"), json!("debug"));
    assert_eq!(parse_value("172.17.0.1/16"), json!("172.17.0.1/16"));
    assert_eq!(parse_value(""), json!(""));
    assert_eq!(parse_value("/var/lib/docker"), json!("/var/lib/docker"));
}

#[test]
fn options_become_daemon_json_keys() {
    let keys = options_with(&[
        "debug=true",
        "max-concurrent-downloads=3",
        "log-level=warn",
        "default-runtime=runc",
        "mtu=1450",
    ])
    .daemon_options()
    .unwrap();
    assert_eq!(keys["debug"], json!(true));
    assert_eq!(keys["max-concurrent-downloads"], json!(3));
    assert_eq!(keys["log-level"], json!("warn"));
    assert_eq!(keys["default-runtime"], json!("runc"));
    assert_eq!(keys["mtu"], json!(1450));
}

#[test]
fn a_repeated_key_becomes_a_list() {
    let keys = options_with(&["default-gateway=10.0.0.1", "default-gateway=10.0.0.2", "default-gateway=10.0.0.3"])
        .daemon_options()
        .unwrap();
    assert_eq!(keys["default-gateway"], json!(["10.0.0.1", "10.0.0.2", "10.0.0.3"]));
    let keys = options_with(&["x=1", "x=2"]).daemon_options().unwrap();
    assert_eq!(keys["x"], json!([1, 2]));
}

#[test]
fn list_keys_are_always_lists_and_flag_names_are_translated() {
    let keys = options_with(&[
        "dns=8.8.8.8",
        "dns=[\"1.1.1.1\"]",
        "exec-opt=native.cgroupdriver=systemd",
        "log-opt=max-size=10m",
        "log-opts={\"max-file\":3}",
    ])
    .daemon_options()
    .unwrap();
    assert_eq!(keys["dns"], json!(["8.8.8.8", "1.1.1.1"]));
    assert_eq!(keys["exec-opts"], json!(["native.cgroupdriver=systemd"]));
    assert_eq!(keys["log-opts"], json!({"max-size": "10m", "max-file": "3"}));
    assert!(!keys.contains_key("exec-opt"));
}

#[test]
fn options_rmachine_sets_itself_are_refused_with_the_flag_to_use() {
    let found = problems(&options_with(&[
        "storage-driver=vfs",
        "label=a=b",
        "hosts=[\"tcp://0.0.0.0:2375\"]",
        "tlsverify=false",
        "userns-remap=default",
        "insecure-registry=r:5000",
    ]));
    assert_eq!(found.len(), 6, "{found:#?}");
    assert!(found[0].contains("--engine-storage-driver"), "{}", found[0]);
    assert!(found[1].contains("--engine-label"), "{}", found[1]);
    assert!(found[2].contains("engine port"), "{}", found[2]);
    assert!(found[3].contains("TLS"), "{}", found[3]);
    assert!(found[4].contains("--engine-userns-remap"), "{}", found[4]);
    assert!(found[5].contains("--engine-insecure-registry"), "{}", found[5]);
}

#[test]
fn malformed_pairs_are_refused() {
    let found = problems(&options_with(&["debug", "=x", "--debug=true", "a b=c", "k=line\nbreak"]));
    assert_eq!(found.len(), 5, "{found:#?}");
    assert!(found[0].contains("KEY=VALUE"));
    let found = problems(&EngineOptions {
        labels: vec!["novalue".into(), "ok=".into(), "env=prod".into()],
        env: vec!["HTTP_PROXY=http://p:3128".into(), "1BAD=x".into(), "NOEQUALS".into()],
        ..EngineOptions::default()
    });
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].contains("novalue"));
    assert!(found[1].contains("1BAD"));
    assert!(found[2].contains("NOEQUALS"));
}

#[test]
fn storage_drivers_are_checked_by_name() {
    for driver in ["overlay2", "fuse-overlayfs", "btrfs", "zfs", "vfs"] {
        let options = EngineOptions { storage_driver: Some(driver.into()), ..EngineOptions::default() };
        assert!(options.validate().is_ok(), "{driver}");
    }
    // Removed drivers pass here: whether the host's engine still has them is decided on the host.
    for removed in ["devicemapper", "aufs", "overlay"] {
        let options = EngineOptions { storage_driver: Some(removed.into()), ..EngineOptions::default() };
        assert!(options.validate().is_ok(), "{removed}");
    }
    let unknown = problems(&EngineOptions { storage_driver: Some("ext4".into()), ..EngineOptions::default() });
    assert!(unknown[0].contains("overlay2"), "{unknown:?}");
}

#[test]
fn userns_remap_shapes() {
    for good in ["default", "dockremap", "user:group", "1000:1000", "svc_docker"] {
        let options = EngineOptions { userns_remap: Some(good.into()), ..EngineOptions::default() };
        assert!(options.validate().is_ok(), "{good}");
    }
    for bad in ["", "a:b:c", "user:", ":group", "-user", "has space"] {
        let options = EngineOptions { userns_remap: Some(bad.into()), ..EngineOptions::default() };
        assert!(options.validate().is_err(), "{bad:?}");
    }
}

#[test]
fn urls_registries_and_port() {
    let found = problems(&EngineOptions {
        install_url: Some("get.docker.com".into()),
        registry_mirrors: vec!["mirror.example".into(), "https://ok.example".into()],
        insecure_registries: vec!["http://r:5000".into(), "r:5000".into(), "10.0.0.0/8".into()],
        port: 0,
        ..EngineOptions::default()
    });
    assert_eq!(found.len(), 4, "{found:#?}");
    let fine = EngineOptions { install_url: Some("https://get.docker.com".into()), ..EngineOptions::default() };
    assert!(fine.validate().is_ok());
    let never = EngineOptions { install_url: Some("none".into()), ..EngineOptions::default() };
    assert!(never.validate().is_ok());
}

#[test]
fn the_error_lists_every_problem() {
    let error = EngineOptions { port: 0, options: vec!["debug".into()], ..EngineOptions::default() }
        .validate()
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("invalid engine options: "), "{error}");
    assert!(error.contains("port") && error.contains("\"debug\""), "{error}");
}

#[test]
fn a_runtime_binary_that_cannot_be_read_is_found_before_anything_is_created() {
    let missing = EngineOptions { runtime_binary: Some("/nonexistent/youki".into()), ..EngineOptions::default() };
    let error = missing.check_local_files().unwrap_err().to_string();
    assert!(error.contains("cannot read the runtime binary /nonexistent/youki (--engine-runtime-binary)"), "{error}");
    let folder = EngineOptions { runtime_binary: Some("/".into()), ..EngineOptions::default() };
    assert!(folder.check_local_files().unwrap_err().to_string().contains("it is not a file"));
    let present = EngineOptions { runtime_binary: Some("/bin/sh".into()), ..EngineOptions::default() };
    present.check_local_files().unwrap();
    EngineOptions::default().check_local_files().unwrap();
}
