//! End to end for cluster files (`rmachine apply` / `destroy`) against real Debian 12 hosts from
//! tests/testbed: three machines are created in parallel and form a Docker Swarm (roles and node
//! labels as declared), a replicated service of an imported image runs on it, applying again
//! changes nothing, a fourth machine joins (while an unreachable one fails alone), `--prune` makes
//! it leave, and `destroy` removes the rest. Hosts 10.211.0.80-83 (`s6-` names). Needs root.

mod common;

use common::{TestHost, image_tarball, rmachine_command, ssh_keypair, succeeds, text, with_env};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

fn rmachine(home: &Path, store: &Path, args: &[&str]) -> Output {
    rmachine_command(store).args(args).env("HOME", home).output().expect("rmachine runs")
}

/// Runs a shell snippet with the docker CLI pointed at `machine` by `rmachine env`.
fn docker_on(store: &Path, machine: &str, script: &str) -> String {
    succeeds(&format!("docker on {machine}: {script}"), with_env(store, machine, script))
}

/// "HOSTNAME STATUS MANAGER-STATUS" of every node, sorted.
fn nodes(store: &Path) -> Vec<String> {
    let listing = docker_on(store, "s6m1", "docker node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'");
    let mut lines: Vec<String> = listing.lines().map(|line| line.trim().to_string()).collect();
    lines.sort();
    lines
}

/// Writes the cluster file: (name, role, ip) per machine; `w2_labels` are s6w2's engine labels.
fn cluster_file(folder: &Path, machines: &[(&str, &str, &str)], w2_labels: &str) -> String {
    let mut yaml = String::from(
        "name: s6e2e\n\
         defaults:\n  driver: generic\n  generic: { ssh-key: ~/id_ed25519 }\n  engine: { storage-driver: overlay2, userns-remap: default, labels: [env=test] }\n\
         machines:\n",
    );
    for (name, role, ip) in machines {
        yaml.push_str(&format!("  - name: {name}\n    role: {role}\n    generic: {{ ip-address: {ip} }}\n"));
        if *name == "s6w1" {
            yaml.push_str("    engine: { labels: [env=test, disk=ssd] }\n");
        }
        if *name == "s6w2" {
            yaml.push_str(&format!("    engine: {{ labels: [{w2_labels}] }}\n"));
        }
        if *name == "s6ghost" {
            yaml.push_str("    ssh-timeout: 5\n");
        }
    }
    yaml.push_str("swarm: { advertise: private }\n");
    let path = folder.join("cluster.yaml");
    std::fs::write(&path, yaml).unwrap();
    path.to_str().unwrap().to_string()
}

fn start_hosts(public_key: &Path, hosts: &[(&str, &str)]) -> Vec<TestHost> {
    std::thread::scope(|scope| {
        let started: Vec<_> =
            hosts.iter().map(|(name, ip)| scope.spawn(move || TestHost::start(name, ip, public_key, true))).collect();
        started.into_iter().map(|thread| thread.join().expect("a host starts")).collect()
    })
}

