//! Applying a cluster file: observe the store and the engines, plan (`cluster::plan`), then create
//! and provision machines in parallel (one failing does not stop the others), bring the swarm in
//! line through the first manager, and remove undeclared machines of the cluster (`--prune`).
//! `destroy` removes every machine of the cluster. Each machine ends with an [`Outcome`].

use crate::cluster::file::{Advertise, ClusterSpec, MachineSpec, Role};
use crate::cluster::plan::{MachinePlan, Membership, Observed, ObservedMachine, Plan, Removal, Step, node_labels};
use crate::cluster::swarm::Engine;
use crate::context::Context;
use crate::driver_config::DriverConfig;
use crate::flows::create::{CreateRequest, create_machine_with_progress};
use crate::flows::provision::reprovision_and_record;
use crate::machine_access::{docker_client, engine_url, open_store};
use crate::output::{Progress, ProgressGroup};
use crate::store::{MachineRecord, ProvisioningStatus, Store};
use crate::tls::DockerClient;
use anyhow::{Context as _, anyhow};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long one engine API call may take (a swarm join waits for the node to be accepted).
const SWARM_CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `apply` asks each engine for its swarm membership.
const OBSERVE_TIMEOUT: Duration = Duration::from_secs(10);

/// What happened to one machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub name: String,
    /// What was done, e.g. ["created", "joined as worker"].
    pub done: Vec<String>,
    pub error: Option<String>,
}

impl Outcome {
    fn new(name: &str) -> Outcome {
        Outcome { name: name.to_string(), done: Vec::new(), error: None }
    }

    fn fail(&mut self, error: anyhow::Error) {
        self.error = Some(format!("{error:#}"));
    }
}

/// The machines the file declares and those carrying its cluster label, with their swarm state.
pub async fn observe(store: &Store, spec: &ClusterSpec, client: &DockerClient) -> anyhow::Result<Observed> {
    let mut observed = Observed::default();
    for (name, record) in store.list()? {
        let Ok(record) = record else { continue };
        let declared = spec.machines.iter().any(|machine| machine.name == name);
        if !declared && record.cluster.as_deref() != Some(spec.name.as_str()) {
            continue;
        }
        let ready = record.status == ProvisioningStatus::Ready;
        let engine = Engine { client, url: engine_url(&record), machine: name.clone() };
        let swarm = match ready && spec.swarm.is_some() {
            true => {
                tokio::time::timeout(OBSERVE_TIMEOUT, engine.membership()).await.ok().and_then(Result::ok).flatten()
            }
            false => None,
        };
        if let Some(Membership { role: Role::Manager, .. }) = &swarm
            && observed.nodes.is_empty()
        {
            observed.nodes = engine.nodes().await.unwrap_or_default();
        }
        let found = ObservedMachine {
            cluster: record.cluster.clone(),
            driver: record.driver.clone(),
            engine: record.engine.clone(),
            tls_sans: record.tls_sans.clone(),
            ready,
            swarm,
        };
        observed.machines.insert(name, found);
    }
    Ok(observed)
}

