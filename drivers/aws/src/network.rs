//! Where an instance goes: the VPC and subnet (the user's, else the default VPC's subnet for the
//! zone), and the security group, created when missing and shared without racing: parallel
//! creates all try CreateSecurityGroup, the losers see `InvalidGroup.Duplicate` and look it up,
//! and each rule is authorized on its own, `InvalidPermission.Duplicate` meaning already there.

use crate::client::{Ec2, api_error, tolerate};
use crate::settings::{AwsConfig, MACHINE_TAG, MANAGED_GROUP_TAG, PortRule};
use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, ResourceType, SecurityGroup, Tag, TagSpecification};
use rmachine_drivers::DriverError;

/// The subnet an instance is launched into and its VPC.
pub struct Placement {
    pub vpc_id: String,
    pub subnet_id: String,
}

pub fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn failed(operation: &str, reason: String) -> DriverError {
    DriverError::Failed { operation: operation.to_string(), reason }
}

/// Resolves `--aws-subnet-id`, else `--aws-vpc-id` (or the default VPC) and a subnet in it,
/// preferring the zone's default subnet.
pub async fn placement(ec2: &Ec2, config: &AwsConfig) -> Result<Placement, DriverError> {
    if let Some(subnet_id) = &config.subnet_id {
        let found = ec2
            .client
            .describe_subnets()
            .subnet_ids(subnet_id)
            .send()
            .await
            .map_err(|error| api_error("DescribeSubnets", error))?;
        let subnet =
            found.subnets().first().ok_or_else(|| failed("finding the subnet", format!("no subnet {subnet_id}")))?;
        let vpc_id = subnet.vpc_id().unwrap_or_default().to_string();
        if let Some(wanted) = &config.vpc_id
            && *wanted != vpc_id
        {
            return Err(DriverError::InvalidSetting {
                flag: "--aws-subnet-id".into(),
                problem: format!("subnet {subnet_id} is in {vpc_id}, not in --aws-vpc-id {wanted}"),
            });
        }
        return Ok(Placement { vpc_id, subnet_id: subnet_id.clone() });
    }
    let vpc_id = match &config.vpc_id {
        Some(vpc_id) => vpc_id.clone(),
        None => {
            let found = ec2
                .client
                .describe_vpcs()
                .filters(filter("is-default", "true"))
                .send()
                .await
                .map_err(|error| api_error("DescribeVpcs", error))?;
            found.vpcs().first().and_then(|vpc| vpc.vpc_id()).map(str::to_string).ok_or_else(|| {
                failed(
                    "finding the default VPC",
                    format!("region {} has no default VPC: pass --aws-vpc-id or --aws-subnet-id", ec2.region),
                )
            })?
        }
    };
    let mut request = ec2.client.describe_subnets().filters(filter("vpc-id", &vpc_id));
    let zone = config.zone.as_deref().map(|zone| crate::settings::availability_zone(zone, &ec2.region));
    if let Some(zone) = &zone {
        request = request.filters(filter("availability-zone", zone));
    }
    let found = request.send().await.map_err(|error| api_error("DescribeSubnets", error))?;
    let mut subnets: Vec<_> = found.subnets().iter().filter(|subnet| subnet.subnet_id().is_some()).collect();
    subnets.sort_by_key(|subnet| {
        (!subnet.default_for_az().unwrap_or(false), subnet.availability_zone().map(str::to_string))
    });
    let subnet = subnets.first().ok_or_else(|| {
        failed(
            "finding a subnet",
            format!("{vpc_id} has no subnet{}", zone.as_ref().map(|zone| format!(" in {zone}")).unwrap_or_default()),
        )
    })?;
    Ok(Placement { vpc_id, subnet_id: subnet.subnet_id().unwrap_or_default().to_string() })
}

async fn find_group(ec2: &Ec2, name: &str, vpc_id: &str) -> Result<Option<SecurityGroup>, DriverError> {
    let found = ec2
        .client
        .describe_security_groups()
        .filters(filter("group-name", name))
        .filters(filter("vpc-id", vpc_id))
        .send()
        .await
        .map_err(|error| api_error("DescribeSecurityGroups", error))?;
    Ok(found.security_groups().first().cloned())
}

fn has_rule(group: &SecurityGroup, rule: &PortRule) -> bool {
    group.ip_permissions().iter().any(|permission| {
        permission.ip_protocol() == Some(rule.protocol)
            && permission.from_port() == Some(i32::from(rule.port))
            && permission.to_port() == Some(i32::from(rule.port))
            && permission.ip_ranges().iter().any(|range| range.cidr_ip() == Some("0.0.0.0/0"))
    })
}

