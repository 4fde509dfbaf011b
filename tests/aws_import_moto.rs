//! Importing docker-machine's amazonec2 machines against a real EC2 API server (moto): the
//! instances, key pairs and security group docker-machine made are set up in moto, `rmachine
//! import` takes the machines over as aws machines, `status` asks EC2 about them, and `rm`
//! terminates each instance and deletes the key pair docker-machine imported for it, but never
//! the key pair the user named nor the security group. Needs .ci/run's moto virtual environment.
#![recursion_limit = "256"]

mod common;
mod moto;

use common::{make_docker_machine_ca, make_machine_files, rmachine_command, succeeds};
use moto::{MotoServer, REGION, block_on, key_pair_names, live_instances, security_groups_named};
use std::path::Path;
use std::process::Output;

fn rmachine(moto: &MotoServer, store: &Path, args: &[&str]) -> Output {
    let mut command = rmachine_command(store);
    command.args(args).env_remove("AWS_PROFILE");
    for (name, value) in moto.aws_env() {
        command.env(name, value);
    }
    command.output().expect("rmachine runs")
}

/// An instance launched as docker-machine launches it (its key pair, its group); returns its id.
fn launch(moto: &MotoServer, key_name: &str, group_id: &str) -> String {
    let ec2 = moto.ec2();
    let image = block_on(ec2.describe_images().send()).unwrap().images()[0].image_id().unwrap().to_string();
    let launched = block_on(
        ec2.run_instances()
            .image_id(image)
            .instance_type(aws_sdk_ec2::types::InstanceType::T2Micro)
            .key_name(key_name)
            .security_group_ids(group_id)
            .min_count(1)
            .max_count(1)
            .send(),
    )
    .unwrap();
    launched.instances()[0].instance_id().unwrap().to_string()
}

/// The machine's config.json as docker-machine 0.16's amazonec2 driver writes it.
fn config_json(moto: &MotoServer, store: &Path, name: &str, instance: &str, key: (&str, bool), group: &str) -> String {
    let store_text = store.display().to_string();
    serde_json::json!({
        "ConfigVersion": 3,
        "Driver": {
            "IPAddress": "54.0.0.1", "MachineName": name, "SSHUser": "ubuntu", "SSHPort": 22,
            "SSHKeyPath": format!("{store_text}/machines/{name}/id_rsa"), "StorePath": store_text,
            "SwarmMaster": false, "SwarmHost": "", "SwarmDiscovery": "", "Id": "0f", "AccessKey": "", "SecretKey": "",
            "SessionToken": "", "Region": REGION, "AMI": "ami-12c6146b", "SSHKeyID": 0, "ExistingKey": key.1,
            "KeyName": key.0, "InstanceId": instance, "InstanceType": "t2.micro", "PrivateIPAddress": "172.31.0.5",
            "SecurityGroupId": "", "SecurityGroupIds": [group], "SecurityGroupName": "",
            "SecurityGroupNames": ["docker-machine"], "SecurityGroupReadOnly": false, "OpenPorts": null,
            "Tags": "", "ReservationId": "", "DeviceName": "/dev/sda1", "RootSize": 16, "VolumeType": "gp2",
            "IamInstanceProfile": "", "VpcId": "", "SubnetId": "", "Zone": "a", "RequestSpotInstance": false,
            "SpotPrice": "0.50", "BlockDurationMinutes": 0, "PrivateIPOnly": false, "UsePrivateIP": false,
            "UseEbsOptimizedInstance": false, "Monitoring": false, "SSHPrivateKeyPath": "", "RetryCount": 5,
            "Endpoint": moto.url, "DisableSSL": false, "UserDataFile": ""
        },
        "DriverName": "amazonec2",
        "HostOptions": {"EngineOptions": {"InstallURL": "https://get.docker.com", "TlsVerify": true},
            "SwarmOptions": {"IsSwarm": false},
            "AuthOptions": {"CaCertPath": format!("{store_text}/certs/ca.pem"), "ServerCertPath": format!("{store_text}/machines/{name}/server.pem"),
                "ServerKeyPath": format!("{store_text}/machines/{name}/server-key.pem")}},
        "Name": name
    })
    .to_string()
}

#[test]
fn imported_amazonec2_machines_are_removed_as_docker_machine_would_and_no_further() {
    let moto = MotoServer::start();
    let ec2 = moto.ec2();
    let folder = tempfile::tempdir().unwrap();
    let source = folder.path().join("docker-machine");
    make_docker_machine_ca(&source);
    let group = block_on(ec2.create_security_group().group_name("docker-machine").description("Docker Machine").send())
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    // web: docker-machine imported a key pair named after the machine; team: the user's own.
    for (name, key_name, users_key) in [("web", "web", false), ("team", "team-key", true)] {
        let key = make_machine_files(&source, name, "54.0.0.1");
        let public = std::fs::read_to_string(format!("{}.pub", key.display())).unwrap();
        let material = aws_sdk_ec2::primitives::Blob::new(public.into_bytes());
        block_on(ec2.import_key_pair().key_name(key_name).public_key_material(material).send()).unwrap();
        let instance = launch(&moto, key_name, &group);
        let config = config_json(&moto, &source, name, &instance, (key_name, users_key), &group);
        std::fs::write(source.join("machines").join(name).join("config.json"), config).unwrap();
    }
    let before = common::file_hashes(&source);

    let store = folder.path().join("rmachine");
    let summary = succeeds("import", rmachine(&moto, &store, &["import", "--from", source.to_str().unwrap()]));
    assert!(summary.contains("web ") && summary.contains(" aws "), "{summary}");
    let status = succeeds("status", rmachine(&moto, &store, &["status", "web", "team"]));
    assert_eq!(status.matches("Running").count(), 2, "{status}");

    succeeds("rm", rmachine(&moto, &store, &["rm", "-y", "web", "team"]));
    assert!(live_instances(&ec2).is_empty(), "both instances are terminated");
    assert_eq!(key_pair_names(&ec2), vec!["team-key".to_string()], "docker-machine's key pair goes, the user's stays");
    assert_eq!(security_groups_named(&ec2, "docker-machine").len(), 1, "the group stays");
    assert_eq!(common::file_hashes(&source), before);
}
