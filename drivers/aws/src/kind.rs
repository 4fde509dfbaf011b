//! The aws driver's kind: its `--aws-*` options (each also from the environment variable AWS or
//! docker-machine users know, and under docker-machine's `--amazonec2-*` name) and the settings
//! they make. Credentials are not options: they come from the standard AWS chain (environment,
//! ~/.aws profiles, SSO, instance roles) and are never stored. docker-machine's flags whose value
//! reads differently (`--amazonec2-tags k1,v1`) are options of their own, and those rmachine has
//! no meaning for are refused, each with the reason or the equivalent ([`REFUSED_FLAGS`]).

use crate::settings::{
    AwsConfig, DEFAULT_IMAGE_FAMILY, DEFAULT_SECURITY_GROUP, image_family, parse_tag_pairs, parse_tags,
};
use rmachine_drivers::{
    DockerMachineHost, Driver, DriverEnvironment, DriverError, DriverKind, DriverOptions, ImportedSettings, NewMachine,
    OptionKind, OptionSpec, OptionValue, bool_option, check_port, int_option, list_option, path_option,
    settings_from_json, string_option,
};
use std::sync::Arc;

pub const NAME: &str = "aws";

/// The aws driver's kind, for the registry.
pub fn kind() -> Arc<dyn DriverKind> {
    Arc::new(AwsKind)
}

struct AwsKind;

fn text(value: &str) -> OptionValue {
    OptionValue::String(value.to_string())
}

impl DriverKind for AwsKind {
    fn name(&self) -> &str {
        NAME
    }

    fn aliases(&self) -> Vec<String> {
        vec!["amazonec2".into()]
    }

    fn description(&self) -> String {
        "an EC2 instance, launched and removed through the AWS API (alias amazonec2)".into()
    }

    fn options(&self) -> Vec<OptionSpec> {
        vec![
            string_option("aws-region", "Region; else the profile's region")
                .env("AWS_REGION")
                .env_alias("AWS_DEFAULT_REGION")
                .alias("amazonec2-region")
                .value_name("REGION"),
            string_option(
                "aws-profile",
                "~/.aws profile for credentials and region (SSO profiles too: run 'aws sso login' first)",
            )
            .env("AWS_PROFILE")
            .value_name("NAME"),
            string_option("aws-endpoint", "Custom EC2 endpoint URL (EC2-compatible clouds, moto)")
                .env("AWS_ENDPOINT_URL")
                .env_alias("AWS_ENDPOINT")
                .alias("amazonec2-endpoint")
                .value_name("URL"),
            string_option("aws-ami", "AMI id; without it the newest image of --aws-image-family is looked up")
                .env("AWS_AMI")
                .alias("amazonec2-ami")
                .value_name("AMI"),
            string_option("aws-image-family", "Image family to look up: debian-12, ubuntu-24.04 or al2023")
                .env("AWS_IMAGE_FAMILY")
                .value_name("FAMILY")
                .default_value(text(DEFAULT_IMAGE_FAMILY)),
            string_option("aws-ssh-user", "SSH user; default: the family's (admin, ubuntu, ec2-user)")
                .env("AWS_SSH_USER")
                .alias("amazonec2-ssh-user")
                .value_name("USER"),
            int_option("aws-ssh-port", "SSH port", 22)
                .env("AWS_SSH_PORT")
                .alias("amazonec2-ssh-port")
                .value_name("PORT")
                .check(check_port),
            int_option("aws-engine-port", "Port the engine listens on with TLS", 2376)
                .value_name("PORT")
                .check(check_port),
            string_option("aws-vpc-id", "VPC; default: the region's default VPC")
                .env("AWS_VPC_ID")
                .alias("amazonec2-vpc-id")
                .value_name("ID"),
            string_option("aws-subnet-id", "Subnet; default: the VPC's default subnet (in --aws-zone when given)")
                .env("AWS_SUBNET_ID")
                .alias("amazonec2-subnet-id")
                .value_name("ID"),
            string_option("aws-zone", "Availability zone: eu-west-1a, or a letter after the region (a)")
                .env("AWS_ZONE")
                .alias("amazonec2-zone")
                .value_name("ZONE"),
            string_option("aws-instance-type", "Instance type")
                .env("AWS_INSTANCE_TYPE")
                .alias("amazonec2-instance-type")
                .value_name("TYPE")
                .default_value(text("t3.small")),
            OptionSpec::new(
                "aws-root-size",
                rmachine_drivers::OptionKind::Int,
                "Root volume size in GiB; default: the image's",
            )
            .env("AWS_ROOT_SIZE")
            .alias("amazonec2-root-size")
            .value_name("GIB"),
            string_option("aws-volume-type", "Root volume type (gp3, gp2, io2, ...); default: the image's")
                .env("AWS_VOLUME_TYPE")
                .alias("amazonec2-volume-type")
                .value_name("TYPE"),
            string_option("aws-iam-instance-profile", "IAM instance profile name or ARN")
                .env("AWS_INSTANCE_PROFILE")
                .alias("amazonec2-iam-instance-profile")
                .value_name("NAME"),
            string_option("aws-tags", "Extra tags, k=v,k2=v2 (or k,v,k2,v2)").env("AWS_TAGS").value_name("TAGS"),
            path_option("aws-userdata", "cloud-init user data file")
                .env("AWS_USERDATA")
                .alias("amazonec2-userdata")
                .value_name("FILE"),
            bool_option("aws-spot", "Launch a spot instance").alias("amazonec2-request-spot-instance"),
            string_option(
                "aws-spot-max-price",
                "Highest hourly price for the spot instance, in USD; default: the on-demand price",
            )
            .env("AWS_SPOT_PRICE")
            .alias("amazonec2-spot-price")
            .value_name("USD"),
            bool_option(
                "aws-imds-v1",
                "Allow IMDSv1 (by default the instance metadata service requires IMDSv2 tokens)",
            ),
            list_option(
                "aws-security-group",
                "Security group, created when missing with SSH and the engine port open (repeatable: the instance joins each)",
            )
            .env("AWS_SECURITY_GROUP")
            .alias("amazonec2-security-group")
            .value_name("NAME")
            .default_value(OptionValue::List(vec![DEFAULT_SECURITY_GROUP.into()])),
            list_option("aws-open-port", "Also open PORT[/tcp|udp] in the security group (repeatable)")
                .alias("amazonec2-open-port")
                .value_name("PORT[/PROTO]"),
            bool_option("aws-swarm-ports", "Also open Docker Swarm's ports (2377/tcp, 7946/tcp+udp, 4789/udp)"),
            bool_option("aws-use-private-address", "Reach the instance at its private address (from inside the VPC)")
                .alias("amazonec2-use-private-address"),
            bool_option(
                "aws-private-address-only",
                "Give the instance no public address at all (implies --aws-use-private-address)",
            )
            .alias("amazonec2-private-address-only"),
            string_option(
                "aws-keypair-name",
                "Use this existing key pair instead of importing a fresh one (needs --aws-ssh-keypath)",
            )
            .env("AWS_KEYPAIR_NAME")
            .alias("amazonec2-keypair-name")
            .value_name("NAME"),
            path_option("aws-ssh-keypath", "Private key of --aws-keypair-name")
                .env("AWS_SSH_KEYPATH")
                .alias("amazonec2-ssh-keypath")
                .value_name("FILE"),
            OptionSpec::new(
                "aws-ssh-timeout",
                rmachine_drivers::OptionKind::Int,
                "Seconds to wait for the instance to answer SSH (as --ssh-timeout)",
            )
            .value_name("SECONDS"),
            bool_option(
                "aws-keep-on-failure",
                "Keep the instance and key pair when the create fails (for debugging); 'rmachine rm' removes them",
            ),
            string_option("amazonec2-tags", "docker-machine's tags: key1,value1,key2,value2").hidden(),
        ]
        .into_iter()
        .chain(REFUSED_FLAGS.iter().map(|(name, kind, _)| OptionSpec::new(name, *kind, "").hidden()))
        .collect()
    }

