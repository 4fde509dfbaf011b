//! The AWS driver against a real EC2 API server (moto, started per test on a free port): every
//! lifecycle step is checked by asking moto what exists. All the way through: moto gives the
//! instance a private IP in a subnet of the test bridge's network, the harness brings up a test
//! host at that IP with the key rmachine generated, and `create` ends with an engine that
//! `docker info` reaches over TLS. Needs root (test hosts) and .ci/run's moto virtual environment.

mod common;
mod moto;

use common::{TestHost, fails, succeeds, text};
use moto::{
    MotoServer, block_on, bridge_subnet, instances, key_pair_names, live_instances, security_groups_named, tag,
};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn rmachine_command(moto: &MotoServer, store: &Path, args: &[&str]) -> Command {
    let mut command = common::rmachine_command(store);
    command.args(args).env_remove("AWS_PROFILE");
    for (name, value) in moto.aws_env() {
        command.env(name, value);
    }
    command
}

fn rmachine(moto: &MotoServer, store: &Path, args: &[&str]) -> Output {
    rmachine_command(moto, store, args).stdin(Stdio::null()).output().expect("rmachine runs")
}

fn state_of(moto: &MotoServer, instance_id: &str) -> String {
    let instance =
        instances(&moto.ec2()).into_iter().find(|instance| instance.instance_id() == Some(instance_id)).unwrap();
    instance.state().unwrap().name().unwrap().as_str().to_string()
}

/// The newest al2023 x86_64 image moto has, as the driver should pick it.
fn newest_al2023(moto: &MotoServer) -> String {
    let images = block_on(
        moto.ec2()
            .describe_images()
            .owners("137112412989")
            .filters(moto::filter("name", "al2023-ami-2023.*-kernel-*-x86_64"))
            .send(),
    )
    .unwrap();
    let mut found: Vec<(String, String)> = images
        .images()
        .iter()
        .map(|image| {
            (format!("{:?}{}", image.creation_date(), image.name().unwrap()), image.image_id().unwrap().to_string())
        })
        .collect();
    found.sort();
    found.last().expect("moto ships al2023 images").1.clone()
}

