//! End to end: a Debian 12 test host whose engine is configured the way docker-machine configures
//! it (its drop-in 10-machine.conf with `-H tcp://0.0.0.0:2376 --tlsverify …`, certificates from a
//! docker-machine-shaped CA in /etc/docker), and a docker-machine store that knows it. `rmachine
//! import` into an empty store adopts the CA: `ls`, `ssh` and `env` + docker work at once and the
//! engine is not restarted. Into a store with its own CA: docker works through `env` with
//! docker-machine's client material, and `rmachine provision` moves the engine to rmachine's
//! configuration and CA. docker-machine's store keeps every byte. Needs root (see tests/testbed).

mod common;

use common::{TestHost, file_hashes, make_docker_machine_ca, make_machine_files, rmachine, succeeds, text, with_env};
use std::path::Path;

const IP: &str = "10.211.0.192";
const NAME: &str = "dmnode";

/// docker-machine's drop-in as its provisioner writes it (systemd.go), with Debian's dockerd path
/// (docker-machine hard-codes /usr/bin/dockerd, which Debian's docker.io does not have).
const DOCKER_MACHINE_DROP_IN: &str = "[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H tcp://0.0.0.0:2376 -H unix:///var/run/docker.sock --storage-driver overlay2 --tlsverify --tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem --label provider=generic --label env=test \nEnvironment=\n";

/// The machine's config.json as docker-machine 0.16 writes it for the generic driver.
fn config_json(store: &Path) -> String {
    let store = store.display();
    let machine = format!("{store}/machines/{NAME}");
    serde_json::json!({
        "ConfigVersion": 3,
        "Driver": {
            "IPAddress": IP, "MachineName": NAME, "SSHUser": "root", "SSHPort": 22,
            "SSHKeyPath": format!("{machine}/id_rsa"), "StorePath": store.to_string(), "SwarmMaster": false,
            "SwarmHost": "", "SwarmDiscovery": "", "EnginePort": 2376, "SSHKey": "/root/.ssh/id_rsa"
        },
        "DriverName": "generic",
        "HostOptions": {
            "Driver": "", "Memory": 0, "Disk": 0,
            "EngineOptions": {
                "ArbitraryFlags": [], "Dns": null, "GraphDir": "", "Env": [], "Ipv6": false, "InsecureRegistry": [],
                "Labels": ["env=test"], "LogLevel": "", "StorageDriver": "overlay2", "SelinuxEnabled": false,
                "TlsVerify": true, "RegistryMirror": [], "InstallURL": "https://get.docker.com"
            },
            "SwarmOptions": {"IsSwarm": false, "Address": "", "Discovery": "", "Agent": false, "Master": false,
                "Host": "tcp://0.0.0.0:3376", "Image": "swarm:latest", "Strategy": "spread", "Heartbeat": 0,
                "Overcommit": 0, "ArbitraryFlags": [], "ArbitraryJoinFlags": [], "Env": null, "IsExperimental": false},
            "AuthOptions": {
                "CertDir": format!("{store}/certs"), "CaCertPath": format!("{store}/certs/ca.pem"),
                "CaPrivateKeyPath": format!("{store}/certs/ca-key.pem"), "CaCertRemotePath": "",
                "ServerCertPath": format!("{machine}/server.pem"), "ServerKeyPath": format!("{machine}/server-key.pem"),
                "ClientKeyPath": format!("{store}/certs/key.pem"), "ServerCertRemotePath": "", "ServerKeyRemotePath": "",
                "ClientCertPath": format!("{store}/certs/cert.pem"), "ServerCertSANs": [], "StorePath": machine
            }
        },
        "Name": NAME
    })
    .to_string()
}

/// Configures the host's engine as docker-machine's provisioner leaves it.
fn configure_like_docker_machine(host: &TestHost, key: &Path, machine_folder: &Path, ca: &Path) {
    for (local, remote) in [
        (ca, "ca.pem"),
        (&machine_folder.join("server.pem"), "server.pem"),
        (&machine_folder.join("server-key.pem"), "server-key.pem"),
    ] {
        let contents = std::fs::read_to_string(local).unwrap();
        host.ssh_ok(key, "root", &format!("mkdir -p /etc/docker && printf '%s' '{contents}' > /etc/docker/{remote}"));
    }
    host.ssh_ok(
        key,
        "root",
        &format!(
            "chmod 600 /etc/docker/server-key.pem && rm -f /etc/docker/daemon.json && \
             mkdir -p /etc/systemd/system/docker.service.d && \
             printf '%s' '{DOCKER_MACHINE_DROP_IN}' > /etc/systemd/system/docker.service.d/10-machine.conf && \
             systemctl daemon-reload && systemctl restart docker && \
             for i in $(seq 60); do ss -tln | grep -q ':2376 ' && break; sleep 1; done; ss -tln | grep ':2376 '"
        ),
    );
}