    fn controls_power(&self) -> bool {
        true
    }

    fn new_driver(
        &self,
        _environment: &Arc<DriverEnvironment>,
        machine: &NewMachine<'_>,
        options: &DriverOptions,
    ) -> Result<Box<dyn Driver>, DriverError> {
        Ok(Box::new(config_from_options(machine, options)?))
    }

    fn open(
        &self,
        _environment: &Arc<DriverEnvironment>,
        settings: &serde_json::Value,
    ) -> Result<Box<dyn Driver>, DriverError> {
        Ok(Box::new(settings_from_json::<AwsConfig>(NAME, settings)?))
    }

    fn docker_machine_drivers(&self) -> Vec<String> {
        vec!["amazonec2".into()]
    }

    fn import_docker_machine(&self, machine: &DockerMachineHost<'_>) -> Result<ImportedSettings, DriverError> {
        crate::import::import(machine)
    }
}

/// docker-machine's amazonec2 flags that mean nothing here, with why (and what to do instead).
pub const REFUSED_FLAGS: &[(&str, OptionKind, &str)] = &[
    (
        "amazonec2-access-key",
        OptionKind::String,
        "rmachine takes credentials only from the AWS chain, never from flags (they would stay in the shell's history and in ps): export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --aws-profile",
    ),
    (
        "amazonec2-secret-key",
        OptionKind::String,
        "rmachine takes credentials only from the AWS chain, never from flags: export AWS_SECRET_ACCESS_KEY, or use --aws-profile",
    ),
    (
        "amazonec2-session-token",
        OptionKind::String,
        "rmachine takes credentials only from the AWS chain, never from flags: export AWS_SESSION_TOKEN, or use --aws-profile (SSO: 'aws sso login')",
    ),
    (
        "amazonec2-device-name",
        OptionKind::String,
        "rmachine sizes the image's own root device (the AMI names it); drop the flag, --aws-root-size and --aws-volume-type apply to that device",
    ),
    (
        "amazonec2-security-group-readonly",
        OptionKind::Bool,
        "rmachine only adds the rules the machine needs (SSH, the engine port, --aws-open-port) that a group lacks; give the group those rules beforehand and it adds none",
    ),
    (
        "amazonec2-block-duration-minutes",
        OptionKind::Int,
        "AWS no longer offers Spot blocks (defined-duration spot instances); --aws-spot launches an ordinary one-time spot instance",
    ),
    (
        "amazonec2-monitoring",
        OptionKind::Bool,
        "rmachine launches instances with basic monitoring; turn on detailed monitoring afterwards with 'aws ec2 monitor-instances --instance-ids ID'",
    ),
    (
        "amazonec2-use-ebs-optimized-instance",
        OptionKind::Bool,
        "current instance types (t3, m5 and newer) are EBS-optimized by default and rmachine does not set the flag; drop it",
    ),
    (
        "amazonec2-retries",
        OptionKind::Int,
        "the AWS SDK retries failed calls itself (standard mode, 3 attempts): set AWS_MAX_ATTEMPTS to change that",
    ),
    (
        "amazonec2-insecure-transport",
        OptionKind::Bool,
        "give --aws-endpoint an http:// URL instead (plain HTTP is chosen by the URL's scheme)",
    ),
];

