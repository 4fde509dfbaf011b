//! Tests of the cluster file: the issue's example, defaults and `~`, and errors with their place.

use super::*;
use rmachine_drivers::{DriverEnvironment, GenericConfig};
use std::sync::Arc;

fn registry() -> Registry {
    crate::driver_registry::registry(Arc::new(DriverEnvironment::for_tests(Path::new("/nonexistent-store"))))
}

fn parse_text(text: &str) -> anyhow::Result<ClusterSpec> {
    parse(text, Path::new("/clusters/lab.yaml"), Some(Path::new("/home/ann")), &registry())
}

/// The generic driver's settings a machine of the file will be created with.
fn generic_of(machine: &MachineSpec) -> GenericConfig {
    assert_eq!(machine.driver.name, "generic");
    serde_json::from_value(machine.driver.settings.clone()).unwrap()
}

fn error_of(text: &str) -> String {
    format!("{:#}", parse_text(text).unwrap_err())
}

const EXAMPLE: &str = "\
defaults:
  driver: generic
  engine: { storage-driver: overlay2, userns-remap: default, labels: [env=test] }
machines:
  - name: m1
    role: manager
    generic: { ip-address: 10.211.0.21, ssh-key: ~/.ssh/id_ed25519 }
  - name: w1
    role: worker
    generic: { ip-address: 10.211.0.22, ssh-key: ~/.ssh/id_ed25519 }
swarm: { advertise: private }
";

#[test]
fn the_example_of_the_issue_resolves_every_machine() {
    let spec = parse_text(EXAMPLE).unwrap();
    assert_eq!(spec.name, "lab", "the file stem names the cluster");
    assert_eq!(spec.swarm, Some(SwarmSpec { advertise: Advertise::Private }));
    assert_eq!(spec.machines.len(), 2);
    let m1 = &spec.machines[0];
    assert_eq!(m1.role, Some(Role::Manager));
    assert_eq!(spec.machines[1].role, Some(Role::Worker));
    let generic = generic_of(m1);
    assert_eq!(generic.ip_address, "10.211.0.21");
    assert_eq!(generic.ssh_key.as_deref(), Some(Path::new("/home/ann/.ssh/id_ed25519")));
    assert_eq!((generic.ssh_user.as_str(), generic.ssh_port, generic.engine_port), ("root", 22, 2376));
    assert_eq!(m1.engine.storage_driver.as_deref(), Some("overlay2"));
    assert_eq!(m1.engine.userns_remap.as_deref(), Some("default"));
    assert_eq!(m1.engine.labels, vec!["env=test".to_string()]);
    assert_eq!(m1.ssh_timeout, Duration::from_secs(120));
}

#[test]
fn a_machine_key_replaces_the_default_and_relative_keys_are_beside_the_file() {
    let spec = parse_text(
        "name: prod\ndefaults:\n  driver: generic\n  generic: { ssh-key: keys/id, ssh-user: admin, engine-port: 2380 }\n  engine: { labels: [env=test], opts: [debug=true] }\n  tls-san: [lb.example]\nmachines:\n  - name: a\n    generic: { ip-address: a.example, ssh-port: 2222 }\n    engine: { labels: [zone=1, disk=ssd], install-url: none }\n    engine-timeout: 30\n",
    )
    .unwrap();
    assert_eq!(spec.name, "prod");
    assert_eq!(spec.swarm, None);
    let machine = &spec.machines[0];
    assert_eq!(machine.role, None);
    let generic = generic_of(machine);
    assert_eq!(generic.ssh_key.as_deref(), Some(Path::new("/clusters/keys/id")));
    assert_eq!((generic.ssh_user.as_str(), generic.ssh_port, generic.engine_port), ("admin", 2222, 2380));
    assert_eq!(machine.engine.port, 2380, "the engine port is the driver's");
    assert_eq!(machine.engine.labels, vec!["zone=1".to_string(), "disk=ssd".to_string()]);
    assert_eq!(machine.engine.options, vec!["debug=true".to_string()]);
    assert_eq!(machine.engine.install_url.as_deref(), Some("none"));
    assert_eq!(machine.tls_sans, vec!["lb.example".to_string()]);
    assert_eq!(machine.engine_timeout, Duration::from_secs(30));
}

#[test]
fn an_unknown_key_is_reported_with_file_line_and_column() {
    let text =
        EXAMPLE.replace("ssh-key: ~/.ssh/id_ed25519 }\n  - name: w1", "ssh-kee: ~/.ssh/id_ed25519 }\n  - name: w1");
    let error = error_of(&text);
    assert!(error.starts_with("/clusters/lab.yaml:7:"), "{error}");
    assert!(error.contains("unknown field `ssh-kee`"), "{error}");
    let error = error_of("machines: []\nswarn: {}\n");
    assert!(error.starts_with("/clusters/lab.yaml:2:1:"), "{error}");
}

