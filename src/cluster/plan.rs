//! What `apply` must do to bring the machines and the swarm to what the cluster file declares,
//! computed from what was observed, without touching anything: a pure function, so `--dry-run`
//! shows exactly what `apply` then does.

use super::file::{ClusterSpec, MachineSpec, Role};
use rmachine_provision::EngineOptions;
use std::collections::BTreeMap;
use std::fmt;

/// A machine of the store as `apply` found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedMachine {
    pub cluster: Option<String>,
    /// Its driver's name, and what makes its host the one it is (`Driver::host_identity`).
    pub driver: String,
    pub host_identity: Option<String>,
    pub engine_url: String,
    pub engine: EngineOptions,
    pub tls_sans: Vec<String>,
    /// Created, provisioned and verified (not `creating` nor `failed`).
    pub ready: bool,
    /// Its engine's swarm membership, when it is an active swarm node.
    pub swarm: Option<Membership>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub node_id: String,
    pub role: Role,
}

/// A swarm node as a manager lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    pub role: Role,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    pub machines: BTreeMap<String, ObservedMachine>,
    /// The swarm's nodes by id, from a manager; empty without a swarm.
    pub nodes: BTreeMap<String, NodeView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Create,
    Provision,
    /// `swarm init` on this machine, the first manager.
    InitSwarm,
    Join(Role),
    /// Set the node's role and add its labels, through a manager.
    UpdateNode,
}

impl fmt::Display for Step {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Create => formatter.write_str("create"),
            Step::Provision => formatter.write_str("provision"),
            Step::InitSwarm => formatter.write_str("init swarm"),
            Step::Join(role) => write!(formatter, "join as {}", role.as_str()),
            Step::UpdateNode => formatter.write_str("update node role/labels"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachinePlan {
    pub name: String,
    pub steps: Vec<Step>,
    /// Why this machine cannot be brought in line (it is then left alone and reported).
    pub problem: Option<String>,
}

/// A machine of the cluster that the file no longer declares (`--prune`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub name: String,
    /// Its swarm node id: it is drained, leaves, and is removed from the node list first.
    pub node_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub machines: Vec<MachinePlan>,
    pub removals: Vec<Removal>,
}

impl Plan {
    pub fn changes_nothing(&self) -> bool {
        self.removals.is_empty()
            && self.machines.iter().all(|machine| machine.steps.is_empty() && machine.problem.is_none())
    }

    /// One line per machine: "NAME: create, join as worker" / "NAME: nothing".
    pub fn render(&self) -> String {
        let mut text = String::new();
        for machine in &self.machines {
            let steps: Vec<String> = machine.steps.iter().map(Step::to_string).collect();
            let what = match (&machine.problem, steps.is_empty()) {
                (Some(problem), _) => format!("cannot apply: {problem}"),
                (None, true) => "nothing".to_string(),
                (None, false) => steps.join(", "),
            };
            text.push_str(&format!("{}: {what}\n", machine.name));
        }
        for removal in &self.removals {
            let what = if removal.node_id.is_some() { "drain, leave the swarm, remove" } else { "remove" };
            text.push_str(&format!("{}: {what}\n", removal.name));
        }
        text
    }
}

/// The plan that brings `observed` to `spec`; `prune` also removes the cluster's undeclared machines.
pub fn plan(spec: &ClusterSpec, observed: &Observed, prune: bool) -> Plan {
    let swarm_has_manager = spec.machines.iter().any(|machine| {
        observed
            .machines
            .get(&machine.name)
            .and_then(|found| found.swarm.as_ref())
            .is_some_and(|member| member.role == Role::Manager)
    });
    let first_manager =
        spec.machines.iter().find(|machine| machine.role == Some(Role::Manager)).map(|machine| &machine.name);
    let machines = spec
        .machines
        .iter()
        .map(|machine| {
            let found = observed.machines.get(&machine.name);
            let mut plan = MachinePlan { name: machine.name.clone(), steps: Vec::new(), problem: None };
            match found {
                None => plan.steps.push(Step::Create),
                Some(found) => {
                    if let Some(problem) = conflict(spec, machine, found) {
                        plan.problem = Some(problem);
                        return plan;
                    }
                    if !found.ready || found.engine != machine.engine || found.tls_sans != machine.tls_sans {
                        plan.steps.push(Step::Provision);
                    }
                }
            }
            if let (Some(_), Some(role)) = (&spec.swarm, machine.role) {
                match found.and_then(|found| found.swarm.as_ref()) {
                    None if !swarm_has_manager && first_manager == Some(&machine.name) => {
                        plan.steps.push(Step::InitSwarm)
                    }
                    None => plan.steps.push(Step::Join(role)),
                    Some(_) => {}
                }
                let node =
                    found.and_then(|found| found.swarm.as_ref()).and_then(|member| observed.nodes.get(&member.node_id));
                let wanted = node_labels(&machine.engine);
                let in_line = node.is_some_and(|node| {
                    node.role == role && wanted.iter().all(|(key, value)| node.labels.get(key) == Some(value))
                });
                let joining = plan.steps.iter().any(|step| matches!(step, Step::InitSwarm | Step::Join(_)));
                if (joining && !wanted.is_empty()) || (!joining && !in_line) {
                    plan.steps.push(Step::UpdateNode);
                }
            }
            plan
        })
        .collect();
    let removals = if prune {
        observed
            .machines
            .iter()
            .filter(|(name, found)| {
                found.cluster.as_deref() == Some(spec.name.as_str())
                    && !spec.machines.iter().any(|machine| &machine.name == *name)
            })
            .map(|(name, found)| Removal {
                name: name.clone(),
                node_id: found.swarm.as_ref().map(|member| member.node_id.clone()),
            })
            .collect()
    } else {
        Vec::new()
    };
    Plan { machines, removals }
}

/// Why an existing machine cannot be taken as the declared one.
fn conflict(spec: &ClusterSpec, machine: &MachineSpec, found: &ObservedMachine) -> Option<String> {
    if let Some(other) = found.cluster.as_deref().filter(|other| *other != spec.name) {
        return Some(format!("machine '{}' exists and belongs to cluster '{other}'", machine.name));
    }
    // A cloud machine's host is known only once it exists: then only the driver must match.
    let differs = machine.driver.name != found.driver
        || matches!((&machine.host_identity, &found.host_identity), (Some(wanted), Some(have)) if wanted != have);
    differs.then(|| {
        format!(
            "machine '{}' exists with other driver settings ({} at {}); remove it ('rmachine rm {}') or change the file",
            machine.name, found.driver, found.engine_url, machine.name
        )
    })
}

/// The machine's engine labels as swarm node labels.
pub fn node_labels(engine: &EngineOptions) -> BTreeMap<String, String> {
    engine
        .labels
        .iter()
        .filter_map(|label| label.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