/// Waits until `create` has launched: the machine's public key is in the store and moto reports
/// its instance with a private IP. Returns (instance id, IP).
fn wait_for_launch(moto: &MotoServer, store: &Path, name: &str, child: &mut Child) -> (String, String) {
    let public_key = store.join("machines").join(name).join("id_ed25519.pub");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("create ended ({status}) before the instance was seen");
        }
        let launched = live_instances(&moto.ec2()).into_iter().find(|instance| tag(instance, "Name") == Some(name));
        if let Some(instance) = launched
            && let Some(ip) = instance.private_ip_address()
            && public_key.exists()
        {
            return (instance.instance_id().unwrap().to_string(), ip.to_string());
        }
        assert!(Instant::now() < deadline, "no instance for {name} in moto within 120s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn create_runs_all_the_way_through_at_the_private_ip_moto_assigns_and_rm_leaves_nothing() {
    let moto = MotoServer::start();
    let ec2 = moto.ec2();
    let (vpc_id, subnet_id) = bridge_subnet(&ec2, "10.211.0.128/26");
    common::net_up();
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");

    let started = Instant::now();
    let mut create = rmachine_command(
        &moto,
        &store,
        &[
            "create",
            "--driver",
            "amazonec2",
            "--aws-subnet-id",
            &subnet_id,
            "--aws-use-private-address",
            "--aws-image-family",
            "al2023",
            "--aws-ssh-user",
            "root",
            "--aws-tags",
            "team=a4",
            "--ssh-timeout",
            "300",
            "a4-node",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let (instance_id, ip) = wait_for_launch(&moto, &store, "a4-node", &mut create);
    eprintln!(
        "figure: create against moto, from start to a running instance with an address: {:.2}s",
        started.elapsed().as_secs_f64()
    );
    assert!(ip.starts_with("10.211.0.") && ip.rsplit('.').next().unwrap().parse::<u8>().unwrap() >= 128, "{ip}");
    let public_key = store.join("machines/a4-node/id_ed25519.pub");
    let host = TestHost::start("a4-node", &ip, &public_key, true);
    let created = create.wait_with_output().unwrap();
    succeeds("create", created.clone());
    eprintln!("create all the way through took {:.1}s: {}", started.elapsed().as_secs_f64(), text(&created.stderr));

    // The engine answers over TLS with what `env` printed.
    let info = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -e; eval \"$('{}' -s '{}' env a4-node)\"; docker info --format '{{{{json .Labels}}}}'",
            env!("CARGO_BIN_EXE_rmachine"),
            store.display()
        ))
        .envs(moto.aws_env())
        .env_remove("AWS_PROFILE")
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap();
    let labels = succeeds("docker info", info);
    assert!(labels.contains("provider=aws"), "{labels}");

    // What moto holds: one tagged instance from the newest al2023 image with IMDSv2 required, our
    // key pair, and a group with SSH and the engine port only.
    let instance =
        instances(&ec2).into_iter().find(|instance| instance.instance_id() == Some(instance_id.as_str())).unwrap();
    assert_eq!(instance.state().unwrap().name().unwrap().as_str(), "running");
    assert_eq!(tag(&instance, "Name"), Some("a4-node"));
    assert_eq!(tag(&instance, "team"), Some("a4"));
    assert!(tag(&instance, "rmachine:machine").is_some_and(|token| !token.is_empty()));
    assert_eq!(instance.image_id(), Some(newest_al2023(&moto).as_str()));
    assert_eq!(instance.subnet_id(), Some(subnet_id.as_str()));
    let key_name = instance.key_name().unwrap().to_string();
    assert!(key_name.starts_with("rmachine-a4-node-"), "{key_name}");
    assert_eq!(key_pair_names(&ec2), vec![key_name.clone()]);
    let groups = security_groups_named(&ec2, "rmachine");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].vpc_id(), Some(vpc_id.as_str()));
    let mut ports: Vec<(String, i32)> = groups[0]
        .ip_permissions()
        .iter()
        .map(|permission| (permission.ip_protocol().unwrap().to_string(), permission.from_port().unwrap()))
        .collect();
    ports.sort();
    assert_eq!(ports, vec![("tcp".to_string(), 22), ("tcp".to_string(), 2376)]);
    assert_eq!(instance.security_groups()[0].group_id(), groups[0].group_id());
    let metadata = instance.metadata_options().expect("moto reports the metadata options");
    assert_eq!(metadata.http_tokens().map(|tokens| tokens.as_str()), Some("required"));

    // Credentials never reach the store.
    let record = std::fs::read_to_string(store.join("machines/a4-node/machine.json")).unwrap();
    assert!(!record.contains("testing"), "{record}");
    assert!(record.contains(moto::REGION) && record.contains(&moto.url), "{record}");

    // Lifecycle, each step checked in moto.
    assert_eq!(succeeds("status", rmachine(&moto, &store, &["status", "a4-node"])).trim(), "Running");
    succeeds("stop", rmachine(&moto, &store, &["stop", "a4-node"]));
    assert_eq!(state_of(&moto, &instance_id), "stopped");
    assert_eq!(succeeds("status", rmachine(&moto, &store, &["status", "a4-node"])).trim(), "Stopped");
    succeeds("start", rmachine(&moto, &store, &["start", "a4-node"]));
    assert_eq!(state_of(&moto, &instance_id), "running");
    succeeds("restart", rmachine(&moto, &store, &["restart", "a4-node"]));
    assert_eq!(state_of(&moto, &instance_id), "running");
    succeeds("kill", rmachine(&moto, &store, &["kill", "a4-node"]));
    assert_eq!(state_of(&moto, &instance_id), "stopped");

    succeeds("rm", rmachine(&moto, &store, &["rm", "-y", "a4-node"]));
    assert_eq!(state_of(&moto, &instance_id), "terminated");
    assert!(live_instances(&ec2).is_empty());
    assert!(key_pair_names(&ec2).is_empty(), "{:?}", key_pair_names(&ec2));
    assert!(security_groups_named(&ec2, "rmachine").is_empty());
    assert!(!store.join("machines/a4-node").exists());
    host.stop();
}

