//! End to end for the everyday commands against real Debian 12 hosts from tests/testbed (range
//! 10.211.0.50-69, names c5-*): scp both ways over rmachine's own SSH, lifecycle commands on a
//! generic host (restart reboots it; the others say they cannot), status/ip/url/inspect/ls as
//! JSON and templates, docker contexts through the real docker CLI (isolated with DOCKER_CONFIG),
//! the SSH engine transport with no TCP port, and `ls --timeout` against a host that drops packets.
//! Needs root, debootstrap and network namespaces; `.ci/run` installs all of it.

mod common;

use common::{TestHost, fails, rmachine, rmachine_command, ssh_keypair, succeeds, text};
use std::path::Path;
use std::process::{Command, Output};

fn rmachine_with(store: &Path, args: &[&str], environment: &[(&str, &Path)]) -> Output {
    let mut command = rmachine_command(store);
    command.args(args);
    for (name, value) in environment {
        command.env(name, value);
    }
    command.output().expect("rmachine runs")
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"))
}

fn create_generic(store: &Path, name: &str, ip: &str, key: &Path, extra: &[&str]) {
    let key = key.to_str().unwrap();
    let mut args = vec!["create", "--driver", "generic", "--generic-ip-address", ip, "--generic-ssh-key", key];
    args.extend_from_slice(extra);
    args.push(name);
    succeeds("create", rmachine(store, &args));
}

fn docker(config: &Path, args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .env("DOCKER_CONFIG", config)
        .env_remove("DOCKER_HOST")
        .output()
        .expect("docker runs")
}