/// Runs `plan`: machines first (`parallel` at a time), then the swarm, then the removals.
pub async fn run_plan(
    spec: &ClusterSpec,
    plan: &Plan,
    observed: &Observed,
    parallel: usize,
    context: &Context,
) -> anyhow::Result<Vec<Outcome>> {
    let store = Arc::new(open_store(context)?);
    let group = Arc::new(ProgressGroup::new(context.stderr_is_terminal));
    let semaphore = Arc::new(Semaphore::new(parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();
    for (index, machine_plan) in plan.machines.iter().enumerate() {
        let mut outcome = Outcome::new(&machine_plan.name);
        if let Some(problem) = &machine_plan.problem {
            outcome.error = Some(problem.clone());
        } else if let Some(spec_machine) = spec.machines.iter().find(|machine| machine.name == machine_plan.name) {
            label_with_cluster(&store, &machine_plan.name, &spec.name);
            let steps = machine_plan.steps.clone();
            if steps.iter().any(|step| matches!(step, Step::Create | Step::Provision)) {
                let (store, group, semaphore, context) =
                    (store.clone(), group.clone(), semaphore.clone(), context.clone());
                let (machine, cluster) = (spec_machine.clone(), spec.name.clone());
                tasks.spawn(async move {
                    let _permit = semaphore.acquire_owned().await;
                    let progress = group.machine(&machine.name);
                    let result = bring_up(&store, &machine, &cluster, &steps, &context, &progress).await;
                    progress.finish();
                    (index, result)
                });
            }
        }
        outcomes.insert(machine_plan.name.clone(), outcome);
    }
    while let Some(joined) = tasks.join_next().await {
        let (index, result) = joined.context("a machine's task panicked")?;
        let outcome = outcomes.get_mut(&plan.machines[index].name).expect("every planned machine has an outcome");
        match result {
            Ok(done) => outcome.done.push(done),
            Err(error) => outcome.fail(error),
        }
    }
    if spec.swarm.is_some() {
        let client = docker_client(&store, SWARM_CALL_TIMEOUT)?;
        bring_swarm_in_line(&store, spec, plan, observed, &client, &group, &mut outcomes).await;
        for removal in &plan.removals {
            outcomes.insert(removal.name.clone(), remove(&store, removal, spec, observed, Some(&client), &group).await);
        }
    } else {
        for removal in &plan.removals {
            outcomes.insert(removal.name.clone(), remove(&store, removal, spec, observed, None, &group).await);
        }
    }
    let mut ordered: Vec<Outcome> = plan.machines.iter().filter_map(|machine| outcomes.remove(&machine.name)).collect();
    ordered.extend(outcomes.into_values());
    Ok(ordered)
}

/// Records the cluster name in a machine that exists and does not carry one yet.
fn label_with_cluster(store: &Store, name: &str, cluster: &str) {
    if let Ok(mut record) = store.load(name)
        && record.cluster.is_none()
    {
        record.cluster = Some(cluster.to_string());
        let _ = store.save(&mut record);
    }
}

/// Creates or re-provisions one machine.
async fn bring_up(
    store: &Store,
    machine: &MachineSpec,
    cluster: &str,
    steps: &[Step],
    context: &Context,
    progress: &Progress,
) -> anyhow::Result<String> {
    if steps.contains(&Step::Create) {
        let request = CreateRequest {
            name: machine.name.clone(),
            driver: machine.driver.clone(),
            engine: machine.engine.clone(),
            tls_sans: machine.tls_sans.clone(),
            ssh_timeout: machine.ssh_timeout,
            engine_timeout: machine.engine_timeout,
        };
        let result = create_machine_with_progress(request, context, progress).await;
        label_with_cluster(store, &machine.name, cluster);
        result?;
        return Ok("created".into());
    }
    let mut record = store.load(&machine.name)?;
    record.engine = machine.engine.clone();
    record.tls_sans = machine.tls_sans.clone();
    store.save(&mut record)?;
    let report = reprovision_and_record(store, &mut record, context, machine.engine_timeout, progress).await?;
    Ok(if report.changed { "provisioned (configuration applied)".into() } else { "provisioned (no change)".into() })
}

fn engine<'a>(store: &Store, client: &'a DockerClient, name: &str) -> anyhow::Result<(Engine<'a>, MachineRecord)> {
    let record = store.load(name)?;
    Ok((Engine { client, url: engine_url(&record), machine: name.to_string() }, record))
}

/// Init, joins and node updates, in file order, managers before workers; a machine that failed
/// before is skipped.
async fn bring_swarm_in_line(
    store: &Store,
    spec: &ClusterSpec,
    plan: &Plan,
    observed: &Observed,
    client: &DockerClient,
    group: &ProgressGroup,
    outcomes: &mut BTreeMap<String, Outcome>,
) {
    let advertise = spec.swarm.as_ref().map(|swarm| swarm.advertise.clone()).unwrap_or(Advertise::Private);
    let initialising = plan
        .machines
        .iter()
        .find(|machine| machine.steps.contains(&Step::InitSwarm))
        .map(|machine| machine.name.clone());
    let manager_name = initialising.clone().or_else(|| {
        spec.machines
            .iter()
            .find(|machine| {
                observed
                    .machines
                    .get(&machine.name)
                    .and_then(|found| found.swarm.as_ref())
                    .is_some_and(|member| member.role == Role::Manager)
            })
            .map(|machine| machine.name.clone())
    });
    let mut ordered: Vec<&MachinePlan> =
        plan.machines.iter().filter(|machine| !machine.steps.contains(&Step::Join(Role::Worker))).collect();
    ordered.extend(plan.machines.iter().filter(|machine| machine.steps.contains(&Step::Join(Role::Worker))));
    for machine_plan in ordered {
        let swarm_steps: Vec<Step> = machine_plan
            .steps
            .iter()
            .copied()
            .filter(|step| matches!(step, Step::InitSwarm | Step::Join(_) | Step::UpdateNode))
            .collect();
        let outcome = outcomes.get_mut(&machine_plan.name).expect("every planned machine has an outcome");
        if swarm_steps.is_empty() || outcome.error.is_some() {
            continue;
        }
        let Some(spec_machine) = spec.machines.iter().find(|machine| machine.name == machine_plan.name) else {
            continue;
        };
        let result = async {
            let manager_name = manager_name.as_deref().ok_or_else(|| anyhow!("the swarm has no manager to join"))?;
            let (manager, _) = engine(store, client, manager_name)?;
            let (own, record) = engine(store, client, &machine_plan.name)?;
            let mut done = Vec::new();
            for step in &swarm_steps {
                match step {
                    Step::InitSwarm => {
                        let address = advertise_address(&record, &advertise, true);
                        group.status(&format!("({}) initialising the swarm, advertising {address}", machine_plan.name));
                        own.init(&address).await?;
                        done.push("initialised the swarm".to_string());
                    }
                    Step::Join(role) => {
                        group.status(&format!(
                            "({}) joining the swarm as {} through {manager_name}",
                            machine_plan.name,
                            role.as_str()
                        ));
                        own.join(&manager, *role, &advertise_address(&record, &advertise, false)).await?;
                        done.push(format!("joined as {}", role.as_str()));
                    }
                    Step::UpdateNode => {
                        let member = own
                            .membership()
                            .await?
                            .ok_or_else(|| anyhow!("machine '{}' is not in the swarm", machine_plan.name))?;
                        let role = spec_machine.role.unwrap_or(Role::Worker);
                        manager.set_role_and_labels(&member.node_id, role, &node_labels(&spec_machine.engine)).await?;
                        done.push("node role/labels set".to_string());
                    }
                    Step::Create | Step::Provision => {}
                }
            }
            anyhow::Ok(done)
        }
        .await;
        match result {
            Ok(done) => outcome.done.extend(done),
            Err(error) => outcome.fail(error),
        }
    }
}

/// The address a machine advertises to the swarm: the file's ADDRESS for the first manager, else
/// the machine's private or public address (for a generic host, both are its `ip-address`).
fn advertise_address(record: &MachineRecord, advertise: &Advertise, initialising: bool) -> String {
    let own = record.driver.driver().ip();
    match (advertise, &record.driver) {
        (Advertise::Address(address), _) if initialising => address.clone(),
        (Advertise::Private, DriverConfig::Aws(aws)) => aws.created.private_ip.clone().unwrap_or(own),
        (Advertise::Public, DriverConfig::Aws(aws)) => aws.created.public_ip.clone().unwrap_or(own),
        _ => own,
    }
}

/// Drains, makes leave and removes a swarm node, then removes the machine (`--prune`, `destroy`).
async fn remove(
    store: &Store,
    removal: &Removal,
    spec: &ClusterSpec,
    observed: &Observed,
    client: Option<&DockerClient>,
    group: &ProgressGroup,
) -> Outcome {
    let mut outcome = Outcome::new(&removal.name);
    let result = async {
        if let (Some(node_id), Some(client)) = (&removal.node_id, client) {
            let is_manager = |name: &str| {
                name != removal.name
                    && observed
                        .machines
                        .get(name)
                        .and_then(|found| found.swarm.as_ref())
                        .is_some_and(|member| member.role == Role::Manager)
            };
            let manager_name = spec
                .machines
                .iter()
                .map(|machine| machine.name.as_str())
                .find(|name| is_manager(name))
                .or_else(|| observed.machines.keys().map(String::as_str).find(|name| is_manager(name)));
            let (own, _) = engine(store, client, &removal.name)?;
            if let Some(manager_name) = manager_name {
                let (manager, _) = engine(store, client, manager_name)?;
                group.status(&format!("({}) draining its swarm node", removal.name));
                manager.drain(node_id).await?;
                outcome.done.push("drained".to_string());
                let _ = manager.wait_drained(node_id, Duration::from_secs(60)).await;
                own.leave().await?;
                outcome.done.push("left the swarm".to_string());
                manager.remove_node(node_id).await?;
            } else {
                own.leave().await?;
                outcome.done.push("left the swarm".to_string());
            }
        }
        remove_machine(store, &removal.name).await
    }
    .await;
    match result {
        Ok(()) => outcome.done.push("removed".to_string()),
        Err(error) => outcome.fail(error),
    }
    outcome
}

/// What `rm` does: the driver's resources, then the store entry.
async fn remove_machine(store: &Store, name: &str) -> anyhow::Result<()> {
    let record = store.load(name)?;
    record.driver.driver().remove().await.with_context(|| format!("removing machine '{name}'"))?;
    store.remove(name)?;
    Ok(())
}

/// Removes every machine of the cluster (declared or carrying its label): workers leave the
/// swarm first, managers last, then each machine is removed.
pub async fn destroy(spec: &ClusterSpec, context: &Context) -> anyhow::Result<Vec<Outcome>> {
    let store = open_store(context)?;
    let client = docker_client(&store, SWARM_CALL_TIMEOUT)?;
    let observed = observe(&store, spec, &client).await?;
    let group = ProgressGroup::new(context.stderr_is_terminal);
    let mut names: Vec<&String> = observed.machines.keys().collect();
    names
        .sort_by_key(|name| observed.machines[*name].swarm.as_ref().is_some_and(|member| member.role == Role::Manager));
    let mut outcomes = Vec::new();
    for name in names {
        let mut outcome = Outcome::new(name);
        let result = async {
            if observed.machines[name].swarm.is_some() {
                let (own, _) = engine(&store, &client, name)?;
                group.status(&format!("({name}) leaving the swarm"));
                own.leave().await?;
                outcome.done.push("left the swarm".to_string());
            }
            remove_machine(&store, name).await
        }
        .await;
        match result {
            Ok(()) => outcome.done.push("removed".to_string()),
            Err(error) => outcome.fail(error),
        }
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// The closing table: NAME RESULT DONE, with the error of each machine that failed.
pub fn render_summary(outcomes: &[Outcome]) -> String {
    let rows: Vec<[String; 3]> = outcomes
        .iter()
        .map(|outcome| {
            let result = if outcome.error.is_some() { "failed" } else { "ok" };
            let done = match (outcome.done.is_empty(), outcome.error.is_some()) {
                (true, true) => "-".to_string(),
                (true, false) => "nothing to do".to_string(),
                (false, _) => outcome.done.join(", "),
            };
            [outcome.name.clone(), result.to_string(), done]
        })
        .collect();
    let name_width = rows.iter().map(|row| row[0].chars().count()).chain([4]).max().unwrap_or(4);
    let mut text = format!("{:<name_width$}   RESULT   DONE\n", "NAME");
    for (row, outcome) in rows.iter().zip(outcomes) {
        text.push_str(&format!("{:<name_width$}   {:<6}   {}\n", row[0], row[1], row[2]));
        if let Some(error) = &outcome.error {
            text.push_str(&format!("{:<name_width$}   error: {}\n", "", error.lines().next().unwrap_or_default()));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_each_machine_and_its_error() {
        let outcomes = vec![
            Outcome { name: "m1".into(), done: vec!["created".into(), "initialised the swarm".into()], error: None },
            Outcome { name: "worker-2".into(), done: vec![], error: Some("SSH refused\nmore".into()) },
        ];
        assert_eq!(
            render_summary(&outcomes),
            "NAME       RESULT   DONE\n\
             m1         ok       created, initialised the swarm\n\
             worker-2   failed   -\n\
             \x20          error: SSH refused\n"
        );
    }
}
