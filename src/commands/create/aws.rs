//! `create`'s `--aws-*` flags (each also from the environment variable AWS or docker-machine
//! users know) and the AWS driver settings they make. Credentials are not flags: they come from
//! the standard AWS chain (environment, ~/.aws profiles, SSO, instance roles) and are never stored.

use clap::Parser;
use rmachine_driver_aws::{
    AwsConfig, DEFAULT_IMAGE_FAMILY, DEFAULT_SECURITY_GROUP, image_family, new_create_token, parse_tags,
};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(next_help_heading = "aws driver (--driver aws, alias amazonec2)")]
pub struct AwsArgs {
    /// Region; else AWS_REGION, AWS_DEFAULT_REGION or the profile's region
    #[arg(long, value_name = "REGION")]
    pub aws_region: Option<String>,

    /// ~/.aws profile for credentials and region (SSO profiles too: run 'aws sso login' first)
    #[arg(long, env = "AWS_PROFILE", value_name = "NAME")]
    pub aws_profile: Option<String>,

    /// Custom EC2 endpoint URL (EC2-compatible clouds, moto)
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub aws_endpoint: Option<String>,

    /// AMI id; without it the newest image of --aws-image-family is looked up
    #[arg(long, env = "AWS_AMI", value_name = "AMI")]
    pub aws_ami: Option<String>,

    /// Image family to look up: debian-12, ubuntu-24.04 or al2023
    #[arg(long, env = "AWS_IMAGE_FAMILY", default_value = DEFAULT_IMAGE_FAMILY, value_name = "FAMILY")]
    pub aws_image_family: String,

    /// SSH user; default: the family's (admin, ubuntu, ec2-user)
    #[arg(long, env = "AWS_SSH_USER", value_name = "USER")]
    pub aws_ssh_user: Option<String>,

    /// SSH port
    #[arg(long, env = "AWS_SSH_PORT", default_value_t = 22, value_name = "PORT")]
    pub aws_ssh_port: u16,

    /// Port the engine listens on with TLS
    #[arg(long, default_value_t = 2376, value_name = "PORT")]
    pub aws_engine_port: u16,

    /// VPC; default: the region's default VPC
    #[arg(long, env = "AWS_VPC_ID", value_name = "ID")]
    pub aws_vpc_id: Option<String>,

    /// Subnet; default: the VPC's default subnet (in --aws-zone when given)
    #[arg(long, env = "AWS_SUBNET_ID", value_name = "ID")]
    pub aws_subnet_id: Option<String>,

    /// Availability zone, e.g. eu-west-1a
    #[arg(long, env = "AWS_ZONE", value_name = "ZONE")]
    pub aws_zone: Option<String>,

    /// Instance type
    #[arg(long, env = "AWS_INSTANCE_TYPE", default_value = "t3.small", value_name = "TYPE")]
    pub aws_instance_type: String,

    /// Root volume size in GiB; default: the image's
    #[arg(long, env = "AWS_ROOT_SIZE", value_name = "GIB")]
    pub aws_root_size: Option<i32>,

    /// Root volume type (gp3, gp2, io2, ...); default: the image's
    #[arg(long, env = "AWS_VOLUME_TYPE", value_name = "TYPE")]
    pub aws_volume_type: Option<String>,

    /// IAM instance profile name or ARN
    #[arg(long, env = "AWS_INSTANCE_PROFILE", value_name = "NAME")]
    pub aws_iam_instance_profile: Option<String>,

    /// Extra tags, k=v,k2=v2
    #[arg(long, env = "AWS_TAGS", value_name = "TAGS")]
    pub aws_tags: Option<String>,

    /// cloud-init user data file
    #[arg(long, env = "AWS_USERDATA", value_name = "FILE")]
    pub aws_userdata: Option<PathBuf>,

    /// Launch a spot instance
    #[arg(long)]
    pub aws_spot: bool,

    /// Highest hourly price for the spot instance, in USD; default: the on-demand price
    #[arg(long, env = "AWS_SPOT_PRICE", value_name = "USD")]
    pub aws_spot_max_price: Option<String>,

    /// Allow IMDSv1 (by default the instance metadata service requires IMDSv2 tokens)
    #[arg(long)]
    pub aws_imds_v1: bool,

    /// Security group, created when missing with SSH and the engine port open
    #[arg(long, env = "AWS_SECURITY_GROUP", default_value = DEFAULT_SECURITY_GROUP, value_name = "NAME")]
    pub aws_security_group: String,

    /// Also open PORT[/tcp|udp] in the security group (repeatable)
    #[arg(long = "aws-open-port", value_name = "PORT[/PROTO]")]
    pub aws_open_ports: Vec<String>,

    /// Also open Docker Swarm's ports (2377/tcp, 7946/tcp+udp, 4789/udp)
    #[arg(long)]
    pub aws_swarm_ports: bool,

    /// Reach the instance at its private address (from inside the VPC)
    #[arg(long)]
    pub aws_use_private_address: bool,

    /// Give the instance no public address at all (implies --aws-use-private-address)
    #[arg(long)]
    pub aws_private_address_only: bool,

    /// Use this existing key pair instead of importing a fresh one (needs --aws-ssh-keypath)
    #[arg(long, env = "AWS_KEYPAIR_NAME", value_name = "NAME")]
    pub aws_keypair_name: Option<String>,

    /// Private key of --aws-keypair-name
    #[arg(long, env = "AWS_SSH_KEYPATH", value_name = "FILE")]
    pub aws_ssh_keypath: Option<PathBuf>,

    /// Keep the instance and key pair when the create fails (for debugging); 'rmachine rm' removes them
    #[arg(long)]
    pub aws_keep_on_failure: bool,
}

impl AwsArgs {
    pub fn config(&self, machine_name: &str) -> anyhow::Result<AwsConfig> {
        let ssh_user = match &self.aws_ssh_user {
            Some(user) => user.clone(),
            None => image_family(&self.aws_image_family).map(|family| family.ssh_user).unwrap_or("admin").to_string(),
        };
        Ok(AwsConfig {
            machine_name: machine_name.to_string(),
            token: new_create_token(),
            region: self.aws_region.clone(),
            profile: self.aws_profile.clone(),
            endpoint: self.aws_endpoint.clone(),
            ami: self.aws_ami.clone(),
            image_family: self.aws_image_family.clone(),
            ssh_user,
            ssh_port: self.aws_ssh_port,
            engine_port: self.aws_engine_port,
            vpc_id: self.aws_vpc_id.clone(),
            subnet_id: self.aws_subnet_id.clone(),
            zone: self.aws_zone.clone(),
            instance_type: self.aws_instance_type.clone(),
            root_size: self.aws_root_size,
            volume_type: self.aws_volume_type.clone(),
            iam_instance_profile: self.aws_iam_instance_profile.clone(),
            tags: parse_tags(self.aws_tags.as_deref().unwrap_or_default())?,
            userdata: self.aws_userdata.clone(),
            spot: self.aws_spot,
            spot_max_price: self.aws_spot_max_price.clone(),
            imdsv2_optional: self.aws_imds_v1,
            security_group: self.aws_security_group.clone(),
            open_ports: self.aws_open_ports.clone(),
            swarm_ports: self.aws_swarm_ports,
            use_private_address: self.aws_use_private_address,
            private_address_only: self.aws_private_address_only,
            keypair_name: self.aws_keypair_name.clone(),
            ssh_keypath: self.aws_ssh_keypath.clone(),
            keep_on_failure: self.aws_keep_on_failure,
            created: Default::default(),
        })
    }
}