#[test]
fn scp_lifecycle_formats_and_docker_contexts_on_a_generic_host() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start("c5-everyday", "10.211.0.52", &public_key, true);
    create_generic(&store, "node1", &host.ip, &key, &["--engine-label", "env=e2e"]);
    succeeds(
        "create none",
        rmachine(&store, &["create", "--driver", "none", "--url", "tcp://10.211.0.52:2376", "alias"]),
    );

    // scp: a small file, a file large enough to travel in chunks, a folder with -r; both ways.
    let local = folder.path().join("local");
    std::fs::create_dir_all(local.join("tree/sub")).unwrap();
    std::fs::write(local.join("small.txt"), "hello over rmachine's ssh\n").unwrap();
    let big: Vec<u8> = (0..9_500_000u32).map(|index| (index.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(local.join("big.bin"), &big).unwrap();
    std::fs::write(local.join("tree/sub/leaf.txt"), "leaf\n").unwrap();
    let local_text = |name: &str| local.join(name).to_str().unwrap().to_string();
    succeeds("scp up", rmachine(&store, &["scp", &local_text("small.txt"), "node1:/tmp/"]));
    succeeds("scp big up", rmachine(&store, &["scp", &local_text("big.bin"), "node1:/tmp/big.bin"]));
    succeeds("scp -r up", rmachine(&store, &["scp", "-r", &local_text("tree"), "node1:/tmp/"]));
    assert_eq!(host.exec(&["cat", "/tmp/small.txt"]).stdout, b"hello over rmachine's ssh\n");
    assert_eq!(host.exec(&["cat", "/tmp/tree/sub/leaf.txt"]).stdout, b"leaf\n");
    let remote_sum = text(&host.exec(&["sha256sum", "/tmp/big.bin"]).stdout);
    let local_sum = text(&Command::new("sha256sum").arg(local.join("big.bin")).output().unwrap().stdout);
    assert_eq!(remote_sum.split_whitespace().next(), local_sum.split_whitespace().next());
    let back = folder.path().join("back");
    std::fs::create_dir_all(&back).unwrap();
    succeeds("scp big down", rmachine(&store, &["scp", "node1:/tmp/big.bin", back.to_str().unwrap()]));
    assert!(std::fs::read(back.join("big.bin")).unwrap() == big, "the big file came back changed");
    succeeds("scp -r down", rmachine(&store, &["scp", "-r", "node1:/tmp/tree", back.join("copy").to_str().unwrap()]));
    assert_eq!(std::fs::read_to_string(back.join("copy/sub/leaf.txt")).unwrap(), "leaf\n");
    assert!(
        fails("scp folder without -r", rmachine(&store, &["scp", "node1:/tmp/tree", back.to_str().unwrap()]))
            .contains("pass -r")
    );
    assert!(
        fails("scp missing", rmachine(&store, &["scp", "node1:/nonexistent", back.to_str().unwrap()]))
            .contains("does not exist")
    );

    // Lifecycle: the generic driver says what it cannot do, for every machine named.
    for verb in ["start", "stop", "kill"] {
        let error = fails(verb, rmachine(&store, &[verb, "node1", "alias"]));
        assert!(error.contains(&format!("the generic driver cannot {verb}")), "{error}");
        assert!(error.contains(&format!("the none driver cannot {verb}")), "{error}");
    }

    // Data as JSON and templates.
    let status = json(&succeeds("status --json", rmachine(&store, &["status", "--json", "node1", "alias"])));
    assert_eq!(status[0]["State"], "Running");
    assert_eq!(status[1]["Name"], "alias");
    let ips = json(&succeeds("ip --json", rmachine(&store, &["ip", "--json", "node1", "alias"])));
    assert_eq!(ips[0]["IP"], "10.211.0.52");
    assert_eq!(
        succeeds("url", rmachine(&store, &["url", "node1", "alias"])),
        "tcp://10.211.0.52:2376\ntcp://10.211.0.52:2376\n"
    );
    let inspected = succeeds(
        "inspect -f",
        rmachine(
            &store,
            &["inspect", "-f", "{{.name}} {{.driver.settings.ip_address}} {{json .engine.labels}}", "node1"],
        ),
    );
    assert_eq!(inspected, "node1 10.211.0.52 [\"env=e2e\"]\n");
    let rows = json(&succeeds("ls json", rmachine(&store, &["ls", "--format", "json"])));
    let names: Vec<_> = rows.as_array().unwrap().iter().map(|row| row["Name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["alias", "node1"]);
    assert!(rows[1]["DockerVersion"].as_str().unwrap().starts_with("v20.10"), "{rows}");
    let labelled = succeeds(
        "ls label",
        rmachine(
            &store,
            &["ls", "--filter", "label=ENV=e2e", "--filter", "state=running", "--format", "{{.Name}}:{{.DriverName}}"],
        ),
    );
    assert_eq!(labelled, "node1:generic\n");
    let table = succeeds(
        "ls table",
        rmachine(&store, &["ls", "--filter", "driver=none", "--format", "table {{.Name}}\\t{{.State}}"]),
    );
    assert_eq!(table, "NAME    STATE\nalias   Running\n");
    assert!(succeeds("version", rmachine(&store, &["version", "--json", "node1"])).contains("\"Server\":\"20.10"));

    // Docker contexts through the docker CLI, in a private docker config folder.
    let docker_config = folder.path().join("docker-config");
    std::fs::create_dir_all(&docker_config).unwrap();
    let environment = [("DOCKER_CONFIG", docker_config.as_path())];
    succeeds("use", rmachine_with(&store, &["use", "node1"], &environment));
    succeeds("use again (update)", rmachine_with(&store, &["use", "node1"], &environment));
    assert_eq!(text(&docker(&docker_config, &["context", "show"]).stdout).trim(), "node1");
    let version =
        succeeds("docker through the context", docker(&docker_config, &["version", "--format", "{{.Server.Version}}"]));
    assert!(version.starts_with("20.10"), "{version}");
    assert_eq!(succeeds("active", rmachine_with(&store, &["active"], &environment)), "node1\n");
    succeeds("use --unset", rmachine_with(&store, &["use", "--unset"], &environment));
    assert_eq!(text(&docker(&docker_config, &["context", "show"]).stdout).trim(), "default");
    succeeds("use before rm", rmachine_with(&store, &["use", "node1"], &environment));
    succeeds("rm alias", rmachine_with(&store, &["rm", "-y", "alias"], &environment));

    // restart: the generic driver reboots the host over SSH. A testbed host does not boot again
    // after a reboot (its namespace ends), so the wait for the engine must fail and say so.
    let restart = rmachine_with(&store, &["restart", "--timeout", "15", "node1"], &environment);
    let error = fails("restart of a host that never comes back", restart);
    assert!(error.contains("did not answer") && error.contains("node1"), "{error}");
    let after = rmachine(&store, &["status", "--json", "-t", "3", "node1"]);
    assert_ne!(json(&succeeds("status after reboot", after))[0]["State"], "Running");

    succeeds("rm node1", rmachine_with(&store, &["rm", "-y", "node1"], &environment));
    let contexts = text(&docker(&docker_config, &["context", "ls", "--format", "{{.Name}}"]).stdout);
    assert!(!contexts.contains("node1"), "rm left the context: {contexts}");
}

#[test]
fn the_ssh_transport_opens_no_tcp_port_and_docker_connects_over_ssh() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start("c5-sshonly", "10.211.0.53", &public_key, true);
    create_generic(&store, "quiet", &host.ip, &key, &["--engine-transport", "ssh"]);

    let daemon = json(&text(&host.exec(&["cat", "/etc/docker/daemon.json"]).stdout));
    assert_eq!(daemon["hosts"], serde_json::json!(["fd://"]), "{daemon}");
    assert!(daemon.get("tlsverify").is_none(), "{daemon}");
    let listening = text(&host.exec(&["ss", "-Hltnp"]).stdout);
    assert!(!listening.contains("dockerd"), "dockerd listens on TCP: {listening}");

    let env = succeeds("env", rmachine(&store, &["env", "quiet"]));
    assert!(env.contains("export DOCKER_HOST=\"ssh://root@10.211.0.53\""), "{env}");
    assert!(env.contains("unset DOCKER_TLS_VERIFY"), "{env}");
    let ls = json(&succeeds("ls", rmachine(&store, &["ls", "--json"])));
    assert_eq!(ls[0]["URL"], "ssh://root@10.211.0.53");

    // The docker CLI's own ssh: the key from an agent, the host key from the known_hosts line
    // env wrote (no prompt: BatchMode-like failure would show as "Host key verification failed").
    let agent = Command::new("ssh-agent").arg("-s").output().expect("ssh-agent runs");
    let agent_text = text(&agent.stdout);
    let socket = agent_text
        .split("SSH_AUTH_SOCK=")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .expect("agent socket")
        .to_string();
    let pid = agent_text
        .split("SSH_AGENT_PID=")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .expect("agent pid")
        .to_string();
    let added = Command::new("ssh-add").arg(&key).env("SSH_AUTH_SOCK", &socket).output().unwrap();
    assert!(added.status.success(), "{}", text(&added.stderr));
    let script = format!(
        "set -e; eval \"$('{}' -s '{}' env quiet)\"; docker version --format '{{{{.Server.Version}}}}'",
        env!("CARGO_BIN_EXE_rmachine"),
        store.display()
    );
    let docker_over_ssh = Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("SSH_AUTH_SOCK", &socket)
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap();
    let _ = Command::new("kill").arg(&pid).status();
    assert!(succeeds("docker over ssh", docker_over_ssh).starts_with("20.10"));
}

/// A network namespace on the test bridge whose address drops every packet, as a dead host.
struct BlackHole {
    namespace: String,
}

impl BlackHole {
    fn start(namespace: &str, ip: &str) -> BlackHole {
        common::net_up();
        let _ = Command::new("ip").args(["netns", "del", namespace]).status();
        let outside = format!("{namespace}-o");
        let script = format!(
            "set -e; ip netns add {namespace}; ip link del {outside} 2>/dev/null || true; \
             ip link add {outside} type veth peer name eth0 netns {namespace}; ip link set {outside} master rmtest0 up; \
             ip netns exec {namespace} ip addr add {ip}/24 dev eth0; ip netns exec {namespace} ip link set eth0 up; \
             ip netns exec {namespace} iptables -A INPUT -j DROP"
        );
        let output = Command::new("bash").arg("-c").arg(script).output().unwrap();
        assert!(output.status.success(), "black hole: {}", text(&output.stderr));
        BlackHole { namespace: namespace.to_string() }
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &format!("{}-o", self.namespace)]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.namespace]).status();
    }
}

