//! `create` for EC2: region and placement, the image, the machine's key pair, the security group,
//! RunInstances (tags, IMDSv2, spot, root volume, user data), then waiting for `running` and an
//! address. Each thing made is written into the settings as soon as it exists, so a failure or an
//! interrupted create can be undone by `remove`.

use crate::client::{Ec2, api_error, connect, error_code};
use crate::image::{ChosenImage, choose_image};
use crate::network::{Placement, ensure_security_groups, machine_tag, placement};
use crate::settings::AwsConfig;
use aws_sdk_ec2::primitives::Blob;
use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, HttpTokensState, IamInstanceProfileSpecification, InstanceInterruptionBehavior,
    InstanceMarketOptionsRequest, InstanceMetadataEndpointState, InstanceMetadataOptionsRequest,
    InstanceNetworkInterfaceSpecification, InstanceStateName, InstanceType, MarketType, ResourceType, SpotInstanceType,
    SpotMarketOptions, Tag, TagSpecification, VolumeType,
};
use rmachine_drivers::files::{copy_private, generate_ed25519_key};
use rmachine_drivers::{CreateContext, DriverError};
use std::time::{Duration, Instant};

/// The machine's generated key inside its folder.
pub const KEY_FILE_NAME: &str = "id_ed25519";
/// The store's copy of `--aws-ssh-keypath`.
const USER_KEY_FILE_NAME: &str = "id_ssh";
/// How long an instance may take to be running with an address.
const RUNNING_TIMEOUT: Duration = Duration::from_secs(600);
const POLL_INTERVAL: Duration = Duration::from_secs(2);

pub async fn create(config: &mut AwsConfig, context: &CreateContext<'_>) -> Result<(), DriverError> {
    config.created.tracked = true;
    let ec2 = connect(config).await?;
    config.region = Some(ec2.region.clone());
    let placement = placement(&ec2, config).await?;
    config.created.vpc_id = Some(placement.vpc_id.clone());
    let image = choose_image(&ec2, config).await?;
    config.created.image_id = Some(image.image_id.clone());
    let user_data = match &config.userdata {
        Some(path) => {
            Some(aws_smithy_types::base64::encode(std::fs::read(path).map_err(|source| DriverError::Failed {
                operation: "reading --aws-userdata".into(),
                reason: format!("{}: {source}", path.display()),
            })?))
        }
        None => None,
    };

    config.created.requested = true;
    let key_name = key_pair(&ec2, config, context).await?;
    let mut group_ids = ensure_security_groups(&ec2, config, &placement.vpc_id).await?;
    record_groups(config, &group_ids);
    let mut launched =
        run_instance(&ec2, config, &placement, &image, &key_name, &group_ids, user_data.as_deref()).await;
    if let Err(Some("InvalidGroup.NotFound")) = launched.as_ref().map_err(|error| error_code(error)) {
        // A parallel `rm` deleted a shared group between our check and the launch: make it again.
        group_ids = ensure_security_groups(&ec2, config, &placement.vpc_id).await?;
        record_groups(config, &group_ids);
        launched = run_instance(&ec2, config, &placement, &image, &key_name, &group_ids, user_data.as_deref()).await;
    }
    let output = launched.map_err(|error| api_error("RunInstances", error))?;
    let instance_id = output.instances().first().and_then(|instance| instance.instance_id()).ok_or_else(|| {
        DriverError::Failed { operation: "RunInstances".into(), reason: "the answer named no instance".into() }
    })?;
    config.created.instance_id = Some(instance_id.to_string());
    wait_until_running(&ec2, config).await
}

/// Records the ids of the machine's groups (the first one is `--aws-security-group`'s first).
fn record_groups(config: &mut AwsConfig, group_ids: &[String]) {
    config.created.security_group_id = group_ids.first().cloned();
    config.created.extra_security_group_ids = group_ids.iter().skip(1).cloned().collect();
}

/// The user's key pair (its private key copied into the machine's folder), or a fresh ed25519
/// key imported under a name unique to this create.
async fn key_pair(ec2: &Ec2, config: &mut AwsConfig, context: &CreateContext<'_>) -> Result<String, DriverError> {
    if let (Some(name), Some(path)) = (config.keypair_name.clone(), config.ssh_keypath.clone()) {
        let relative = context.machine_directory.join(USER_KEY_FILE_NAME);
        copy_private(&path, &context.store_root.join(&relative))?;
        config.created.ssh_key = Some(relative);
        return Ok(name);
    }
    let relative = context.machine_directory.join(KEY_FILE_NAME);
    let absolute = context.store_root.join(&relative);
    let public_line = generate_ed25519_key(&absolute, &format!("rmachine-{}", config.machine_name))?;
    config.created.ssh_key = Some(relative);
    let name = config.generated_key_pair_name();
    // Recorded before the call: if the answer is lost, the key may exist all the same.
    config.created.key_pair_name = Some(name.clone());
    ec2.client
        .import_key_pair()
        .key_name(&name)
        .public_key_material(Blob::new(public_line.into_bytes()))
        .tag_specifications(tags(ResourceType::KeyPair, config))
        .send()
        .await
        .map_err(|error| api_error("ImportKeyPair", error))?;
    Ok(name)
}