/// How `ensure_security_group` came by the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupOrigin {
    /// It existed already.
    Found,
    /// This call created it.
    Created,
    /// It was missing, but a parallel create made it first (`InvalidGroup.Duplicate`).
    LostRace,
}

/// Every group the machine joins (`--aws-security-group` may be repeated), found or created;
/// their ids in order.
pub async fn ensure_security_groups(ec2: &Ec2, config: &AwsConfig, vpc_id: &str) -> Result<Vec<String>, DriverError> {
    let mut ids = Vec::new();
    for name in config.security_groups() {
        ids.push(ensure_named_group(ec2, config, name, vpc_id).await?.0);
    }
    Ok(ids)
}

/// Finds or creates group `name` and makes sure it lets in the machine's rules; returns its id.
pub async fn ensure_named_group(
    ec2: &Ec2,
    config: &AwsConfig,
    name: &str,
    vpc_id: &str,
) -> Result<(String, GroupOrigin), DriverError> {
    let rules = config.ingress_rules()?;
    let mut origin = GroupOrigin::Found;
    let group = match find_group(ec2, name, vpc_id).await? {
        Some(group) => group,
        None => {
            let tags = TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroup)
                .tags(Tag::builder().key(MANAGED_GROUP_TAG).value("true").build())
                .tags(Tag::builder().key("Name").value(name).build())
                .build();
            let created = ec2
                .client
                .create_security_group()
                .group_name(name)
                .description("rmachine: SSH and the container engine")
                .vpc_id(vpc_id)
                .tag_specifications(tags)
                .send()
                .await;
            // Another create made it first: share theirs.
            origin = match tolerate("CreateSecurityGroup", created, &["InvalidGroup.Duplicate"])? {
                Some(_) => GroupOrigin::Created,
                None => GroupOrigin::LostRace,
            };
            find_group(ec2, name, vpc_id).await?.ok_or_else(|| {
                failed("creating the security group", format!("'{name}' in {vpc_id} was created but cannot be found"))
            })?
        }
    };
    let group_id = group.group_id().unwrap_or_default().to_string();
    for rule in rules.iter().filter(|rule| !has_rule(&group, rule)) {
        let permission = IpPermission::builder()
            .ip_protocol(rule.protocol)
            .from_port(i32::from(rule.port))
            .to_port(i32::from(rule.port))
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").description("rmachine").build())
            .build();
        let authorized =
            ec2.client.authorize_security_group_ingress().group_id(&group_id).ip_permissions(permission).send().await;
        tolerate("AuthorizeSecurityGroupIngress", authorized, &["InvalidPermission.Duplicate"])?;
    }
    Ok((group_id, origin))
}

/// Whether the group exists and carries the tag rmachine puts on groups it creates.
pub async fn is_managed_group(ec2: &Ec2, group_id: &str) -> Result<bool, DriverError> {
    let found = ec2.client.describe_security_groups().group_ids(group_id).send().await;
    let Some(found) = tolerate("DescribeSecurityGroups", found, &["InvalidGroup.NotFound", "InvalidGroupId.NotFound"])?
    else {
        return Ok(false);
    };
    Ok(found.security_groups().first().is_some_and(|group| {
        group.tags().iter().any(|tag| tag.key() == Some(MANAGED_GROUP_TAG) && tag.value() == Some("true"))
    }))
}

/// Deletes the group unless an instance other than terminated ones uses it (the caller checked
/// that rmachine created it). Returns whether it was deleted; one in use or gone is left alone.
pub async fn delete_group_if_unused(ec2: &Ec2, group_id: &str) -> Result<bool, DriverError> {
    let users = ec2
        .client
        .describe_instances()
        .filters(filter("instance.group-id", group_id))
        .filters(
            Filter::builder()
                .name("instance-state-name")
                .values("pending")
                .values("running")
                .values("stopping")
                .values("stopped")
                .values("shutting-down")
                .build(),
        )
        .send()
        .await
        .map_err(|error| api_error("DescribeInstances", error))?;
    if users.reservations().iter().any(|reservation| !reservation.instances().is_empty()) {
        return Ok(false);
    }
    let deleted = ec2.client.delete_security_group().group_id(group_id).send().await;
    // DependencyViolation: something (a create racing us, an ENI) uses it after all.
    Ok(tolerate(
        "DeleteSecurityGroup",
        deleted,
        &["DependencyViolation", "InvalidGroup.NotFound", "InvalidGroupId.NotFound"],
    )?
    .is_some())
}

/// The rmachine tag that marks what one create made.
pub fn machine_tag(token: &str) -> Tag {
    Tag::builder().key(MACHINE_TAG).value(token).build()
}
