// tests/common/docker_machine.rs — owns docker-machine stores for the import tests: the
// hand-written config.json fixtures of tests/fixtures/docker-machine copied into a folder, with the
// files docker-machine would have made beside them (an RSA CA and client certificate made as
// docker-machine makes them, with openssl: RSA 2048, PKCS#1 keys; per-machine copies, server
// certificates, an RSA SSH key), and a hash of every file to prove an import changed none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// tests/fixtures/docker-machine of this checkout.
pub fn docker_machine_fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docker-machine")
}

fn run(what: &str, command: &mut Command) {
    let output = command.stdin(Stdio::null()).output().unwrap_or_else(|error| panic!("{what}: {error}"));
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn openssl(what: &str, folder: &Path, args: &[&str]) {
    run(what, Command::new("openssl").current_dir(folder).args(args));
}

/// A certificate signed by `certs/ca.pem` of `store`: `name.pem` and `name-key.pem` in `folder`,
/// with the given extensions (an openssl extfile body).
fn issue(store: &Path, folder: &Path, name: &str, subject: &str, extensions: &str) {
    let key = folder.join(format!("{name}-key.pem"));
    let request = folder.join(format!("{name}.csr"));
    let extfile = folder.join(format!("{name}.ext"));
    std::fs::write(&extfile, extensions).unwrap();
    let (key, request_text, extfile_text) =
        (key.to_str().unwrap(), request.to_str().unwrap(), extfile.to_str().unwrap());
    openssl("openssl genrsa", folder, &["genrsa", "-traditional", "-out", key, "2048"]);
    openssl("openssl req", folder, &["req", "-new", "-key", key, "-subj", subject, "-out", request_text]);
    let certificate = folder.join(format!("{name}.pem"));
    let (ca, ca_key) = (store.join("certs/ca.pem"), store.join("certs/ca-key.pem"));
    openssl(
        "openssl x509 -req",
        folder,
        &[
            "x509",
            "-req",
            "-in",
            request_text,
            "-CA",
            ca.to_str().unwrap(),
            "-CAkey",
            ca_key.to_str().unwrap(),
            "-set_serial",
            "0x5eed",
            "-days",
            "1080",
            "-sha256",
            "-extfile",
            extfile_text,
            "-out",
            certificate.to_str().unwrap(),
        ],
    );
    std::fs::remove_file(request).unwrap();
    std::fs::remove_file(extfile).unwrap();
}

/// docker-machine's CA and client certificate in `STORE/certs` (cert/bootstrap.go: org $USER).
pub fn make_docker_machine_ca(store: &Path) {
    let certs = store.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    openssl("openssl genrsa (CA)", &certs, &["genrsa", "-traditional", "-out", "ca-key.pem", "2048"]);
    openssl(
        "openssl req -x509 (CA)",
        &certs,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca-key.pem",
            "-sha256",
            "-days",
            "1080",
            "-subj",
            "/O=tester",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,digitalSignature,keyEncipherment,keyAgreement,keyCertSign",
            "-out",
            "ca.pem",
        ],
    );
    issue(
        store,
        &certs,
        "cert",
        "/O=tester.bootstrap",
        "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment,keyAgreement\n",
    );
    std::fs::rename(certs.join("cert-key.pem"), certs.join("key.pem")).unwrap();
}

/// The files docker-machine keeps in a machine's folder: copies of the client material, the
/// engine's certificate for `address`, and an RSA SSH key (`id_rsa`, whose `.pub` the host trusts).
pub fn make_machine_files(store: &Path, machine: &str, address: &str) -> PathBuf {
    let folder = store.join("machines").join(machine);
    std::fs::create_dir_all(&folder).unwrap();
    for (from, to) in [("ca.pem", "ca.pem"), ("cert.pem", "cert.pem"), ("key.pem", "key.pem")] {
        std::fs::copy(store.join("certs").join(from), folder.join(to)).unwrap();
    }
    let names = format!(
        "subjectAltName=IP:{address},DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment,keyAgreement\n"
    );
    issue(store, &folder, "server", &format!("/O=tester.{machine}"), &names);
    let key = folder.join("id_rsa");
    run(
        "ssh-keygen -t rsa",
        Command::new("ssh-keygen")
            .args(["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-C", machine, "-f"])
            .arg(&key),
    );
    key
}

/// A docker-machine store in `folder`: every fixture machine's config.json, a CA, and the files
/// of each machine whose configuration reads (the generic ones at `address`).
pub fn docker_machine_store(folder: &Path, address: &str) -> PathBuf {
    let store = folder.join("docker-machine");
    let machines = docker_machine_fixtures().join("machines");
    for entry in std::fs::read_dir(&machines).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        std::fs::create_dir_all(store.join("machines").join(&name)).unwrap();
        std::fs::copy(machines.join(&name).join("config.json"), store.join("machines").join(&name).join("config.json"))
            .unwrap();
    }
    make_docker_machine_ca(&store);
    for machine in ["gen3", "gen1", "gen0", "aws3", "odd3", "hetzner3"] {
        make_machine_files(&store, machine, address);
    }
    store
}

/// The SHA-256 of every file under `folder` (`sha256sum`), by path: equal snapshots mean no
/// byte changed and no file came or went.
pub fn file_hashes(folder: &Path) -> BTreeMap<String, String> {
    let output = Command::new("sh")
        .arg("-c")
        .arg("find . -type f -print0 | sort -z | xargs -0 sha256sum")
        .current_dir(folder)
        .output()
        .expect("find and sha256sum run");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_once("  ").map(|(hash, path)| (path.to_string(), hash.to_string())))
        .collect()
}

/// Makes the fixture machines' SSH port (127.0.0.1:1, as their config.json says) answer, so their
/// driver reports them Running (`env`, `url` and `config` first ask whether a machine runs). One
/// listener for the whole test binary, whose tests run in parallel.
pub fn fixture_hosts_answer() {
    static LISTENER: std::sync::OnceLock<std::net::TcpListener> = std::sync::OnceLock::new();
    LISTENER
        .get_or_init(|| std::net::TcpListener::bind("127.0.0.1:1").expect("bind 127.0.0.1:1 (the tests run as root)"));
}
