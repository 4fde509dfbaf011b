//! The aws driver's kind: its `--aws-*` options (each also from the environment variable AWS or
//! docker-machine users know) and the settings they make. Credentials are not options: they come
//! from the standard AWS chain (environment, ~/.aws profiles, SSO, instance roles) and are never
//! stored.

use crate::settings::{AwsConfig, DEFAULT_IMAGE_FAMILY, DEFAULT_SECURITY_GROUP, image_family, parse_tags};
use rmachine_drivers::{
    DockerMachineHost, Driver, DriverEnvironment, DriverError, DriverKind, DriverOptions, ImportedSettings, NewMachine,
    OptionSpec, OptionValue, bool_option, check_port, int_option, list_option, path_option, settings_from_json,
    string_option,
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
            string_option("aws-region", "Region; else AWS_REGION, AWS_DEFAULT_REGION or the profile's region")
                .value_name("REGION"),
            string_option(
                "aws-profile",
                "~/.aws profile for credentials and region (SSO profiles too: run 'aws sso login' first)",
            )
            .env("AWS_PROFILE")
            .value_name("NAME"),
            string_option("aws-endpoint", "Custom EC2 endpoint URL (EC2-compatible clouds, moto)")
                .env("AWS_ENDPOINT_URL")
                .value_name("URL"),
            string_option("aws-ami", "AMI id; without it the newest image of --aws-image-family is looked up")
                .env("AWS_AMI")
                .value_name("AMI"),
            string_option("aws-image-family", "Image family to look up: debian-12, ubuntu-24.04 or al2023")
                .env("AWS_IMAGE_FAMILY")
                .value_name("FAMILY")
                .default_value(text(DEFAULT_IMAGE_FAMILY)),
            string_option("aws-ssh-user", "SSH user; default: the family's (admin, ubuntu, ec2-user)")
                .env("AWS_SSH_USER")
                .value_name("USER"),
            int_option("aws-ssh-port", "SSH port", 22).env("AWS_SSH_PORT").value_name("PORT").check(check_port),
            int_option("aws-engine-port", "Port the engine listens on with TLS", 2376)
                .value_name("PORT")
                .check(check_port),
            string_option("aws-vpc-id", "VPC; default: the region's default VPC").env("AWS_VPC_ID").value_name("ID"),
            string_option("aws-subnet-id", "Subnet; default: the VPC's default subnet (in --aws-zone when given)")
                .env("AWS_SUBNET_ID")
                .value_name("ID"),
            string_option("aws-zone", "Availability zone, e.g. eu-west-1a").env("AWS_ZONE").value_name("ZONE"),
            string_option("aws-instance-type", "Instance type")
                .env("AWS_INSTANCE_TYPE")
                .value_name("TYPE")
                .default_value(text("t3.small")),
            OptionSpec::new(
                "aws-root-size",
                rmachine_drivers::OptionKind::Int,
                "Root volume size in GiB; default: the image's",
            )
            .env("AWS_ROOT_SIZE")
            .value_name("GIB"),
            string_option("aws-volume-type", "Root volume type (gp3, gp2, io2, ...); default: the image's")
                .env("AWS_VOLUME_TYPE")
                .value_name("TYPE"),
            string_option("aws-iam-instance-profile", "IAM instance profile name or ARN")
                .env("AWS_INSTANCE_PROFILE")
                .value_name("NAME"),
            string_option("aws-tags", "Extra tags, k=v,k2=v2").env("AWS_TAGS").value_name("TAGS"),
            path_option("aws-userdata", "cloud-init user data file").env("AWS_USERDATA").value_name("FILE"),
            bool_option("aws-spot", "Launch a spot instance"),
            string_option(
                "aws-spot-max-price",
                "Highest hourly price for the spot instance, in USD; default: the on-demand price",
            )
            .env("AWS_SPOT_PRICE")
            .value_name("USD"),
            bool_option(
                "aws-imds-v1",
                "Allow IMDSv1 (by default the instance metadata service requires IMDSv2 tokens)",
            ),
            string_option(
                "aws-security-group",
                "Security group, created when missing with SSH and the engine port open",
            )
            .env("AWS_SECURITY_GROUP")
            .value_name("NAME")
            .default_value(text(DEFAULT_SECURITY_GROUP)),
            list_option("aws-open-port", "Also open PORT[/tcp|udp] in the security group (repeatable)")
                .value_name("PORT[/PROTO]"),
            bool_option("aws-swarm-ports", "Also open Docker Swarm's ports (2377/tcp, 7946/tcp+udp, 4789/udp)"),
            bool_option("aws-use-private-address", "Reach the instance at its private address (from inside the VPC)"),
            bool_option(
                "aws-private-address-only",
                "Give the instance no public address at all (implies --aws-use-private-address)",
            ),
            string_option(
                "aws-keypair-name",
                "Use this existing key pair instead of importing a fresh one (needs --aws-ssh-keypath)",
            )
            .env("AWS_KEYPAIR_NAME")
            .value_name("NAME"),
            path_option("aws-ssh-keypath", "Private key of --aws-keypair-name")
                .env("AWS_SSH_KEYPATH")
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
        ]
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

/// The settings of a machine to be created. A machine that joins a swarm opens the swarm's ports
/// unless `--aws-swarm-ports` was given explicitly.
pub fn config_from_options(machine: &NewMachine<'_>, options: &DriverOptions) -> Result<AwsConfig, DriverError> {
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
        tags: parse_tags(&options.string("aws-tags").unwrap_or_default())?,
        userdata: options.path("aws-userdata"),
        spot: options.bool("aws-spot"),
        spot_max_price: options.string("aws-spot-max-price"),
        imdsv2_optional: options.bool("aws-imds-v1"),
        security_group: options.string_or("aws-security-group", DEFAULT_SECURITY_GROUP),
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
