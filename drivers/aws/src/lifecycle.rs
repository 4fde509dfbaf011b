//! After create: the instance's state, start/stop/restart/kill, and `rm` (terminate, delete the
//! imported key pair, delete the security group when rmachine made it and nothing else uses it).
//! A record whose create was interrupted before the instance id was saved is found by its tag.

use crate::client::{Ec2, api_error, connect, tolerate};
use crate::launch::wait_until_running;
use crate::network::{delete_group_if_unused, filter, is_managed_group};
use crate::settings::{AwsConfig, MACHINE_TAG};
use aws_sdk_ec2::types::{Instance, InstanceStateName};
use rmachine_drivers::{DriverError, MachineState, PowerOperation, PowerOutcome, StateReport};
use std::time::{Duration, Instant};

const NOT_FOUND: &[&str] = &["InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"];
/// How long `rm` waits for the instance to be terminated before deleting the security group.
const TERMINATE_TIMEOUT: Duration = Duration::from_secs(300);

/// The instances this machine owns: the recorded one, else those tagged with its create token
/// (a create interrupted between RunInstances and saving the record).
async fn instance_ids(ec2: &Ec2, config: &AwsConfig) -> Result<Vec<String>, DriverError> {
    if let Some(id) = &config.created.instance_id {
        return Ok(vec![id.clone()]);
    }
    if config.token.is_empty() {
        return Ok(vec![]);
    }
    let found = ec2
        .client
        .describe_instances()
        .filters(filter(&format!("tag:{MACHINE_TAG}"), &config.token))
        .send()
        .await
        .map_err(|error| api_error("DescribeInstances", error))?;
    Ok(found
        .reservations()
        .iter()
        .flat_map(|reservation| reservation.instances())
        .filter(|instance| instance.state().and_then(|state| state.name()) != Some(&InstanceStateName::Terminated))
        .filter_map(|instance| instance.instance_id().map(str::to_string))
        .collect())
}

async fn describe(ec2: &Ec2, instance_id: &str) -> Result<Option<Instance>, DriverError> {
    let answer = ec2.client.describe_instances().instance_ids(instance_id).send().await;
    let Some(output) = tolerate("DescribeInstances", answer, NOT_FOUND)? else { return Ok(None) };
    Ok(output.reservations().iter().flat_map(|reservation| reservation.instances()).next().cloned())
}

pub fn map_state(state: Option<&InstanceStateName>) -> MachineState {
    match state {
        Some(InstanceStateName::Pending) => MachineState::Starting,
        Some(InstanceStateName::Running) => MachineState::Running,
        Some(InstanceStateName::Stopping | InstanceStateName::ShuttingDown) => MachineState::Stopping,
        Some(InstanceStateName::Stopped) => MachineState::Stopped,
        Some(InstanceStateName::Terminated) => MachineState::Error,
        _ => MachineState::Error,
    }
}

pub async fn state(config: &AwsConfig, timeout: Duration) -> StateReport {
    match tokio::time::timeout(timeout, ask_state(config)).await {
        Ok(Ok(report)) => report,
        Ok(Err(error)) => StateReport::with_reason(MachineState::Error, error.to_string()),
        Err(_) => {
            StateReport::with_reason(MachineState::Timeout, format!("EC2 did not answer within {}s", timeout.as_secs()))
        }
    }
}

async fn ask_state(config: &AwsConfig) -> Result<StateReport, DriverError> {
    let Some(instance_id) = &config.created.instance_id else {
        return Ok(StateReport::with_reason(
            MachineState::NotFound,
            "the create did not get as far as launching an instance",
        ));
    };
    let ec2 = connect(config).await?;
    let Some(instance) = describe(&ec2, instance_id).await? else {
        return Ok(StateReport::with_reason(
            MachineState::NotFound,
            format!("EC2 does not know instance {instance_id}"),
        ));
    };
    let name = instance.state().and_then(|state| state.name());
    Ok(match map_state(name) {
        MachineState::Running => StateReport::running(),
        other => {
            let reason = instance.state_reason().and_then(|reason| reason.message()).map(str::to_string);
            let state = name.map(|name| name.as_str()).unwrap_or("unknown");
            StateReport::with_reason(
                other,
                reason.map_or(format!("instance {instance_id} is {state}"), |why| {
                    format!("instance {instance_id} is {state}: {why}")
                }),
            )
        }
    })
}

