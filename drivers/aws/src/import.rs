//! Taking over a machine docker-machine's amazonec2 driver made (`rmachine import`): its
//! configuration's fields mapped onto [`AwsConfig`]. The instance, and the key pair docker-machine
//! imported for it, become the machine's own (`rm` terminates and deletes them, as
//! `docker-machine rm` did); a key pair the user named (`--amazonec2-keypair-name`) and the
//! security group are never deleted (the group carries no managed tag). Credentials in the
//! configuration are not copied: rmachine uses the standard AWS chain.

use crate::settings::{AwsConfig, Created, DEFAULT_IMAGE_FAMILY, parse_tags};
use rmachine_drivers::{DockerMachineHost, DriverError, ImportedSettings, docker_machine_port, docker_machine_string};
use serde_json::Value;

fn text(config: &Value, field: &str) -> Option<String> {
    Some(docker_machine_string(config, field)).filter(|value| !value.is_empty())
}

fn flag(config: &Value, field: &str) -> bool {
    config.get(field).and_then(Value::as_bool).unwrap_or(false)
}

fn strings(config: &Value, field: &str) -> Vec<String> {
    config
        .get(field)
        .and_then(Value::as_array)
        .map(|items| {
            items.iter().filter_map(Value::as_str).filter(|item| !item.is_empty()).map(str::to_string).collect()
        })
        .unwrap_or_default()
}

/// A list field (docker-machine ≥ 0.7), else the older single field as a list of one.
fn list_or_single(config: &Value, list: &str, single: &str) -> Vec<String> {
    let items = strings(config, list);
    if items.is_empty() { text(config, single).into_iter().collect() } else { items }
}

/// docker-machine's endpoint is a host name or a URL; rmachine's is a URL.
fn endpoint_url(config: &Value) -> Option<String> {
    let endpoint = text(config, "Endpoint")?;
    if endpoint.contains("://") {
        return Some(endpoint);
    }
    let scheme = if flag(config, "DisableSSL") { "http" } else { "https" };
    Some(format!("{scheme}://{endpoint}"))
}

/// docker-machine's zone is a letter (`a`) appended to the region; rmachine's the whole name.
fn zone_name(config: &Value, region: Option<&str>) -> Option<String> {
    let zone = text(config, "Zone")?;
    match region {
        Some(region) if zone.len() == 1 => Some(format!("{region}{zone}")),
        _ => Some(zone),
    }
}

