//! The engine endpoint rmachine provisions is locked, checked from outside with curl and openssl
//! against a real engine on a test host (Debian 12, docker.io preinstalled, 10.211.0.100):
//! - it refuses a client without a certificate, a client certificate from another CA, and plain
//!   HTTP; it answers the client certificate from the store;
//! - its certificate verifies only for the machine's names (its IP, its name, what --tls-san
//!   added), not for any other name;
//! - every private key in the store is 0600 and `/etc/docker/server-key.pem` on the host is 0600
//!   (and no store key but the engine's reached the host);
//! - no credential appears in any file of the store: an aws create against moto with unique
//!   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN values leaves none of them.
//!
//! Prints `figure: engine_lock ...`. Needs root (test hosts), curl, openssl and .ci/run's moto.

mod common;
#[cfg(feature = "aws")]
mod moto;

use common::{TestHost, rmachine, ssh_keypair, succeeds, text};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const IP: &str = "10.211.0.100";

fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "10", "--output", "-", "--write-out", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs (apt-get install curl)")
}

/// The answer was the engine's API: HTTP 200 with an ApiVersion.
fn engine_answered(output: &Output) -> bool {
    let body = text(&output.stdout);
    output.status.success() && body.ends_with("\n200") && body.contains("ApiVersion")
}

/// A CA and a client certificate it signed, made with openssl: (certificate, key).
fn foreign_client_certificate(folder: &Path) -> (PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let output = Command::new("openssl").args(args).current_dir(folder).output().expect("openssl runs");
        assert!(output.status.success(), "openssl {args:?}: {}", text(&output.stderr));
    };
    const NEW_EC_KEY: [&str; 7] = ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let ca = ["-x509", "-days", "2", "-subj", "/CN=other CA", "-keyout", "other-ca-key.pem", "-out", "other-ca.pem"];
    run(&[&NEW_EC_KEY[..], &ca].concat());
    let request = ["-subj", "/CN=intruder", "-keyout", "intruder-key.pem", "-out", "intruder.csr"];
    run(&[&NEW_EC_KEY[..], &request].concat());
    std::fs::write(folder.join("client.ext"), "extendedKeyUsage = clientAuth\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "intruder.csr",
        "-CA",
        "other-ca.pem",
        "-CAkey",
        "other-ca-key.pem",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "client.ext",
        "-out",
        "intruder.pem",
    ]);
    (folder.join("intruder.pem"), folder.join("intruder-key.pem"))
}

/// Every file under `root`, recursively.
fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { folders.push(path) } else { files.push(path) }
        }
    }
    files
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_provisioned_engine_is_locked_to_the_store_s_client_and_its_names() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let (key, public_key) = ssh_keypair(&folder.path().join("ssh"));
    let host = TestHost::start("h-security", IP, &public_key, true);
    let create = rmachine(
        &store,
        &[
            "create",
            "-d",
            "generic",
            "--generic-ip-address",
            IP,
            "--generic-ssh-key",
            key.to_str().unwrap(),
            "--tls-san",
            "engine.rmachine.test",
            "locked",
        ],
    );
    succeeds("create", create);
    let machine = store.join("machines/locked");
    let file = |name: &str| machine.join(name).display().to_string();
    let client = Client { ca: file("ca.pem"), cert: file("cert.pem"), key: file("key.pem") };
    let mut refusals = refused_clients(&client, folder.path());
    let (names_checked, wrong_names) = check_names(&client);
    refusals += wrong_names;
    let keys = check_key_modes(&store, &host, &key);
    println!("figure: engine_lock refusals {refusals} refusals");
    println!("figure: engine_lock names_checked {names_checked} names");
    println!("figure: engine_lock private_keys_0600 {keys} keys");
    host.stop();
}

/// The store's TLS client material for the machine.
struct Client {
    ca: String,
    cert: String,
    key: String,
}

impl Client {
    /// curl with the CA and the client certificate.
    fn curl(&self, args: &[&str]) -> Output {
        curl(&[&["--cacert", &self.ca, "--cert", &self.cert, "--key", &self.key][..], args].concat())
    }

