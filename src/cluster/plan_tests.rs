//! Tests of the plan: fresh clusters, no-op re-applies, changed engines, joins, node labels, prune.

use super::*;
use crate::cluster::file::{Advertise, SwarmSpec};
use crate::store::DriverRecord;
use rmachine_drivers::{Driver, GenericConfig};
use std::time::Duration;

fn generic_config(ip: &str, key: &str) -> GenericConfig {
    GenericConfig {
        ip_address: ip.into(),
        ssh_user: "root".into(),
        ssh_port: 22,
        ssh_key: Some(key.into()),
        engine_port: 2376,
    }
}

fn generic(ip: &str, key: &str) -> DriverRecord {
    let config = generic_config(ip, key);
    DriverRecord { name: config.name().to_string(), settings: config.settings() }
}

/// A machine of the store as `apply` observes it, from its generic driver's settings.
fn observed_generic(ip: &str, key: &str) -> (String, Option<String>, String) {
    let config = generic_config(ip, key);
    (config.name().to_string(), config.host_identity(), config.engine_url())
}

fn engine(labels: &[&str]) -> EngineOptions {
    EngineOptions { labels: labels.iter().map(|label| label.to_string()).collect(), ..EngineOptions::default() }
}

fn machine(name: &str, role: Role, ip: &str) -> MachineSpec {
    MachineSpec {
        name: name.into(),
        role: Some(role),
        driver: generic(ip, "/home/ann/.ssh/id"),
        host_identity: generic_config(ip, "/home/ann/.ssh/id").host_identity(),
        engine: engine(&["env=test"]),
        tls_sans: vec![],
        ssh_timeout: Duration::from_secs(120),
        engine_timeout: Duration::from_secs(90),
    }
}

fn cluster() -> ClusterSpec {
    ClusterSpec {
        name: "lab".into(),
        machines: vec![
            machine("m1", Role::Manager, "10.0.0.1"),
            machine("w1", Role::Worker, "10.0.0.2"),
            machine("w2", Role::Worker, "10.0.0.3"),
        ],
        swarm: Some(SwarmSpec { advertise: Advertise::Private }),
    }
}

/// The cluster fully applied: every machine ready, in the swarm, labelled (keys are store copies).
fn applied(spec: &ClusterSpec) -> Observed {
    let mut observed = Observed::default();
    for (index, machine) in spec.machines.iter().enumerate() {
        let declared: GenericConfig = serde_json::from_value(machine.driver.settings.clone()).unwrap();
        let node_id = format!("node{index}");
        let role = machine.role.unwrap();
        let (driver, host_identity, engine_url) =
            observed_generic(&declared.ip_address, &format!("machines/{}/id_ssh", machine.name));
        observed.machines.insert(
            machine.name.clone(),
            ObservedMachine {
                cluster: Some(spec.name.clone()),
                driver,
                host_identity,
                engine_url,
                engine: machine.engine.clone(),
                tls_sans: vec![],
                ready: true,
                swarm: Some(Membership { node_id: node_id.clone(), role }),
            },
        );
        observed.nodes.insert(node_id, NodeView { role, labels: node_labels(&machine.engine) });
    }
    observed
}

fn steps(plan: &Plan) -> Vec<(String, Vec<Step>)> {
    plan.machines.iter().map(|machine| (machine.name.clone(), machine.steps.clone())).collect()
}

#[test]
fn a_fresh_cluster_is_created_initialised_and_joined() {
    let plan = plan(&cluster(), &Observed::default(), false);
    assert_eq!(
        steps(&plan),
        vec![
            ("m1".into(), vec![Step::Create, Step::InitSwarm, Step::UpdateNode]),
            ("w1".into(), vec![Step::Create, Step::Join(Role::Worker), Step::UpdateNode]),
            ("w2".into(), vec![Step::Create, Step::Join(Role::Worker), Step::UpdateNode]),
        ]
    );
    assert_eq!(
        plan.render(),
        "m1: create, init swarm, update node role/labels\nw1: create, join as worker, update node role/labels\nw2: create, join as worker, update node role/labels\n"
    );
    assert!(!plan.changes_nothing());
}

#[test]
fn re_applying_an_applied_cluster_does_nothing() {
    let spec = cluster();
    let plan = plan(&spec, &applied(&spec), true);
    assert!(plan.changes_nothing(), "{}", plan.render());
    assert_eq!(plan.render(), "m1: nothing\nw1: nothing\nw2: nothing\n");
}

