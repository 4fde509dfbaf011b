//! Applying a cluster file: observe the store and the engines, plan (`cluster::plan`), then create
//! and provision machines in parallel (one failing does not stop the others), bring the swarm in
//! line through the first manager, and remove undeclared machines of the cluster (`--prune`).
//! `destroy` removes every machine of the cluster. Each machine ends with a fan-out [`Outcome`];
//! machines are removed by the one removal flow.

use crate::cluster::file::{Advertise, ClusterSpec, MachineSpec, Role};
use crate::cluster::plan::{MachinePlan, Membership, Observed, ObservedMachine, Plan, Removal, Step, node_labels};
use crate::cluster::swarm::Engine;
use crate::context::Context;
use crate::flows::create::{CreateRequest, create_machine_with_progress};
use crate::flows::fanout::{self, Outcome};
use crate::flows::provision::reprovision_and_record;
use crate::flows::remove::remove_by_name;
use crate::machine_access::{Machine, docker_client, open_machine, open_store};
use crate::output::{Progress, ProgressGroup};
use crate::store::{ProvisioningStatus, Store};
use crate::tls::DockerClient;
use anyhow::anyhow;
use rmachine_provision::EngineOptions;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long one engine API call may take (a swarm join waits for the node to be accepted).
const SWARM_CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `apply` asks each engine for its swarm membership.
const OBSERVE_TIMEOUT: Duration = Duration::from_secs(10);

/// The machines the file declares and those carrying its cluster label, with their swarm state.
pub async fn observe(
    store: &Store,
    spec: &ClusterSpec,
    client: &DockerClient,
    context: &Context,
) -> anyhow::Result<Observed> {
    let mut observed = Observed::default();
    for (name, record) in store.list()? {
        let Ok(record) = record else { continue };
        let declared = spec.machines.iter().any(|machine| machine.name == name);
        if !declared && record.cluster.as_deref() != Some(spec.name.as_str()) {
            continue;
        }
        let driver_name = record.driver.name.clone();
        // A machine whose driver is missing is observed as not ready, at no address.
        let machine = Machine::from_record(record.clone(), context).ok();
        let engine_url = machine.as_ref().map(Machine::engine_url).unwrap_or_default();
        let ready = record.status == ProvisioningStatus::Ready && machine.is_some();
        let engine = Engine { client, url: engine_url.clone(), machine: name.clone() };
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
            driver: driver_name,
            host_identity: machine.as_ref().and_then(|machine| machine.driver.host_identity()),
            engine_url,
            engine: machine.map_or(record.engine.clone(), |machine| machine.record.engine),
            tls_sans: record.tls_sans.clone(),
            ready,
            swarm,
        };
        observed.machines.insert(name, found);
    }
    Ok(observed)
}

/// Runs `plan`: machines first (`parallel` at a time, through the fan-out), then the swarm, then
/// the removals.
pub async fn run_plan(
    spec: &ClusterSpec,
    plan: &Plan,
    observed: &Observed,
    parallel: usize,
    context: &Context,
) -> anyhow::Result<Vec<Outcome>> {
    let store = open_store(context)?;
    let group = ProgressGroup::new(context.stderr_is_terminal);
    let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();
    let mut to_bring_up = Vec::new();
    for machine_plan in &plan.machines {
        let mut outcome = Outcome::new(&machine_plan.name);
        if let Some(problem) = &machine_plan.problem {
            outcome.error = Some(problem.clone());
        } else if spec.machines.iter().any(|machine| machine.name == machine_plan.name) {
            label_with_cluster(&store, &machine_plan.name, &spec.name);
            if machine_plan.steps.iter().any(|step| matches!(step, Step::Create | Step::Provision)) {
                to_bring_up.push(machine_plan.name.clone());
            }
        }
        outcomes.insert(machine_plan.name.clone(), outcome);
    }
    let brought_up = fanout::for_each(&to_bring_up, parallel, |name| {
        let (store, group) = (&store, &group);
        async move {
            let machine = spec.machines.iter().find(|machine| machine.name == name).expect("planned from the spec");
            let steps = &plan.machines.iter().find(|planned| planned.name == name).expect("planned").steps;
            let progress = group.machine(name);
            let result = bring_up(store, machine, &spec.name, steps, context, &progress).await;
            progress.finish();
            result.map(|done| vec![done])
        }
    })
    .await;
    for outcome in brought_up {
        outcomes.insert(outcome.name.clone(), outcome);
    }
    if let Some(signal) = context.interrupts.signal() {
        // Stopped: the machines said where they stopped; the swarm and removals wait for a new apply.
        group.status(&format!(
            "interrupted by {}: the swarm and removals are left for the next 'rmachine apply'",
            signal.name()
        ));
        return Ok(outcomes.into_values().collect());
    }
    let client = match spec.swarm {
        Some(_) => Some(docker_client(&store, SWARM_CALL_TIMEOUT)?),
        None => None,
    };
    if let Some(client) = &client {
        let surroundings = Surroundings { store: &store, group: &group, context };
        bring_swarm_in_line(&surroundings, spec, plan, observed, client, &mut outcomes).await;
    }
    for removal in &plan.removals {
        let outcome = remove(&store, removal, spec, observed, client.as_ref(), &group, context).await;
        outcomes.insert(removal.name.clone(), outcome);
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
            driver: context.registry.open(&machine.driver.name, &machine.driver.settings)?,
            engine: machine.engine.clone(),
            tls_sans: machine.tls_sans.clone(),
            ssh_timeout: Some(machine.ssh_timeout),
            engine_timeout: machine.engine_timeout,
            cluster: Some(cluster.to_string()),
        };
        create_machine_with_progress(request, context, progress).await?;
        return Ok("created".into());
    }
    let mut existing = open_machine(store, context, &machine.name)?;
    existing.record.engine = EngineOptions { port: existing.driver.engine_port(), ..machine.engine.clone() };
    existing.record.tls_sans = machine.tls_sans.clone();
    existing.save(store)?;
    let report = reprovision_and_record(store, &mut existing, context, machine.engine_timeout, progress).await?;
    Ok(if report.changed { "provisioned (configuration applied)".into() } else { "provisioned (no change)".into() })
}