    /// Whether openssl verifies the engine's certificate for `name` (`-verify_hostname`/`-verify_ip`).
    fn verifies_as(&self, option: &str, name: &str) -> bool {
        Command::new("openssl")
            .args(["s_client", "-connect", &format!("{IP}:2376"), "-CAfile", &self.ca, "-cert", &self.cert])
            .args(["-key", &self.key, option, name, "-verify_return_error", "-brief"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
            .status
            .success()
    }
}

/// The store's client is answered; no client certificate, another CA's and plain HTTP are not.
fn refused_clients(client: &Client, folder: &Path) -> usize {
    let url = format!("https://{IP}:2376/version");
    let answered = client.curl(&[&url]);
    assert!(engine_answered(&answered), "the store's client is refused: {}", text(&answered.stderr));
    let anonymous = curl(&["--cacert", &client.ca, &url]);
    assert!(!engine_answered(&anonymous), "a client without a certificate got an answer");
    let (intruder, intruder_key) = foreign_client_certificate(folder);
    let (intruder, intruder_key) = (intruder.to_str().unwrap(), intruder_key.to_str().unwrap());
    let foreign = curl(&["--cacert", &client.ca, "--cert", intruder, "--key", intruder_key, &url]);
    assert!(!engine_answered(&foreign), "a client certificate from another CA got an answer");
    let plain = curl(&[&format!("http://{IP}:2376/version")]);
    assert!(!engine_answered(&plain), "plain HTTP got an answer: {}", text(&plain.stdout));
    3
}

/// The server certificate verifies for the machine's names only: (names checked, wrong names
/// refused).
fn check_names(client: &Client) -> (usize, usize) {
    let names = [(IP, true), ("locked", true), ("engine.rmachine.test", true), ("other.rmachine.test", false)];
    for (name, valid) in names {
        let resolve = format!("{name}:2376:{IP}");
        let output = client.curl(&["--resolve", &resolve, &format!("https://{name}:2376/version")]);
        assert_eq!(engine_answered(&output), valid, "{name}: {}{}", text(&output.stdout), text(&output.stderr));
    }
    assert!(client.verifies_as("-verify_ip", IP), "openssl does not verify the engine for its IP");
    assert!(!client.verifies_as("-verify_ip", "10.211.0.101"), "openssl verified the engine for another IP");
    assert!(!client.verifies_as("-verify_hostname", "other.rmachine.test"), "openssl verified another name");
    (names.len() + 3, 3)
}

/// Private keys are 0600 in the store and on the host, and only the engine's key is on the
/// host; how many keys were checked.
fn check_key_modes(store: &Path, host: &TestHost, ssh_key: &Path) -> usize {
    let keys: Vec<PathBuf> = files_under(store)
        .into_iter()
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.ends_with("key.pem") || name == "id_ssh" || name == "id_ed25519"
        })
        .collect();
    assert!(keys.len() >= 5, "{keys:?}");
    for key in &keys {
        assert_eq!(mode(key), 0o600, "{}", key.display());
    }
    let on_host = host.ssh_ok(ssh_key, "root", "stat -c '%n %a %U' /etc/docker/*.pem");
    assert!(on_host.contains("/etc/docker/server-key.pem 600 root"), "{on_host}");
    assert!(!on_host.contains("ca-key") && !on_host.contains("/etc/docker/key.pem"), "{on_host}");
    keys.len() + 1
}

/// No credential in any file of the store: an aws create against moto, with unique credential
/// values in the environment, kept on failure (`--aws-keep-on-failure`, no host answers at the
/// instance's address) so that every file it wrote is there to search.
#[cfg(feature = "aws")]
#[test]
fn no_cloud_credential_reaches_any_file_of_the_store() {
    let server = moto::MotoServer::start();
    // The instance gets an address in a subnet of the test bridge (10.211.0.112/28, this test's
    // range) and is reached at its private address: no traffic leaves this machine.
    common::net_up();
    let (_, subnet) = moto::bridge_subnet(&server.ec2(), "10.211.0.112/28");
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let secrets = [
        ("AWS_ACCESS_KEY_ID", "AKIARMACHINE7Q3XZ9WD"),
        ("AWS_SECRET_ACCESS_KEY", "rm+SecretAccess/Key9f3b2c1d0e8a7b6c5d4e3f2a1b0c9d8e"),
        ("AWS_SESSION_TOKEN", "rmSessionToken-2b7e151628aed2a6abf7158809cf4f3c"),
    ];
    let mut command = common::rmachine_command(&store);
    for (name, value) in server.aws_env() {
        command.env(name, value);
    }
    for (name, value) in secrets {
        command.env(name, value);
    }
    let output = command
        .args([
            "create",
            "-d",
            "aws",
            "--aws-subnet-id",
            &subnet,
            "--aws-use-private-address",
            "--aws-image-family",
            "al2023",
        ])
        .args(["--aws-keep-on-failure", "--ssh-timeout", "3", "cloud1"])
        .output()
        .unwrap();
    assert!(!output.status.success(), "no host answers SSH at moto's address, yet create succeeded");
    let files = files_under(&store);
    let record = std::fs::read_to_string(store.join("machines/cloud1/machine.json")).expect("kept on failure");
    let record: serde_json::Value = serde_json::from_str(&record).unwrap();
    let instance = record["driver"]["settings"]["created"]["instance_id"].as_str().unwrap_or_default();
    assert!(instance.starts_with("i-"), "the credentials were used to launch an instance: {record}");
    let mut searched = 0;
    for path in &files {
        let contents = std::fs::read(path).unwrap();
        for (name, value) in secrets {
            let found = contents.windows(value.len()).any(|window| window == value.as_bytes());
            assert!(!found, "{name} is in {}", path.display());
        }
        searched += 1;
    }
    let inspected = text(&rmachine(&store, &["inspect", "cloud1"]).stdout);
    for (name, value) in secrets {
        assert!(!inspected.contains(value), "inspect shows {name}");
    }
    let removed = {
        let mut command = common::rmachine_command(&store);
        for (name, value) in server.aws_env() {
            command.env(name, value);
        }
        command.args(["rm", "-f", "-y", "cloud1"]).output().unwrap()
    };
    assert!(removed.status.success(), "rm: {}", text(&removed.stderr));
    println!("figure: engine_lock store_files_searched_for_credentials {searched} files");
}
