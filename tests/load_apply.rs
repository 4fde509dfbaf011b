//! Load on the fan-out: `apply -f` of a cluster file of twelve machines on twelve test hosts
//! (Debian 12 with docker.io, 10.211.0.101-112, names `h-load-N`; one engine per host), plus a
//! thirteenth whose host does not exist (10.211.0.113), with `--parallel 12`, forming a swarm
//! of one manager and eleven workers. Nothing is lost (twelve machines, each engine answering,
//! each a node), nothing duplicated (each machine once in the store, in `ls` and in the swarm),
//! every failure is reported for its machine (the thirteenth, alone, with its error, and a
//! non-zero exit); applying again changes nothing; `destroy` removes everything. Prints
//! `figure: load_apply ...` (hosts, machines, wall times and memory that no test asserts).
//! Needs root (test hosts).

mod common;

use common::{TestHost, rmachine_command, ssh_keypair, text, with_env};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;
use std::time::Instant;

const HOSTS: usize = 12;

fn rmachine(home: &Path, store: &Path, args: &[&str]) -> Output {
    rmachine_command(store).args(args).env("HOME", home).output().expect("rmachine runs")
}

fn machine_name(index: usize) -> String {
    format!("load{index}")
}

fn ip(index: usize) -> String {
    format!("10.211.0.{}", 100 + index)
}

fn cluster_file(folder: &Path) -> String {
    let mut yaml = String::from(
        "name: load\ndefaults:\n  driver: generic\n  generic: { ssh-key: ~/id_ed25519 }\n  engine: { labels: [env=load] }\nmachines:\n",
    );
    for index in 1..=HOSTS + 1 {
        let role = if index == 1 { "manager" } else { "worker" };
        yaml.push_str(&format!(
            "  - name: {}\n    role: {role}\n    generic: {{ ip-address: {} }}\n",
            machine_name(index),
            ip(index)
        ));
        if index == HOSTS + 1 {
            yaml.push_str("    ssh-timeout: 5\n");
        }
    }
    yaml.push_str("swarm: { advertise: private }\n");
    let path = folder.join("cluster.yaml");
    std::fs::write(&path, yaml).unwrap();
    path.to_str().unwrap().to_string()
}

/// Memory in use on this machine, in MiB (MemTotal - MemAvailable).
fn memory_in_use() -> u64 {
    let info = std::fs::read_to_string("/proc/meminfo").unwrap();
    let field = |name: &str| -> u64 {
        let line = info.lines().find(|line| line.starts_with(name)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
    };
    field("MemTotal:") - field("MemAvailable:")
}

/// Each row of the summary table: (machine, result, what was done); a failure's error is on
/// indented lines below its row and is added to what was done.
fn summary_rows(summary: &str) -> Vec<(String, String, String)> {
    let mut rows: Vec<(String, String, String)> = Vec::new();
    for line in summary.lines().skip(1) {
        if line.starts_with(' ') {
            if let Some(row) = rows.last_mut() {
                row.2.push(' ');
                row.2.push_str(line.trim());
            }
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(name), Some(result)) = (parts.next(), parts.next()) else { continue };
        rows.push((name.to_string(), result.to_string(), parts.collect::<Vec<_>>().join(" ")));
    }
    rows
}

#[test]
fn apply_of_twelve_machines_in_parallel_loses_nothing_and_reports_each_failure() {
    let folder = tempfile::tempdir().unwrap();
    let (home, store) = (folder.path(), folder.path().join("store"));
    let (_, public_key) = ssh_keypair(home);
    let memory_before = memory_in_use();
    let started = Instant::now();
    let hosts: Vec<TestHost> = std::thread::scope(|scope| {
        let threads: Vec<_> = (1..=HOSTS)
            .map(|index| {
                let public_key = &public_key;
                scope.spawn(move || TestHost::start(&format!("h-load-{index}"), &ip(index), public_key, true))
            })
            .collect();
        threads.into_iter().map(|thread| thread.join().expect("a host starts")).collect()
    });
    let hosts_seconds = started.elapsed().as_secs_f64();
    let memory_per_host = memory_in_use().saturating_sub(memory_before) / HOSTS as u64;
    let file = cluster_file(home);

    let started = Instant::now();
    let applied = rmachine(home, &store, &["apply", "-f", &file, "--parallel", "12"]);
    let apply_seconds = started.elapsed().as_secs_f64();
    let summary = text(&applied.stdout);
    assert!(!applied.status.success(), "apply succeeded although one host does not exist:\n{summary}");
    let rows = summary_rows(&summary);
    let ghost = machine_name(HOSTS + 1);
    assert_eq!(rows.len(), HOSTS + 1, "one summary row per machine:\n{summary}\n{}", text(&applied.stderr));
    let names: BTreeSet<&str> = rows.iter().map(|(name, _, _)| name.as_str()).collect();
    assert_eq!(names.len(), HOSTS + 1, "a machine has two rows:\n{summary}");
    for (name, result, done) in &rows {
        if *name == ghost {
            assert!(result != "ok" && done.contains(&ip(HOSTS + 1)), "the failure names its host: {done}");
        } else {
            assert_eq!(result, "ok", "{name}: {done}\n{}", text(&applied.stderr));
        }
    }

    let listed = rmachine(home, &store, &["ls", "--json", "--timeout", "20"]);
    let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let mut running = BTreeSet::new();
    for row in rows.as_array().unwrap() {
        let name = row["Name"].as_str().unwrap().to_string();
        if name != ghost {
            assert_eq!(row["State"], "Running", "{row}");
            assert!(running.insert(name), "listed twice: {row}");
        }
    }
    assert_eq!(running.len(), HOSTS, "{rows}");
    let nodes = text(&with_env(&store, &machine_name(1), "docker node ls --format '{{.Hostname}} {{.Status}}'").stdout);
    let mut nodes: Vec<&str> = nodes.lines().collect();
    nodes.sort();
    let expected: Vec<String> = (1..=HOSTS).map(|index| format!("{} Ready", machine_name(index))).collect();
    let mut expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(nodes, expected, "every machine is one node of the swarm");

    let started = Instant::now();
    let again = rmachine(home, &store, &["apply", "-f", &file, "--parallel", "12"]);
    let again_seconds = started.elapsed().as_secs_f64();
    for (name, result, done) in summary_rows(&text(&again.stdout)) {
        if name != ghost {
            assert!(result == "ok" && done.contains("nothing"), "{name} changed on a second apply: {done}");
        }
    }

    let destroyed = rmachine(home, &store, &["destroy", "-f", &file]);
    assert!(destroyed.status.success(), "destroy: {}{}", text(&destroyed.stdout), text(&destroyed.stderr));
    let left: Vec<_> = std::fs::read_dir(store.join("machines")).unwrap().collect();
    assert!(left.is_empty(), "destroy left {left:?}");
    println!("figure: load_apply hosts {HOSTS} hosts");
    println!("figure: load_apply machines {} machines", HOSTS + 1);
    println!("figure: load_apply parallel 12 machines");
    println!("figure: load_apply hosts_up_time {hosts_seconds:.1} s");
    println!("figure: load_apply apply_time {apply_seconds:.1} s");
    println!("figure: load_apply second_apply_time {again_seconds:.1} s");
    println!("figure: load_apply memory_per_host {memory_per_host} MiB");
    drop(hosts);
}