#[test]
fn a_cluster_file_builds_a_swarm_that_runs_a_service_grows_and_shrinks() {
    let folder = tempfile::tempdir().unwrap();
    let (home, store) = (folder.path(), folder.path().join("store"));
    let (_, public_key) = ssh_keypair(home);
    let hosts = start_hosts(
        &public_key,
        &[
            ("s6-e2e-m1", "10.211.0.80"),
            ("s6-e2e-w1", "10.211.0.81"),
            ("s6-e2e-w2", "10.211.0.82"),
            ("s6-e2e-w3", "10.211.0.83"),
        ],
    );
    let three =
        [("s6m1", "manager", "10.211.0.80"), ("s6w1", "worker", "10.211.0.81"), ("s6w2", "worker", "10.211.0.82")];
    let file = cluster_file(home, &three, "env=test");

    let plan = succeeds("apply --dry-run", rmachine(home, &store, &["apply", "-f", &file, "--dry-run"]));
    assert_eq!(
        plan,
        "s6m1: create, init swarm, update node role/labels\n\
         s6w1: create, join as worker, update node role/labels\n\
         s6w2: create, join as worker, update node role/labels\n"
    );
    assert!(!store.join("machines/s6m1").exists(), "--dry-run changed nothing");

    let started = Instant::now();
    let applied = rmachine(home, &store, &["apply", "-f", &file, "--parallel", "3"]);
    let summary = succeeds("apply", applied.clone());
    eprintln!(
        "apply of three machines took {:.1}s:\n{}{summary}",
        started.elapsed().as_secs_f64(),
        text(&applied.stderr)
    );
    assert!(summary.contains("s6m1   ok       created, initialised the swarm, node role/labels set"), "{summary}");
    assert!(summary.contains("s6w2   ok       created, joined as worker, node role/labels set"), "{summary}");
    assert!(!text(&applied.stderr).contains("SWMTKN") && !summary.contains("SWMTKN"), "a join token was printed");
    let records = std::fs::read_dir(store.join("machines"))
        .unwrap()
        .flat_map(|entry| std::fs::read_dir(entry.unwrap().path()).unwrap());
    for file in records {
        let content = std::fs::read(file.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&content).contains("SWMTKN"), "a join token was stored");
    }

    assert_eq!(nodes(&store), vec!["s6m1 Ready Leader", "s6w1 Ready", "s6w2 Ready"]);
    let w1 = docker_on(&store, "s6m1", "docker node inspect s6w1 --format '{{.Spec.Role}} {{json .Spec.Labels}}'");
    assert_eq!(w1.trim(), r#"worker {"disk":"ssd","env":"test"}"#);
    let m1 = docker_on(&store, "s6m1", "docker node inspect s6m1 --format '{{.Spec.Role}} {{json .Spec.Labels}}'");
    assert_eq!(m1.trim(), r#"manager {"env":"test"}"#);
    let listing = succeeds("ls", rmachine(home, &store, &["ls"]));
    assert!(listing.lines().next().unwrap().contains("SWARM"), "{listing}");
    let roles: Vec<(String, String)> = listing
        .lines()
        .skip(1)
        .map(|line| {
            let columns: Vec<&str> = line.split_whitespace().collect();
            (columns[0].to_string(), columns[5].to_string())
        })
        .collect();
    assert_eq!(
        roles,
        vec![("s6m1".into(), "manager".into()), ("s6w1".into(), "worker".into()), ("s6w2".into(), "worker".into())],
        "{listing}"
    );

    // No registry here: every node imports the image, then a service runs one replica per node.
    let tarball = image_tarball(home);
    for machine in ["s6m1", "s6w1", "s6w2"] {
        docker_on(&store, machine, &format!("docker import '{}' rmtest/busybox:1 >/dev/null", tarball.display()));
    }
    docker_on(
        &store,
        "s6m1",
        "docker service create --detach --name sleepers --replicas 3 --replicas-max-per-node 1 --no-resolve-image rmtest/busybox:1 sleep 3600 >/dev/null",
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let running = loop {
        let tasks = docker_on(
            &store,
            "s6m1",
            "docker service ps sleepers --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'",
        );
        let mut running: Vec<String> = tasks
            .lines()
            .filter(|line| line.contains("Running"))
            .map(|line| line.split_whitespace().next().unwrap().to_string())
            .collect();
        running.sort();
        if running.len() == 3 || Instant::now() > deadline {
            break running;
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    assert_eq!(running, vec!["s6m1", "s6w1", "s6w2"], "the service's three replicas run, one per node");

    // Applying again changes nothing.
    let records_before: Vec<String> = ["s6m1", "s6w1", "s6w2"]
        .iter()
        .map(|name| std::fs::read_to_string(store.join(format!("machines/{name}/machine.json"))).unwrap())
        .collect();
    let again = rmachine(home, &store, &["apply", "-f", &file]);
    assert_eq!(succeeds("apply again", again.clone()), "s6m1: nothing\ns6w1: nothing\ns6w2: nothing\n");
    assert!(text(&again.stderr).contains("nothing to do"), "{}", text(&again.stderr));
    let records_after: Vec<String> = ["s6m1", "s6w1", "s6w2"]
        .iter()
        .map(|name| std::fs::read_to_string(store.join(format!("machines/{name}/machine.json"))).unwrap())
        .collect();
    assert_eq!(records_before, records_after);
    assert_eq!(nodes(&store), vec!["s6m1 Ready Leader", "s6w1 Ready", "s6w2 Ready"]);

    // A changed engine setting is provisioned again, and the new label reaches the node.
    let file = cluster_file(home, &three, "env=test, zone=b");
    let plan = succeeds("apply --dry-run after a change", rmachine(home, &store, &["apply", "-f", &file, "--dry-run"]));
    assert_eq!(plan, "s6m1: nothing\ns6w1: nothing\ns6w2: provision, update node role/labels\n");
    let changed = succeeds("apply after a change", rmachine(home, &store, &["apply", "-f", &file]));
    assert!(changed.contains("s6w2   ok       provisioned (configuration applied), node role/labels set"), "{changed}");
    let labels = docker_on(&store, "s6w2", "docker info --format '{{json .Labels}}'");
    assert!(labels.contains("zone=b"), "{labels}");
    let w2 = docker_on(&store, "s6m1", "docker node inspect s6w2 --format '{{json .Spec.Labels}}'");
    assert_eq!(w2.trim(), r#"{"env":"test","zone":"b"}"#);
    let deadline = Instant::now() + Duration::from_secs(60);
    while nodes(&store) != vec!["s6m1 Ready Leader", "s6w1 Ready", "s6w2 Ready"] && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(1));
    }
    assert_eq!(
        nodes(&store),
        vec!["s6m1 Ready Leader", "s6w1 Ready", "s6w2 Ready"],
        "s6w2 is back after its engine restarted"
    );

    // A fourth machine joins; an unreachable fifth fails on its own and the exit code says so.
    let mut five = three.to_vec();
    five.push(("s6w3", "worker", "10.211.0.83"));
    five.push(("s6ghost", "worker", "10.211.0.89"));
    let file = cluster_file(home, &five, "env=test, zone=b");
    let grown = rmachine(home, &store, &["apply", "-f", &file]);
    assert!(!grown.status.success(), "one failed machine makes apply fail");
    let summary = text(&grown.stdout);
    assert!(summary.contains("s6w3      ok       created, joined as worker, node role/labels set"), "{summary}");
    assert!(
        summary.contains("s6ghost   failed") && summary.contains("10.211.0.89:22 did not answer SSH within 5s"),
        "{summary}"
    );
    assert!(summary.contains("s6m1      ok       nothing to do"), "{summary}");
    assert!(text(&grown.stderr).contains("1 of 5 machine(s) failed"), "{}", text(&grown.stderr));
    assert_eq!(nodes(&store), vec!["s6m1 Ready Leader", "s6w1 Ready", "s6w2 Ready", "s6w3 Ready"]);

    // Removed from the file, --prune drains it, makes it leave and removes it.
    let file = cluster_file(home, &three, "env=test, zone=b");
    let plan =
        succeeds("apply --dry-run --prune", rmachine(home, &store, &["apply", "-f", &file, "--dry-run", "--prune"]));
    assert_eq!(plan, "s6m1: nothing\ns6w1: nothing\ns6w2: nothing\ns6w3: drain, leave the swarm, remove\n");
    let pruned = succeeds("apply --prune", rmachine(home, &store, &["apply", "-f", &file, "--prune"]));
    assert!(pruned.contains("s6w3   ok       drained, left the swarm, removed"), "{pruned}");
    assert_eq!(nodes(&store), vec!["s6m1 Ready Leader", "s6w1 Ready", "s6w2 Ready"]);
    assert!(!store.join("machines/s6w3").exists());
    let w3_state = hosts[3].exec(&["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"]);
    assert_eq!(text(&w3_state.stdout).trim(), "inactive", "{}", text(&w3_state.stderr));

    let destroyed = succeeds("destroy", rmachine(home, &store, &["destroy", "-f", &file]));
    assert!(destroyed.contains("s6m1   ok       left the swarm, removed"), "{destroyed}");
    assert_eq!(std::fs::read_dir(store.join("machines")).unwrap().count(), 0);
    for host in &hosts[..3] {
        let state = host.exec(&["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"]);
        assert_eq!(text(&state.stdout).trim(), "inactive", "{}: {}", host.name, text(&state.stderr));
    }
    drop(hosts);
}

#[test]
fn a_bad_cluster_file_is_refused_with_its_line_and_column() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("lab.yaml");
    std::fs::write(
        &file,
        "defaults:\n  driver: generic\nmachines:\n  - name: m1\n    generic: { ip-address: 10.0.0.1, ssh-kee: x }\n",
    )
    .unwrap();
    let output =
        rmachine(folder.path(), &folder.path().join("store"), &["apply", "-f", file.to_str().unwrap(), "--dry-run"]);
    assert!(!output.status.success());
    let error = text(&output.stderr);
    assert!(error.contains(&format!("{}:5:", file.display())) && error.contains("unknown field `ssh-kee`"), "{error}");
    // A storage driver no Docker has is refused while the file is read (aufs, which Docker 24
    // removed, is checked against the host's engine instead: tests/e2e_dialect.rs).
    std::fs::write(&file, "defaults:\n  driver: generic\n  engine: { storage-driver: ntfs }\nmachines: []\n").unwrap();
    let error =
        text(&rmachine(folder.path(), &folder.path().join("store"), &["apply", "-f", file.to_str().unwrap()]).stderr);
    assert!(error.contains(&format!("{}:3:", file.display())) && error.contains("ntfs"), "{error}");
}