#[test]
fn a_changed_engine_setting_or_a_failed_machine_is_provisioned_again() {
    let mut spec = cluster();
    let mut observed = applied(&spec);
    spec.machines[1].engine.storage_driver = Some("overlay2".into());
    observed.machines.get_mut("w2").unwrap().ready = false;
    let plan = plan(&spec, &observed, false);
    assert_eq!(steps(&plan)[1].1, vec![Step::Provision]);
    assert_eq!(steps(&plan)[2].1, vec![Step::Provision]);
    assert_eq!(steps(&plan)[0].1, vec![]);
}

#[test]
fn an_added_machine_joins_the_existing_swarm_and_changed_labels_update_the_node() {
    let mut spec = cluster();
    let mut observed = applied(&spec);
    spec.machines.push(machine("w3", Role::Worker, "10.0.0.4"));
    spec.machines[1].engine.labels.push("disk=ssd".into());
    observed.machines.get_mut("w1").unwrap().engine = spec.machines[1].engine.clone();
    let plan = plan(&spec, &observed, false);
    assert_eq!(steps(&plan)[3].1, vec![Step::Create, Step::Join(Role::Worker), Step::UpdateNode]);
    assert_eq!(steps(&plan)[1].1, vec![Step::UpdateNode]);
    assert_eq!(steps(&plan)[0].1, vec![]);
}

#[test]
fn a_worker_declared_manager_is_promoted_through_a_node_update() {
    let mut spec = cluster();
    let observed = applied(&spec);
    spec.machines[1].role = Some(Role::Manager);
    assert_eq!(steps(&plan(&spec, &observed, false))[1].1, vec![Step::UpdateNode]);
}

#[test]
fn prune_removes_only_undeclared_machines_of_this_cluster() {
    let spec = cluster();
    let mut observed = applied(&spec);
    let mut stranger = observed.machines["w2"].clone();
    stranger.cluster = Some("other".into());
    observed.machines.insert("x1".into(), stranger);
    let mut unlabelled = observed.machines["w2"].clone();
    unlabelled.cluster = None;
    observed.machines.insert("x2".into(), unlabelled);
    let mut smaller = spec.clone();
    smaller.machines.pop();
    let pruned = plan(&smaller, &observed, true);
    assert_eq!(pruned.removals, vec![Removal { name: "w2".into(), node_id: Some("node2".into()) }]);
    assert!(pruned.render().ends_with("w2: drain, leave the swarm, remove\n"), "{}", pruned.render());
    assert!(plan(&smaller, &observed, false).removals.is_empty(), "without --prune nothing is removed");
}

#[test]
fn machines_of_another_cluster_or_host_are_refused_not_changed() {
    let spec = cluster();
    let mut observed = applied(&spec);
    observed.machines.get_mut("w1").unwrap().cluster = Some("other".into());
    let (_, host_identity, engine_url) = observed_generic("10.9.9.9", "machines/w2/id_ssh");
    let w2 = observed.machines.get_mut("w2").unwrap();
    (w2.host_identity, w2.engine_url) = (host_identity, engine_url);
    let plan = plan(&spec, &observed, false);
    assert!(plan.machines[1].problem.as_deref().unwrap().contains("belongs to cluster 'other'"));
    assert!(plan.machines[2].problem.as_deref().unwrap().contains("other driver settings"));
    assert!(plan.machines[2].steps.is_empty());
    assert!(!plan.changes_nothing());
}

#[test]
fn without_a_swarm_section_there_are_no_swarm_steps() {
    let mut spec = cluster();
    spec.swarm = None;
    for machine in &mut spec.machines {
        machine.role = None;
    }
    let plan = plan(&spec, &Observed::default(), false);
    assert!(plan.machines.iter().all(|machine| machine.steps == vec![Step::Create]));
}

#[test]
fn when_the_first_manager_is_gone_a_new_one_joins_the_remaining_swarm() {
    let mut spec = cluster();
    spec.machines.insert(0, machine("m0", Role::Manager, "10.0.0.9"));
    let observed = applied(&cluster());
    let plan = plan(&spec, &observed, false);
    assert_eq!(steps(&plan)[0].1, vec![Step::Create, Step::Join(Role::Manager), Step::UpdateNode]);
}