#[test]
fn bad_values_are_reported_at_their_place() {
    let error = error_of(&EXAMPLE.replace("storage-driver: overlay2", "storage-driver: ext4"));
    assert!(error.starts_with("/clusters/lab.yaml:3:"), "{error}");
    assert!(error.contains("unknown storage driver \"ext4\""), "{error}");
    let error = error_of(&EXAMPLE.replace("role: worker", "role: boss"));
    assert!(error.starts_with("/clusters/lab.yaml:9:11:"), "{error}");
    assert!(error.contains("unknown variant `boss`"), "{error}");
    let error = error_of(&EXAMPLE.replace("labels: [env=test]", "labels: [envtest]"));
    assert!(error.starts_with("/clusters/lab.yaml:3:") && error.contains("KEY=VALUE"), "{error}");
    let error = error_of(&EXAMPLE.replace("ip-address: 10.211.0.22", "ip-address: 10.211.0.22, ssh-port: 0"));
    assert!(error.starts_with("/clusters/lab.yaml:10:") && error.contains("nonzero"), "{error}");
    let error = error_of(&EXAMPLE.replace("name: w1", "name: w_1"));
    assert!(error.starts_with("/clusters/lab.yaml:8:"), "{error}");
    let error = error_of(&EXAMPLE.replace("advertise: private", "advertise: 'not an address'"));
    assert!(error.starts_with("/clusters/lab.yaml:11:") && error.contains("private, public or an address"), "{error}");
}

#[test]
fn checks_across_keys_name_the_machine_and_its_line() {
    let error = error_of(&EXAMPLE.replace("name: w1", "name: m1"));
    assert_eq!(error.lines().next().unwrap(), "/clusters/lab.yaml:8:5: machine 'm1' is declared twice");
    let error =
        error_of(&EXAMPLE.replace("generic: { ip-address: 10.211.0.22, ssh-key: ~/.ssh/id_ed25519 }", "engine: {}"));
    assert!(error.starts_with("/clusters/lab.yaml:8:5: machine 'w1': the generic driver needs"), "{error}");
    let error = error_of(&EXAMPLE.replace("swarm: { advertise: private }\n", ""));
    assert!(error.starts_with("/clusters/lab.yaml:5:5: machine 'm1': `role` needs a `swarm:` section"), "{error}");
    let error = error_of(&EXAMPLE.replace("role: manager", "role: worker"));
    assert!(error.contains("at least one machine with `role: manager`"), "{error}");
    let error = error_of(&EXAMPLE.replace("  driver: generic\n", ""));
    assert!(error.contains("machine 'm1': no driver"), "{error}");
    let error = format!("{:#}", parse(EXAMPLE, Path::new("/clusters/lab.yaml"), None, &registry()).unwrap_err());
    assert!(error.contains("HOME is not set"), "{error}");
}

#[cfg(feature = "aws")]
#[test]
fn aws_machines_take_every_aws_flag_of_create_as_a_key() {
    let text = "defaults:\n  driver: aws\n  aws: { region: eu-west-1, instance-type: t3.medium }\nmachines:\n  - name: m1\n    role: manager\n    aws: { zone: eu-west-1a, open-port: [80, 8080/udp], spot: true, engine-port: 2380 }\nswarm: { advertise: private }\n";
    let spec = parse_text(text).unwrap();
    assert_eq!(spec.machines[0].driver.name, "aws");
    let aws: rmachine_driver_aws::AwsConfig = serde_json::from_value(spec.machines[0].driver.settings.clone()).unwrap();
    assert_eq!(aws.region.as_deref(), Some("eu-west-1"));
    assert_eq!(aws.instance_type, "t3.medium");
    assert_eq!(aws.zone.as_deref(), Some("eu-west-1a"));
    assert_eq!(aws.open_ports, vec!["80".to_string(), "8080/udp".to_string()]);
    assert!(aws.spot && aws.swarm_ports, "a swarm opens its ports");
    assert_eq!((aws.engine_port, spec.machines[0].engine.port), (2380, 2380));
    // Every driver's map is read against its declared options, so an unknown key is reported at its
    // own line (7), as generic keys always were, rather than at the machine's name (5:5).
    let error = error_of(&text.replace("spot: true", "spott: true"));
    assert!(error.starts_with("/clusters/lab.yaml:7:") && error.contains("aws") && error.contains("spott"), "{error}");
}
