//! docker-machine's amazonec2 flags and variables against a real EC2 API server (moto): a create
//! written the docker-machine way (`--driver amazonec2 --amazonec2-*`, `AWS_DEFAULT_REGION`,
//! `AWS_ENDPOINT`) launches the instance those flags describe (zone letter, repeated security
//! groups, `k1,v1` tags, spot, root size), checked by asking moto; `rm` removes it all. The
//! instance is in a VPC nobody here routes to, so the create stops at SSH and keeps what it made
//! (`--aws-keep-on-failure`). Needs .ci/run's moto virtual environment; no root, no test host.

mod common;
mod moto;

use common::{fails, succeeds};
use moto::{MotoServer, block_on, instances, live_instances, security_groups_named, tag};
use std::path::Path;
use std::process::{Output, Stdio};

/// rmachine with moto's environment the docker-machine way: AWS_DEFAULT_REGION and AWS_ENDPOINT.
fn rmachine_docker_machine_style(moto: &MotoServer, store: &Path, args: &[&str]) -> Output {
    let mut command = common::rmachine_command(store);
    command.args(args).env_remove("AWS_PROFILE").env_remove("AWS_REGION").env_remove("AWS_ENDPOINT_URL");
    for (name, value) in moto.aws_env() {
        match name.as_str() {
            "AWS_REGION" => command.env("AWS_DEFAULT_REGION", value),
            "AWS_ENDPOINT_URL" => command.env("AWS_ENDPOINT", value),
            _ => command.env(name, value),
        };
    }
    command.stdin(Stdio::null()).output().expect("rmachine runs")
}

/// A VPC and a subnet in us-east-1a that no route here reaches; (vpc id, subnet id).
fn unreachable_subnet(ec2: &aws_sdk_ec2::Client) -> (String, String) {
    let vpc = block_on(ec2.create_vpc().cidr_block("10.77.0.0/16").send()).unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet =
        block_on(ec2.create_subnet().vpc_id(&vpc_id).cidr_block("10.77.1.0/24").availability_zone("us-east-1a").send())
            .unwrap();
    (vpc_id, subnet.subnet().unwrap().subnet_id().unwrap().to_string())
}

fn rules_of(group: &aws_sdk_ec2::types::SecurityGroup) -> Vec<i32> {
    let mut ports: Vec<i32> = group.ip_permissions().iter().filter_map(|permission| permission.from_port()).collect();
    ports.sort();
    ports
}

#[test]
fn a_docker_machine_command_line_launches_the_instance_it_describes() {
    let moto = MotoServer::start();
    let ec2 = moto.ec2();
    let (vpc_id, subnet_id) = unreachable_subnet(&ec2);
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let image = block_on(ec2.describe_images().owners("137112412989").send()).unwrap().images()[0]
        .image_id()
        .unwrap()
        .to_string();
    let args = [
        "create",
        "--driver",
        "amazonec2",
        "--amazonec2-ami",
        &image,
        "--amazonec2-vpc-id",
        &vpc_id,
        "--amazonec2-zone",
        "a",
        "--amazonec2-instance-type",
        "t3.micro",
        "--amazonec2-ssh-user",
        "ec2-user",
        "--amazonec2-security-group",
        "dm-web",
        "--amazonec2-security-group",
        "dm-extra",
        "--amazonec2-open-port",
        "8080",
        "--amazonec2-tags",
        "team,web,cost,42",
        "--amazonec2-root-size",
        "20",
        "--amazonec2-request-spot-instance",
        "--amazonec2-spot-price",
        "0.05",
        "--amazonec2-use-private-address",
        "--aws-ssh-timeout",
        "2",
        "--aws-keep-on-failure",
        "d-dialect",
    ];
    let error = fails("create (nobody answers SSH there)", rmachine_docker_machine_style(&moto, &store, &args));
    assert!(error.contains("did not answer SSH"), "{error}");

    let launched = live_instances(&ec2);
    assert_eq!(launched.len(), 1, "{launched:?}");
    let instance = &launched[0];
    assert_eq!(instance.image_id(), Some(image.as_str()));
    assert_eq!(instance.instance_type().map(|kind| kind.as_str()), Some("t3.micro"));
    assert_eq!(instance.subnet_id(), Some(subnet_id.as_str()), "zone letter a is us-east-1a, where the subnet is");
    assert_eq!(instance.placement().and_then(|placement| placement.availability_zone()), Some("us-east-1a"));
    assert_eq!(tag(instance, "team"), Some("web"));
    assert_eq!(tag(instance, "cost"), Some("42"));
    assert_eq!(tag(instance, "Name"), Some("d-dialect"));
    assert_eq!(instance.instance_lifecycle().map(|lifecycle| lifecycle.as_str()), Some("spot"));
    let mut groups: Vec<&str> = instance.security_groups().iter().filter_map(|group| group.group_name()).collect();
    groups.sort();
    assert_eq!(groups, vec!["dm-extra", "dm-web"]);
    for name in ["dm-web", "dm-extra"] {
        let found = security_groups_named(&ec2, name);
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        assert_eq!(rules_of(&found[0]), vec![22, 2376, 8080], "{name}");
    }
    let volume_id = instance.block_device_mappings()[0].ebs().unwrap().volume_id().unwrap().to_string();
    let volumes = block_on(ec2.describe_volumes().volume_ids(&volume_id).send()).unwrap();
    assert_eq!(volumes.volumes()[0].size(), Some(20));

    // The record keeps what the variables gave: the region and the endpoint, never credentials.
    let record = std::fs::read_to_string(store.join("machines/d-dialect/machine.json")).unwrap();
    let settings = &serde_json::from_str::<serde_json::Value>(&record).unwrap()["driver"]["settings"];
    assert_eq!(settings["region"], moto::REGION);
    assert_eq!(settings["endpoint"], moto.url.as_str());
    assert_eq!(settings["spot"], true);
    assert_eq!(settings["spot_max_price"], "0.05");
    assert_eq!(settings["ssh_user"], "ec2-user");
    assert!(!record.contains("testing"), "credentials reached the record: {record}");

    succeeds("rm", rmachine_docker_machine_style(&moto, &store, &["rm", "-y", "d-dialect"]));
    assert!(live_instances(&ec2).is_empty(), "{:?}", instances(&ec2));
    for name in ["dm-web", "dm-extra"] {
        assert!(security_groups_named(&ec2, name).is_empty(), "rm left the group {name} it made");
    }
}