fn tags(resource: ResourceType, config: &AwsConfig) -> TagSpecification {
    let mut specification = TagSpecification::builder()
        .resource_type(resource)
        .tags(Tag::builder().key("Name").value(&config.machine_name).build())
        .tags(machine_tag(&config.token));
    for (key, value) in &config.tags {
        specification = specification.tags(Tag::builder().key(key).value(value).build());
    }
    specification.build()
}

async fn run_instance(
    ec2: &Ec2,
    config: &AwsConfig,
    placement: &Placement,
    image: &ChosenImage,
    key_name: &str,
    group_ids: &[String],
    user_data: Option<&str>,
) -> Result<
    aws_sdk_ec2::operation::run_instances::RunInstancesOutput,
    aws_sdk_ec2::error::SdkError<
        aws_sdk_ec2::operation::run_instances::RunInstancesError,
        aws_sdk_ec2::config::http::HttpResponse,
    >,
> {
    let metadata = InstanceMetadataOptionsRequest::builder()
        .http_endpoint(InstanceMetadataEndpointState::Enabled)
        .http_tokens(if config.imdsv2_optional { HttpTokensState::Optional } else { HttpTokensState::Required })
        .build();
    let mut request = ec2
        .client
        .run_instances()
        .image_id(&image.image_id)
        .instance_type(InstanceType::from(config.instance_type.as_str()))
        .min_count(1)
        .max_count(1)
        .key_name(key_name)
        .client_token(&config.token)
        .metadata_options(metadata)
        .tag_specifications(tags(ResourceType::Instance, config))
        .tag_specifications(tags(ResourceType::Volume, config))
        .set_user_data(user_data.map(str::to_string));
    if config.private_address_only {
        let interface = InstanceNetworkInterfaceSpecification::builder()
            .device_index(0)
            .subnet_id(&placement.subnet_id)
            .set_groups(Some(group_ids.to_vec()))
            .associate_public_ip_address(false)
            .delete_on_termination(true)
            .build();
        request = request.network_interfaces(interface);
    } else {
        request = request.subnet_id(&placement.subnet_id).set_security_group_ids(Some(group_ids.to_vec()));
    }
    if config.root_size.is_some() || config.volume_type.is_some() {
        let device = image.root_device_name.clone().unwrap_or_else(|| "/dev/xvda".into());
        let ebs = EbsBlockDevice::builder()
            .set_volume_size(config.root_size)
            .set_volume_type(config.volume_type.as_deref().map(VolumeType::from))
            .delete_on_termination(true)
            .build();
        request = request.block_device_mappings(BlockDeviceMapping::builder().device_name(device).ebs(ebs).build());
    }
    if let Some(profile) = &config.iam_instance_profile {
        let specification = if profile.starts_with("arn:") {
            IamInstanceProfileSpecification::builder().arn(profile).build()
        } else {
            IamInstanceProfileSpecification::builder().name(profile).build()
        };
        request = request.iam_instance_profile(specification);
    }
    if config.spot {
        let spot = SpotMarketOptions::builder()
            .set_max_price(config.spot_max_price.clone())
            .spot_instance_type(SpotInstanceType::OneTime)
            .instance_interruption_behavior(InstanceInterruptionBehavior::Terminate)
            .build();
        request = request.instance_market_options(
            InstanceMarketOptionsRequest::builder().market_type(MarketType::Spot).spot_options(spot).build(),
        );
    }
    request.send().await
}

/// Polls DescribeInstances until the instance runs and has the address rmachine will use.
pub async fn wait_until_running(ec2: &Ec2, config: &mut AwsConfig) -> Result<(), DriverError> {
    let instance_id = config.created.instance_id.clone().unwrap_or_default();
    let deadline = Instant::now() + RUNNING_TIMEOUT;
    let failed =
        |reason: String| DriverError::Failed { operation: format!("waiting for instance {instance_id}"), reason };
    loop {
        let answer = ec2.client.describe_instances().instance_ids(&instance_id).send().await;
        let instance = match answer {
            Ok(output) => output.reservations().iter().flat_map(|reservation| reservation.instances()).next().cloned(),
            // Eventual consistency: a fresh instance may not be visible yet.
            Err(error) if error_code(&error) == Some("InvalidInstanceID.NotFound") => None,
            Err(error) => return Err(api_error("DescribeInstances", error)),
        };
        if let Some(instance) = instance {
            config.created.private_ip = instance.private_ip_address().map(str::to_string);
            config.created.public_ip = instance.public_ip_address().map(str::to_string);
            let state = instance.state().and_then(|state| state.name()).cloned();
            match state {
                Some(InstanceStateName::Running) if config.address().is_some() => return Ok(()),
                Some(InstanceStateName::Running) if !config.use_private_address && !config.private_address_only => {
                    return Err(failed(
                        "it runs without a public IP (its subnet does not map public IPs): use --aws-use-private-address or a public subnet".into(),
                    ));
                }
                Some(InstanceStateName::ShuttingDown | InstanceStateName::Terminated | InstanceStateName::Stopped) => {
                    let reason =
                        instance.state_reason().and_then(|reason| reason.message()).unwrap_or("no reason given");
                    return Err(failed(format!("it went to {} instead of running: {reason}", state.unwrap().as_str())));
                }
                _ => {}
            }
        }
        if Instant::now() >= deadline {
            return Err(failed(format!("not running with an address after {}s", RUNNING_TIMEOUT.as_secs())));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