pub async fn power(config: &mut AwsConfig, operation: PowerOperation) -> Result<PowerOutcome, DriverError> {
    let instance_id = config.created.instance_id.clone().ok_or_else(|| DriverError::Failed {
        operation: operation.verb().into(),
        reason: "the machine has no instance (its create did not get that far)".into(),
    })?;
    let ec2 = connect(config).await?;
    match operation {
        PowerOperation::Start => {
            ec2.client
                .start_instances()
                .instance_ids(&instance_id)
                .send()
                .await
                .map_err(|error| api_error("StartInstances", error))?;
            // The public IP changes on every start: record the new one.
            wait_until_running(&ec2, config).await?;
        }
        PowerOperation::Stop | PowerOperation::Kill => {
            let force = operation == PowerOperation::Kill;
            let operation_name = "StopInstances";
            ec2.client
                .stop_instances()
                .instance_ids(&instance_id)
                .force(force)
                .send()
                .await
                .map_err(|error| api_error(operation_name, error))?;
            config.created.public_ip = None;
        }
        PowerOperation::Restart => {
            ec2.client
                .reboot_instances()
                .instance_ids(&instance_id)
                .send()
                .await
                .map_err(|error| api_error("RebootInstances", error))?;
        }
    }
    Ok(PowerOutcome::Done)
}

/// Terminates the instance, deletes the imported key pair and, once the instance is gone, the
/// security group when rmachine made it and nothing else uses it.
pub async fn remove(config: &AwsConfig) -> Result<(), DriverError> {
    if config.created.tracked && !config.created.requested {
        // A create in this process that failed before asking EC2 to make anything.
        return Ok(());
    }
    let ec2 = connect(config).await?;
    let instances = instance_ids(&ec2, config).await?;
    if !instances.is_empty() {
        let terminated = ec2.client.terminate_instances().set_instance_ids(Some(instances.clone())).send().await;
        tolerate("TerminateInstances", terminated, NOT_FOUND)?;
    }
    if config.keypair_name.is_none() && !config.token.is_empty() {
        // The imported key's name is unique to this create, so deleting it by name is safe even
        // when the record never learnt it was imported; DeleteKeyPair is idempotent.
        let name = config.created.key_pair_name.clone().unwrap_or_else(|| config.generated_key_pair_name());
        let deleted = ec2.client.delete_key_pair().key_name(&name).send().await;
        tolerate("DeleteKeyPair", deleted, &["InvalidKeyPair.NotFound"])?;
    }
    let groups = match &config.created.security_group_id {
        Some(group_id) => std::iter::once(group_id).chain(&config.created.extra_security_group_ids).cloned().collect(),
        // An interrupted create may have made the groups without recording them: look them up by name.
        None => {
            let mut found = Vec::new();
            for name in config.security_groups() {
                found.extend(groups_named(&ec2, name).await?);
            }
            found
        }
    };
    for group_id in groups {
        if is_managed_group(&ec2, &group_id).await? {
            wait_until_terminated(&ec2, &instances).await?;
            delete_group_if_unused(&ec2, &group_id).await?;
        }
    }
    Ok(())
}

async fn groups_named(ec2: &Ec2, name: &str) -> Result<Vec<String>, DriverError> {
    let found = ec2
        .client
        .describe_security_groups()
        .filters(filter("group-name", name))
        .send()
        .await
        .map_err(|error| api_error("DescribeSecurityGroups", error))?;
    Ok(found.security_groups().iter().filter_map(|group| group.group_id().map(str::to_string)).collect())
}

async fn wait_until_terminated(ec2: &Ec2, instances: &[String]) -> Result<(), DriverError> {
    let deadline = Instant::now() + TERMINATE_TIMEOUT;
    for instance_id in instances {
        loop {
            let state = describe(ec2, instance_id)
                .await?
                .and_then(|instance| instance.state().and_then(|state| state.name()).cloned());
            if matches!(state, None | Some(InstanceStateName::Terminated)) {
                break;
            }
            if Instant::now() >= deadline {
                return Err(DriverError::Failed {
                    operation: format!("waiting for instance {instance_id} to terminate"),
                    reason: format!(
                        "still {} after {}s; run rm again to delete its security group",
                        state.map(|s| s.as_str().to_string()).unwrap_or_default(),
                        TERMINATE_TIMEOUT.as_secs()
                    ),
                });
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_states_map_to_machine_states() {
        assert_eq!(map_state(Some(&InstanceStateName::Pending)), MachineState::Starting);
        assert_eq!(map_state(Some(&InstanceStateName::Running)), MachineState::Running);
        assert_eq!(map_state(Some(&InstanceStateName::Stopping)), MachineState::Stopping);
        assert_eq!(map_state(Some(&InstanceStateName::ShuttingDown)), MachineState::Stopping);
        assert_eq!(map_state(Some(&InstanceStateName::Stopped)), MachineState::Stopped);
        assert_eq!(map_state(Some(&InstanceStateName::Terminated)), MachineState::Error);
    }
}