/// The settings of a docker-machine amazonec2 machine.
pub fn import(machine: &DockerMachineHost<'_>) -> Result<ImportedSettings, DriverError> {
    let config = machine.config;
    let instance_id = text(config, "InstanceId")
        .ok_or_else(|| DriverError::invalid("InstanceId", "docker-machine's configuration names no instance"))?;
    let mut not_imported = Vec::new();
    if ["AccessKey", "SecretKey", "SessionToken"].iter().any(|field| text(config, field).is_some()) {
        not_imported.push(
            "the AWS credentials in docker-machine's configuration: rmachine takes them from the AWS chain \
             (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws profiles, instance roles)"
                .to_string(),
        );
    }
    let key_name = text(config, "KeyName");
    let users_key_pair = users_key_pair(config, key_name.as_deref(), &mut not_imported);
    let groups = strings(config, "SecurityGroupNames");
    if groups.len() > 1 {
        not_imported.push(format!(
            "security groups after the first ({}): the instance keeps them, the record names {}",
            groups[1..].join(", "),
            groups[0]
        ));
    }
    let tags = parse_tags(&docker_machine_string(config, "Tags")).unwrap_or_else(|error| {
        not_imported.push(format!("the tags: {error}"));
        Vec::new()
    });
    let region = text(config, "Region");
    let private = flag(config, "UsePrivateIP") || flag(config, "PrivateIPOnly");
    let mut group_names = list_or_single(config, "SecurityGroupNames", "SecurityGroupName").into_iter();
    let mut group_ids = list_or_single(config, "SecurityGroupIds", "SecurityGroupId").into_iter();
    let aws = AwsConfig {
        machine_name: machine.name.to_string(),
        token: crate::new_create_token(),
        zone: zone_name(config, region.as_deref()),
        region,
        profile: None,
        endpoint: endpoint_url(config),
        ami: text(config, "AMI"),
        image_family: DEFAULT_IMAGE_FAMILY.to_string(),
        ssh_user: text(config, "SSHUser").unwrap_or_else(|| "ubuntu".into()),
        ssh_port: docker_machine_port(config, "SSHPort").unwrap_or(22),
        engine_port: 2376,
        vpc_id: text(config, "VpcId"),
        subnet_id: text(config, "SubnetId"),
        instance_type: text(config, "InstanceType").unwrap_or_else(|| "t2.micro".into()),
        root_size: config.get("RootSize").and_then(Value::as_i64).and_then(|size| i32::try_from(size).ok()),
        volume_type: text(config, "VolumeType"),
        iam_instance_profile: text(config, "IamInstanceProfile"),
        tags,
        userdata: None,
        spot: flag(config, "RequestSpotInstance"),
        spot_max_price: text(config, "SpotPrice").filter(|_| flag(config, "RequestSpotInstance")),
        imdsv2_optional: true,
        security_group: group_names.next().unwrap_or_else(|| "docker-machine".into()),
        extra_security_groups: group_names.collect(),
        open_ports: strings(config, "OpenPorts"),
        swarm_ports: false,
        use_private_address: flag(config, "UsePrivateIP"),
        private_address_only: flag(config, "PrivateIPOnly"),
        keypair_name: key_name.clone().filter(|_| users_key_pair),
        ssh_keypath: machine.ssh_key.filter(|_| users_key_pair && key_name.is_some()).map(Into::into),
        keep_on_failure: false,
        ssh_timeout: None,
        created: Created {
            tracked: false,
            requested: true,
            instance_id: Some(instance_id),
            key_pair_name: key_name.filter(|_| !users_key_pair),
            ssh_key: machine.ssh_key.map(Into::into),
            security_group_id: group_ids.next(),
            extra_security_group_ids: group_ids.collect(),
            vpc_id: text(config, "VpcId"),
            image_id: text(config, "AMI"),
            private_ip: text(config, "PrivateIPAddress"),
            public_ip: text(config, "IPAddress").filter(|_| !private),
        },
    };
    Ok(ImportedSettings { settings: rmachine_drivers::settings_to_json(&aws), not_imported })
}