fn engine<'a>(
    store: &Store,
    client: &'a DockerClient,
    name: &str,
    context: &Context,
) -> anyhow::Result<(Engine<'a>, Machine)> {
    let machine = open_machine(store, context, name)?;
    Ok((Engine { client, url: machine.engine_url(), machine: name.to_string() }, machine))
}

/// What the swarm steps work with: the store, the progress lines and the run's context.
#[derive(Clone, Copy)]
struct Surroundings<'a> {
    store: &'a Store,
    group: &'a ProgressGroup,
    context: &'a Context,
}

/// The manager others join through: the machine that initialises the swarm in this plan, else
/// the file's first machine that is a manager already.
fn swarm_manager(spec: &ClusterSpec, plan: &Plan, observed: &Observed) -> Option<String> {
    let initialising = plan.machines.iter().find(|machine| machine.steps.contains(&Step::InitSwarm));
    initialising.map(|machine| machine.name.clone()).or_else(|| {
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
    })
}

/// Init, joins and node updates, in file order, managers before workers; a machine that failed
/// before is skipped.
async fn bring_swarm_in_line(
    surroundings: &Surroundings<'_>,
    spec: &ClusterSpec,
    plan: &Plan,
    observed: &Observed,
    client: &DockerClient,
    outcomes: &mut BTreeMap<String, Outcome>,
) {
    let Surroundings { store, group, context } = *surroundings;
    let advertise = spec.swarm.as_ref().map(|swarm| swarm.advertise.clone()).unwrap_or(Advertise::Private);
    let manager_name = swarm_manager(spec, plan, observed);
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
            let (manager, _) = engine(store, client, manager_name, context)?;
            let (own, record) = engine(store, client, &machine_plan.name, context)?;
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
fn advertise_address(machine: &Machine, advertise: &Advertise, initialising: bool) -> String {
    let addresses = machine.driver.addresses();
    let chosen = match advertise {
        Advertise::Address(address) if initialising => Some(address.clone()),
        Advertise::Private => addresses.private,
        Advertise::Public => addresses.public,
        Advertise::Address(_) => None,
    };
    chosen.unwrap_or_else(|| machine.driver.ip())
}

/// Drains, makes leave and removes a swarm node, then removes the machine (`--prune`, `destroy`).
async fn remove(
    store: &Store,
    removal: &Removal,
    spec: &ClusterSpec,
    observed: &Observed,
    client: Option<&DockerClient>,
    group: &ProgressGroup,
    context: &Context,
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
            let (own, _) = engine(store, client, &removal.name, context)?;
            if let Some(manager_name) = manager_name {
                let (manager, _) = engine(store, client, manager_name, context)?;
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
        remove_and_warn(store, &removal.name, group, context).await
    }
    .await;
    match result {
        Ok(()) => outcome.done.push("removed".to_string()),
        Err(error) => outcome.fail(error),
    }
    outcome
}

/// Removes a machine by the one removal flow, showing what it could not clean up.
async fn remove_and_warn(store: &Store, name: &str, group: &ProgressGroup, context: &Context) -> anyhow::Result<()> {
    let removed = remove_by_name(store, context, name, false).await?;
    for warning in &removed.warnings {
        group.status(&format!("warning: ({name}) {warning}"));
    }
    Ok(())
}

/// Removes every machine of the cluster (declared or carrying its label): workers leave the
/// swarm first, managers last, then each machine is removed.
pub async fn destroy(spec: &ClusterSpec, context: &Context) -> anyhow::Result<Vec<Outcome>> {
    let store = open_store(context)?;
    let client = docker_client(&store, SWARM_CALL_TIMEOUT)?;
    let observed = observe(&store, spec, &client, context).await?;
    let group = ProgressGroup::new(context.stderr_is_terminal);
    let mut names: Vec<&String> = observed.machines.keys().collect();
    names
        .sort_by_key(|name| observed.machines[*name].swarm.as_ref().is_some_and(|member| member.role == Role::Manager));
    let mut outcomes = Vec::new();
    for name in names {
        let mut outcome = Outcome::new(name);
        let result = async {
            if observed.machines[name].swarm.is_some() {
                let (own, _) = engine(&store, &client, name, context)?;
                group.status(&format!("({name}) leaving the swarm"));
                own.leave().await?;
                outcome.done.push("left the swarm".to_string());
            }
            remove_and_warn(&store, name, &group, context).await
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