#[test]
fn ls_marks_hosts_that_drop_packets_as_timeout_and_completes_the_others() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(folder.path());
    let host = TestHost::start("c5-lsalive", "10.211.0.54", &public_key, true);
    let _hole = BlackHole::start("c5-hole", "10.211.0.68");
    create_generic(&store, "alive", &host.ip, &key, &[]);
    for index in 1..=5 {
        succeeds(
            "create none",
            rmachine(
                &store,
                &["create", "--driver", "none", "--url", "tcp://10.211.0.68:2376", &format!("dead{index}")],
            ),
        );
        succeeds(
            "create none",
            rmachine(
                &store,
                &["create", "--driver", "none", "--url", "tcp://10.211.0.54:2376", &format!("live{index}")],
            ),
        );
    }
    let rows = json(&succeeds("ls", rmachine(&store, &["ls", "--timeout", "2", "--json"])));
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 11);
    for row in rows {
        let name = row["Name"].as_str().unwrap();
        if name.starts_with("dead") {
            assert_eq!(row["State"], "Timeout", "{row}");
        } else {
            assert_eq!(row["State"], "Running", "{row}");
            assert!(row["DockerVersion"].as_str().unwrap().starts_with("v20.10"), "{row}");
        }
    }
    let quiet = succeeds("ls -q state", rmachine(&store, &["ls", "-q", "-t", "2", "--filter", "state=Timeout"]));
    assert_eq!(quiet, "dead1\ndead2\ndead3\ndead4\ndead5\n");
}