/// Whether the key pair is the user's: yes unless the configuration says docker-machine imported
/// it (then `rm` deletes it); a configuration that does not say keeps it, with a note.
fn users_key_pair(config: &Value, key_name: Option<&str>, not_imported: &mut Vec<String>) -> bool {
    if let Some(existing) = config.get("ExistingKey").and_then(Value::as_bool) {
        return existing;
    }
    if let Some(name) = key_name {
        not_imported.push(format!(
            "the key pair {name}: this configuration does not say whether docker-machine made it, so 'rmachine rm' keeps it"
        ));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn machine<'a>(config: &'a Value, key: Option<&'a Path>) -> DockerMachineHost<'a> {
        DockerMachineHost { name: "web", driver_name: "amazonec2", config, ssh_key: key }
    }

    fn docker_machine_0_16() -> Value {
        serde_json::from_str(
            r#"{
            "IPAddress": "54.1.2.3", "MachineName": "web", "SSHUser": "ubuntu", "SSHPort": 22,
            "SSHKeyPath": "/home/u/.docker/machine/machines/web/id_rsa", "StorePath": "/home/u/.docker/machine",
            "Id": "abc", "AccessKey": "AKIA", "SecretKey": "s3cr3t", "SessionToken": "", "Region": "eu-west-1",
            "AMI": "ami-123", "SSHKeyID": 0, "ExistingKey": false, "KeyName": "web", "InstanceId": "i-0abc",
            "InstanceType": "t3.small", "PrivateIPAddress": "172.31.5.6", "SecurityGroupId": "",
            "SecurityGroupIds": ["sg-1", "sg-2"], "SecurityGroupName": "", "SecurityGroupNames": ["docker-machine", "extra"],
            "SecurityGroupReadOnly": false, "OpenPorts": ["8080"], "Tags": "team,web,env,prod", "ReservationId": "r-1",
            "DeviceName": "/dev/sda1", "RootSize": 16, "VolumeType": "gp2", "IamInstanceProfile": "", "VpcId": "vpc-1",
            "SubnetId": "subnet-1", "Zone": "a", "RequestSpotInstance": false, "SpotPrice": "0.50",
            "BlockDurationMinutes": 0, "PrivateIPOnly": false, "UsePrivateIP": false, "UseEbsOptimizedInstance": false,
            "Monitoring": false, "SSHPrivateKeyPath": "", "RetryCount": 5, "Endpoint": "", "DisableSSL": false,
            "UserDataFile": ""
        }"#,
        )
        .unwrap()
    }

    fn imported(config: &Value, key: Option<&Path>) -> (AwsConfig, Vec<String>) {
        let result = import(&machine(config, key)).unwrap();
        (serde_json::from_value(result.settings).unwrap(), result.not_imported)
    }

    #[test]
    fn the_instance_and_docker_machines_key_pair_become_the_machines_own() {
        let key = Path::new("machines/web/id_ssh");
        let (aws, notes) = imported(&docker_machine_0_16(), Some(key));
        assert_eq!(aws.region.as_deref(), Some("eu-west-1"));
        assert_eq!(aws.zone.as_deref(), Some("eu-west-1a"));
        assert_eq!(aws.created.instance_id.as_deref(), Some("i-0abc"));
        assert_eq!(aws.created.key_pair_name.as_deref(), Some("web"), "docker-machine's own key pair: rm deletes it");
        assert_eq!(aws.keypair_name, None);
        assert!(!aws.token.is_empty(), "rm deletes created.key_pair_name only with a token");
        assert_eq!(aws.created.ssh_key.as_deref(), Some(key));
        assert_eq!(aws.created.security_group_id.as_deref(), Some("sg-1"));
        assert_eq!(aws.security_group, "docker-machine");
        assert_eq!(aws.tags, vec![("team".into(), "web".into()), ("env".into(), "prod".into())]);
        assert_eq!((aws.ssh_user.as_str(), aws.ssh_port, aws.engine_port), ("ubuntu", 22, 2376));
        assert_eq!(aws.created.public_ip.as_deref(), Some("54.1.2.3"));
        assert_eq!(aws.address(), Some("54.1.2.3"));
        assert_eq!(aws.open_ports, vec!["8080".to_string()]);
        assert!(notes.iter().any(|note| note.contains("credentials")), "{notes:?}");
        assert!(notes.iter().any(|note| note.contains("extra")), "{notes:?}");
        let json = serde_json::to_string(&aws).unwrap();
        assert!(!json.contains("s3cr3t") && !json.contains("AKIA"), "{json}");
    }

    #[test]
    fn a_users_key_pair_and_private_addresses_are_kept_as_they_were() {
        let mut config = docker_machine_0_16();
        config["ExistingKey"] = Value::Bool(true);
        config["KeyName"] = "team-key".into();
        config["UsePrivateIP"] = Value::Bool(true);
        config["IPAddress"] = "172.31.5.6".into();
        config["Endpoint"] = "ec2.internal:4566".into();
        config["DisableSSL"] = Value::Bool(true);
        let key = Path::new("machines/web/id_ssh");
        let (aws, _) = imported(&config, Some(key));
        assert_eq!(aws.keypair_name.as_deref(), Some("team-key"), "the user's key pair: rm keeps it");
        assert_eq!(aws.created.key_pair_name, None);
        assert_eq!(aws.ssh_keypath.as_deref(), Some(key));
        assert!(aws.use_private_address);
        assert_eq!(aws.created.public_ip, None);
        assert_eq!(aws.address(), Some("172.31.5.6"));
        assert_eq!(aws.endpoint.as_deref(), Some("http://ec2.internal:4566"));
    }

    #[test]
    fn old_configurations_keep_their_key_pair_and_need_an_instance() {
        let old = serde_json::json!({
            "IPAddress": "54.1.2.3", "MachineName": "web", "Region": "us-east-1", "KeyName": "web",
            "InstanceId": "i-1", "SecurityGroupName": "docker-machine", "SecurityGroupId": "sg-9", "Zone": "us-east-1b"
        });
        let (aws, notes) = imported(&old, None);
        assert_eq!(aws.keypair_name.as_deref(), Some("web"));
        assert_eq!(aws.created.key_pair_name, None);
        assert!(notes.iter().any(|note| note.contains("key pair web")), "{notes:?}");
        assert_eq!(aws.created.security_group_id.as_deref(), Some("sg-9"));
        assert_eq!(aws.zone.as_deref(), Some("us-east-1b"));
        let error = import(&machine(&serde_json::json!({"Region": "x"}), None)).unwrap_err();
        assert!(error.to_string().contains("InstanceId"), "{error}");
    }
}