#[test]
fn a_create_nobody_answers_terminates_its_instance_and_deletes_its_key_pair() {
    let moto = MotoServer::start();
    let ec2 = moto.ec2();
    let (_, subnet_id) = bridge_subnet(&ec2, "10.211.0.176/28");
    common::net_up();
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let started = Instant::now();
    let error = fails(
        "create",
        rmachine(
            &moto,
            &store,
            &[
                "create",
                "--driver",
                "aws",
                "--aws-subnet-id",
                &subnet_id,
                "--aws-use-private-address",
                "--aws-image-family",
                "al2023",
                "--aws-ssh-timeout",
                "3",
                "a4-fail",
            ],
        ),
    );
    eprintln!(
        "figure: a create that fails at SSH (3s timeout) and cleans up took {:.2}s",
        started.elapsed().as_secs_f64()
    );
    assert!(error.contains("did not answer SSH") && error.contains("nothing was left behind"), "{error}");
    let all = instances(&ec2);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].state().unwrap().name().unwrap().as_str(), "terminated");
    assert_eq!(all[0].image_id(), Some(newest_al2023(&moto).as_str()));
    assert!(key_pair_names(&ec2).is_empty(), "{:?}", key_pair_names(&ec2));
    assert!(security_groups_named(&ec2, "rmachine").is_empty());
    assert!(!store.join("machines/a4-fail").exists());
}

#[test]
fn api_errors_are_one_line_with_the_aws_code_and_leave_nothing() {
    let moto = MotoServer::start();
    let ec2 = moto.ec2();
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let error = fails(
        "create",
        rmachine(&moto, &store, &["create", "--driver", "aws", "--aws-ami", "ami-12345678", "a4-badami"]),
    );
    let line = error.lines().find(|line| line.contains("InvalidAMIID")).unwrap_or_else(|| panic!("{error}"));
    assert!(line.contains("EC2 DescribeImages failed: InvalidAMIID.NotFound"), "{error}");
    // Moto has no official Debian images: the lookup says what it looked for.
    let error = fails("create", rmachine(&moto, &store, &["create", "--driver", "aws", "a4-nodebian"]));
    assert!(error.contains("no available image named 'debian-12-amd64-*' (x86_64) from owner 136693071363"), "{error}");
    assert!(instances(&ec2).is_empty() && key_pair_names(&ec2).is_empty());
    assert!(!store.join("machines/a4-badami").exists() && !store.join("machines/a4-nodebian").exists());
    let error = fails(
        "create",
        rmachine(&moto, &store, &["create", "--driver", "aws", "--aws-image-family", "gentoo", "a4-x"]),
    );
    assert!(error.contains("--aws-image-family") && error.contains("gentoo"), "{error}");
}