fn dockerd_pid(host: &TestHost, key: &Path) -> String {
    host.ssh_ok(key, "root", "systemctl show docker -p MainPID --value").trim().to_string()
}

#[test]
fn a_docker_machine_host_is_imported_used_and_provisioned() {
    let folder = tempfile::tempdir().unwrap();
    let source = folder.path().join("docker-machine");
    make_docker_machine_ca(&source);
    let key = make_machine_files(&source, NAME, IP);
    std::fs::write(source.join("machines").join(NAME).join("config.json"), config_json(&source)).unwrap();
    let host = TestHost::start("i-dm", IP, &source.join(format!("machines/{NAME}/id_rsa.pub")), true);
    configure_like_docker_machine(&host, &key, &source.join("machines").join(NAME), &source.join("certs/ca.pem"));
    let before = file_hashes(&source);
    let pid = dockerd_pid(&host, &key);

    // An empty store adopts docker-machine's CA: everything works at once, nothing restarts.
    let adopting = folder.path().join("adopting");
    let summary = succeeds("import", rmachine(&adopting, &["import", "--from", source.to_str().unwrap()]));
    assert!(summary.contains("it now uses docker-machine's"), "{summary}");
    let listed = succeeds("ls", rmachine(&adopting, &["ls"]));
    assert!(listed.contains("Running") && listed.contains("v20.10"), "{listed}");
    let hostname = succeeds("ssh", rmachine(&adopting, &["ssh", NAME, "--", "cat", "/etc/hostname"]));
    assert!(!hostname.trim().is_empty(), "{hostname}");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(adopting.join(format!("machines/{NAME}/machine.json"))).unwrap())
            .unwrap();
    assert!(record["host_key"].as_str().is_some_and(|key| key.starts_with("ssh-")), "pinned on first use: {record}");
    let labels = succeeds("docker info", with_env(&adopting, NAME, "docker info --format '{{json .Labels}}'"));
    assert!(labels.contains("env=test") && labels.contains("provider=generic"), "{labels}");
    assert_eq!(dockerd_pid(&host, &key), pid, "the engine was not restarted");

    // A store with its own CA: docker works with docker-machine's client material, then
    // provision moves the engine over.
    let own = folder.path().join("own");
    succeeds("ls", rmachine(&own, &["ls"]));
    let summary = succeeds("import", rmachine(&own, &["import", "--from", source.to_str().unwrap(), NAME]));
    assert!(summary.contains(&format!("Run 'rmachine provision {NAME}'")), "{summary}");
    succeeds("docker version", with_env(&own, NAME, "docker version --format '{{.Server.Version}}'"));
    let provision = rmachine(&own, &["provision", NAME]);
    let provisioned = succeeds("provision", provision.clone());
    eprintln!("provision: {provisioned}{}", text(&provision.stderr));
    let drop_in = host.ssh_ok(&key, "root", "cat /etc/systemd/system/docker.service.d/10-machine.conf");
    assert!(drop_in.lines().all(|line| line.starts_with('#')), "docker-machine's drop-in emptied: {drop_in}");
    let original = host.ssh_ok(&key, "root", "cat /etc/systemd/system/docker.service.d/10-machine.conf.rmachine-bak");
    assert!(original.contains("-H tcp://0.0.0.0:2376"), "{original}");
    let command_line = host.ssh_ok(&key, "root", "ps -o args= -C dockerd");
    assert!(!command_line.contains("-H") && !command_line.contains("--tlsverify"), "{command_line}");
    let daemon_json = host.ssh_ok(&key, "root", "cat /etc/docker/daemon.json");
    assert!(daemon_json.contains("tcp://0.0.0.0:2376") && daemon_json.contains("\"tlsverify\": true"), "{daemon_json}");
    assert_eq!(
        std::fs::read(own.join(format!("machines/{NAME}/ca.pem"))).unwrap(),
        std::fs::read(own.join("certs/ca.pem")).unwrap(),
        "the machine now uses the store's CA"
    );
    let labels = succeeds("docker info", with_env(&own, NAME, "docker info --format '{{json .Labels}}'"));
    assert!(labels.contains("env=test") && labels.contains("provider=generic"), "{labels}");
    let listed = succeeds("ls", rmachine(&own, &["ls"]));
    assert!(listed.contains("Running") && listed.contains("v20.10"), "{listed}");
    assert_eq!(file_hashes(&source), before, "docker-machine's store must keep every byte");
    host.stop();
}