/// Fails on the first docker-machine flag rmachine has no meaning for.
fn refuse_meaningless_flags(options: &DriverOptions) -> Result<(), DriverError> {
    match REFUSED_FLAGS.iter().find(|(name, _, _)| options.is_given(name)) {
        Some((name, _, why)) => Err(DriverError::invalid(format!("--{name}"), *why)),
        None => Ok(()),
    }
}

/// The settings of a machine to be created. A machine that joins a swarm opens the swarm's ports
/// unless `--aws-swarm-ports` was given explicitly.
pub fn config_from_options(machine: &NewMachine<'_>, options: &DriverOptions) -> Result<AwsConfig, DriverError> {
    refuse_meaningless_flags(options)?;
    let image_family_name = options.string_or("aws-image-family", DEFAULT_IMAGE_FAMILY);
    let ssh_user = match options.string("aws-ssh-user").filter(|user| !user.is_empty()) {
        Some(user) => user,
        None => image_family(&image_family_name).map(|family| family.ssh_user).unwrap_or("admin").to_string(),
    };
    let root_size = match options.int("aws-root-size") {
        None => None,
        Some(size) => Some(i32::try_from(size).map_err(|_| DriverError::invalid("--aws-root-size", "is too large"))?),
    };
    let swarm_ports = options.bool("aws-swarm-ports") || (machine.joins_swarm && !options.is_given("aws-swarm-ports"));
    let mut groups: Vec<String> = Vec::new();
    for group in options.list("aws-security-group") {
        if group.trim().is_empty() {
            return Err(DriverError::invalid("--aws-security-group", "a group name must not be empty"));
        }
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    Ok(AwsConfig {
        machine_name: machine.name.to_string(),
        token: crate::new_create_token(),
        region: options.string("aws-region"),
        profile: options.string("aws-profile"),
        endpoint: options.string("aws-endpoint"),
        ami: options.string("aws-ami"),
        image_family: image_family_name,
        ssh_user,
        ssh_port: options.port("aws-ssh-port", 22)?,
        engine_port: options.port("aws-engine-port", 2376)?,
        vpc_id: options.string("aws-vpc-id"),
        subnet_id: options.string("aws-subnet-id"),
        zone: options.string("aws-zone"),
        instance_type: options.string_or("aws-instance-type", "t3.small"),
        root_size,
        volume_type: options.string("aws-volume-type"),
        iam_instance_profile: options.string("aws-iam-instance-profile"),
        tags: [
            parse_tags(&options.string("aws-tags").unwrap_or_default())?,
            parse_tag_pairs(&options.string("amazonec2-tags").unwrap_or_default())?,
        ]
        .concat(),
        userdata: options.path("aws-userdata"),
        spot: options.bool("aws-spot"),
        spot_max_price: options.string("aws-spot-max-price"),
        imdsv2_optional: options.bool("aws-imds-v1"),
        security_group: groups.first().cloned().unwrap_or_else(|| DEFAULT_SECURITY_GROUP.to_string()),
        extra_security_groups: groups.iter().skip(1).cloned().collect(),
        open_ports: options.list("aws-open-port"),
        swarm_ports,
        use_private_address: options.bool("aws-use-private-address"),
        private_address_only: options.bool("aws-private-address-only"),
        keypair_name: options.string("aws-keypair-name"),
        ssh_keypath: options.path("aws-ssh-keypath"),
        keep_on_failure: options.bool("aws-keep-on-failure"),
        ssh_timeout: options.int("aws-ssh-timeout").and_then(|seconds| u64::try_from(seconds).ok()),
        created: Default::default(),
    })
}