#[test]
fn five_parallel_creates_share_one_security_group_and_rm_cleans_up_even_without_the_instance_id() {
    let moto = MotoServer::start();
    let ec2 = moto.ec2();
    let (vpc_id, subnet_id) = bridge_subnet(&ec2, "10.211.0.160/28");
    common::net_up();
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let names: Vec<String> = (1..=5).map(|index| format!("a4-par{index}")).collect();
    // Nobody answers at these addresses: each create launches, fails at SSH and (asked to) keeps
    // its instance, so moto shows what the racing group setup made.
    let started = Instant::now();
    let children: Vec<Child> = names
        .iter()
        .map(|name| {
            rmachine_command(
                &moto,
                &store,
                &[
                    "create",
                    "--driver",
                    "aws",
                    "--aws-subnet-id",
                    &subnet_id,
                    "--aws-use-private-address",
                    "--aws-image-family",
                    "al2023",
                    "--aws-keep-on-failure",
                    "--ssh-timeout",
                    "2",
                    name,
                ],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let error = fails("create", child.wait_with_output().unwrap());
        assert!(error.contains("did not answer SSH") && error.contains("is kept"), "{error}");
    }
    eprintln!(
        "figure: five parallel creates (each failing at a 2s SSH wait) took {:.2}s",
        started.elapsed().as_secs_f64()
    );
    let groups = security_groups_named(&ec2, "rmachine");
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0].vpc_id(), Some(vpc_id.as_str()));
    assert_eq!(groups[0].ip_permissions().len(), 2, "{groups:?}");
    let live = live_instances(&ec2);
    assert_eq!(live.len(), 5);
    for instance in &live {
        assert_eq!(instance.security_groups().len(), 1);
        assert_eq!(instance.security_groups()[0].group_id(), groups[0].group_id());
    }
    assert_eq!(key_pair_names(&ec2).len(), 5);

    // A record saved before the instance id was known (a crashed create) is still cleaned up:
    // rm finds the instance by its rmachine tag.
    let record_path = store.join("machines/a4-par1/machine.json");
    let mut record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&record_path).unwrap()).unwrap();
    record["driver"]["settings"]["created"] = serde_json::json!({});
    std::fs::write(&record_path, serde_json::to_string_pretty(&record).unwrap()).unwrap();

    let removals: Vec<Child> = names
        .iter()
        .map(|name| {
            rmachine_command(&moto, &store, &["rm", "-y", name])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for removal in removals {
        succeeds("rm", removal.wait_with_output().unwrap());
    }
    assert!(live_instances(&ec2).is_empty(), "{:?}", live_instances(&ec2));
    assert!(key_pair_names(&ec2).is_empty(), "{:?}", key_pair_names(&ec2));
    assert!(security_groups_named(&ec2, "rmachine").is_empty());
}

#[test]
fn an_interrupted_create_terminates_its_instance_and_deletes_its_key_pair() {
    let moto = MotoServer::start();
    let ec2 = moto.ec2();
    let (_, subnet_id) = bridge_subnet(&ec2, "10.211.0.184/29");
    common::net_up();
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let mut create = rmachine_command(
        &moto,
        &store,
        &[
            "create",
            "--driver",
            "aws",
            "--aws-subnet-id",
            &subnet_id,
            "--aws-use-private-address",
            "--aws-image-family",
            "al2023",
            "--ssh-timeout",
            "300",
            "a4-int",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Ctrl-C while it waits for SSH, after RunInstances.
    let (instance_id, _) = wait_for_launch(&moto, &store, "a4-int", &mut create);
    std::thread::sleep(Duration::from_millis(500));
    assert!(Command::new("kill").args(["-INT", &create.id().to_string()]).status().unwrap().success());
    let error = fails("create", create.wait_with_output().unwrap());
    assert!(error.contains("interrupted") && error.contains("nothing was left behind"), "{error}");
    assert_eq!(state_of(&moto, &instance_id), "terminated");
    assert!(key_pair_names(&ec2).is_empty(), "{:?}", key_pair_names(&ec2));
    assert!(security_groups_named(&ec2, "rmachine").is_empty());
    assert!(!store.join("machines/a4-int").exists());
}

#[test]
fn an_existing_key_pair_is_used_and_rm_leaves_it_alone() {
    let moto = MotoServer::start();
    let ec2 = moto.ec2();
    let (_, subnet_id) = bridge_subnet(&ec2, "10.211.0.152/29");
    common::net_up();
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let created = block_on(ec2.create_key_pair().key_name("mine").send()).unwrap();
    let key = folder.path().join("mine.pem");
    std::fs::write(&key, created.key_material().unwrap()).unwrap();
    let error = fails(
        "create",
        rmachine(
            &moto,
            &store,
            &[
                "create",
                "--driver",
                "aws",
                "--aws-subnet-id",
                &subnet_id,
                "--aws-use-private-address",
                "--aws-image-family",
                "al2023",
                "--aws-keypair-name",
                "mine",
                "--aws-ssh-keypath",
                key.to_str().unwrap(),
                "--aws-keep-on-failure",
                "--ssh-timeout",
                "2",
                "a4-mine",
            ],
        ),
    );
    assert!(error.contains("did not answer SSH"), "{error}");
    let live = live_instances(&ec2);
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].key_name(), Some("mine"));
    assert_eq!(std::fs::read(store.join("machines/a4-mine/id_ssh")).unwrap(), std::fs::read(&key).unwrap());
    succeeds("rm", rmachine(&moto, &store, &["rm", "-y", "a4-mine"]));
    assert!(live_instances(&ec2).is_empty());
    assert_eq!(key_pair_names(&ec2), vec!["mine".to_string()]);
}

/// Makes `ip` (an EC2 public address moto gave the instance) reach `host`: an address of the host
/// and a route to it over the test bridge.
fn route_public_address(host: &TestHost, ip: &str) {
    let added = host.exec(&["ip", "addr", "add", &format!("{ip}/32"), "dev", "eth0"]);
    assert!(added.status.success(), "ip addr add {ip}: {}", text(&added.stderr));
    let routed = Command::new("ip").args(["route", "replace", &format!("{ip}/32"), "dev", "rmtest0"]).output().unwrap();
    assert!(routed.status.success(), "ip route {ip}: {}", text(&routed.stderr));
}

fn unroute_public_address(host: &TestHost, ip: &str) {
    host.exec(&["ip", "addr", "del", &format!("{ip}/32"), "dev", "eth0"]);
    let _ = Command::new("ip").args(["route", "del", &format!("{ip}/32")]).output();
}

fn public_ip(moto: &MotoServer, instance_id: &str) -> Option<String> {
    let instance =
        instances(&moto.ec2()).into_iter().find(|instance| instance.instance_id() == Some(instance_id)).unwrap();
    instance.public_ip_address().map(str::to_string)
}

#[test]
fn a_start_that_changes_the_public_address_moves_ssh_env_and_the_certificate_along() {
    let moto = MotoServer::start();
    let ec2 = moto.ec2();
    let (_, subnet_id) = bridge_subnet(&ec2, "10.211.0.144/29");
    block_on(
        ec2.modify_subnet_attribute()
            .subnet_id(&subnet_id)
            .map_public_ip_on_launch(aws_sdk_ec2::types::AttributeBooleanValue::builder().value(true).build())
            .send(),
    )
    .unwrap();
    common::net_up();
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let name = "a4-public";
    let mut create = rmachine_command(
        &moto,
        &store,
        &[
            "create",
            "--driver",
            "aws",
            "--aws-subnet-id",
            &subnet_id,
            "--aws-image-family",
            "al2023",
            "--aws-ssh-user",
            "root",
            "--ssh-timeout",
            "300",
            name,
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let (instance_id, private_ip) = wait_for_launch(&moto, &store, name, &mut create);
    let first = public_ip(&moto, &instance_id).expect("moto gives the instance a public address");
    let host = TestHost::start(name, &private_ip, &store.join(format!("machines/{name}/id_ed25519.pub")), true);
    route_public_address(&host, &first);
    succeeds("create", create.wait_with_output().unwrap());
    assert_eq!(succeeds("ip", rmachine(&moto, &store, &["ip", name])).trim(), first);

    // stop, then start: EC2 gives the instance a new public address.
    succeeds("stop", rmachine(&moto, &store, &["stop", name]));
    unroute_public_address(&host, &first);
    let start = rmachine_command(&moto, &store, &["start", name]).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let second = loop {
        if let Some(ip) = public_ip(&moto, &instance_id).filter(|ip| *ip != first) {
            break ip;
        }
        assert!(Instant::now() < deadline, "moto gave no new public address");
        std::thread::sleep(Duration::from_millis(50));
    };
    route_public_address(&host, &second);
    let started = succeeds("start", start.wait_with_output().unwrap());
    eprintln!("{started}");

    // Everything follows the driver's new address: ip, ssh, env (and the engine's certificate).
    assert_eq!(succeeds("ip", rmachine(&moto, &store, &["ip", name])).trim(), second);
    let via_ssh =
        succeeds("ssh", rmachine(&moto, &store, &["ssh", name, "--", "ip", "-4", "-o", "addr", "show", "eth0"]));
    assert!(via_ssh.contains(&second), "{via_ssh}");
    let env = rmachine(&moto, &store, &["env", "--shell", "bash", name]);
    let printed = succeeds("env", env.clone());
    assert!(printed.contains(&format!("DOCKER_HOST=\"tcp://{second}:2376\"")), "{printed}");
    assert!(!text(&env.stderr).contains("regenerate-certs"), "the certificate was renewed: {}", text(&env.stderr));
    let info = Command::new("bash")
        .arg("-c")
        .arg(format!("set -e; {printed}\ndocker info --format '{{{{.Name}}}}'"))
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap();
    assert_eq!(succeeds("docker info at the new address", info).trim(), name);
    let known_hosts = std::fs::read_to_string(store.join(format!("machines/{name}/known_hosts"))).unwrap();
    assert!(known_hosts.starts_with(&second), "{known_hosts}");

    succeeds("rm", rmachine(&moto, &store, &["rm", "-y", name]));
    unroute_public_address(&host, &second);
    host.stop();
}
