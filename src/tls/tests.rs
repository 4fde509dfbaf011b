//! Tests of the certificate functions (checked with x509-parser and `openssl verify`) and of
//! `DockerClient` against `openssl s_server` doing mutual TLS like dockerd (needs the openssl CLI).

use super::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};

const DOCKER_VERSION_JSON: &str = r#"{"Platform":{"Name":"Docker Engine - Community"},"Version":"28.3.2","ApiVersion":"1.51","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64","KernelVersion":"6.1.0"}"#;

fn write(directory: &Path, name: &str, contents: &str) -> String {
    std::fs::write(directory.join(name), contents).unwrap();
    directory.join(name).display().to_string()
}

fn openssl_verify(directory: &Path, ca: &PemPair, purpose: &str, leaf: &PemPair) -> String {
    let ca_path = write(directory, "verify-ca.pem", &ca.cert_pem);
    let leaf_path = write(directory, "verify-leaf.pem", &leaf.cert_pem);
    let output = Command::new("openssl")
        .args(["verify", "-CAfile", &ca_path, "-purpose", purpose, &leaf_path])
        .output()
        .expect("openssl runs (apt-get install -y openssl)");
    String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr)
}

#[test]
fn certificates_chain_to_the_ca_with_the_right_purposes_and_sans() {
    let directory = tempfile::tempdir().unwrap();
    let ca = generate_ca("rmachine").unwrap();
    let client = issue_client_certificate(&ca, "rmachine").unwrap();
    let sans = ["127.0.0.1", "localhost", "fd00::5"].map(String::from);
    let server = issue_server_certificate(&ca, "rmachine", &sans).unwrap();

    let (_, ca_pem) = x509_parser::pem::parse_x509_pem(ca.cert_pem.as_bytes()).unwrap();
    let ca_certificate = ca_pem.parse_x509().unwrap();
    assert!(ca_certificate.is_ca());
    let (_, server_pem) = x509_parser::pem::parse_x509_pem(server.cert_pem.as_bytes()).unwrap();
    let server_certificate = server_pem.parse_x509().unwrap();
    server_certificate.verify_signature(Some(ca_certificate.public_key())).unwrap();
    assert!(server_certificate.validity().time_to_expiration().unwrap().whole_days() > 365 * 2);
    assert!(ca_certificate.validity().time_to_expiration().unwrap().whole_days() > 365 * 9);

    assert!(openssl_verify(directory.path(), &ca, "sslserver", &server).contains("OK"));
    assert!(openssl_verify(directory.path(), &ca, "sslclient", &client).contains("OK"));
    let misuse = openssl_verify(directory.path(), &ca, "sslserver", &client);
    assert!(!misuse.contains(": OK"), "a client certificate must not serve: {misuse}");

    for covered in ["127.0.0.1", "localhost", "LOCALHOST", "fd00::5", "[fd00::5]"] {
        assert!(certificate_covers(&server.cert_pem, covered).unwrap(), "{covered}");
    }
    for not_covered in ["10.0.0.1", "example.com", "127.0.0.2"] {
        assert!(!certificate_covers(&server.cert_pem, not_covered).unwrap(), "{not_covered}");
    }
    assert!(!certificate_covers(&client.cert_pem, "127.0.0.1").unwrap());
    assert!(certificate_covers("not a certificate", "127.0.0.1").is_err());
    assert!(dns_name_matches("*.example.com", "docker.example.com"));
    assert!(!dns_name_matches("*.example.com", "example.com"));
}

#[test]
fn urls_and_unusable_cas_are_reported() {
    assert_eq!(version_endpoint("tcp://10.0.0.5:2376").unwrap().as_str(), "https://10.0.0.5:2376/version");
    assert_eq!(version_endpoint("https://[fd00::5]:2376/").unwrap().as_str(), "https://[fd00::5]:2376/version");
    let message = version_endpoint("unix:///var/run/docker.sock").unwrap_err().to_string();
    assert_eq!(message, r#"invalid Docker API URL "unix:///var/run/docker.sock": expected tcp://HOST:PORT"#);
    let broken_ca = PemPair { cert_pem: "junk".into(), key_pem: "junk".into() };
    let message = issue_client_certificate(&broken_ca, "rmachine").unwrap_err().to_string();
    assert!(message.starts_with("the CA certificate and key cannot sign certificates: the CA key"), "{message}");
}

/// `openssl s_server` requiring a client certificate and serving ./version; killed on drop.
struct MutualTlsServer {
    child: Child,
    port: u16,
    _directory: tempfile::TempDir,
}

impl MutualTlsServer {
    fn start(ca: &PemPair, server: &PemPair) -> MutualTlsServer {
        let directory = tempfile::tempdir().unwrap();
        write(directory.path(), "version", DOCKER_VERSION_JSON);
        let ca_path = write(directory.path(), "ca.pem", &ca.cert_pem);
        let cert_path = write(directory.path(), "server.pem", &server.cert_pem);
        let key_path = write(directory.path(), "server-key.pem", &server.key_pem);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-accept", &format!("127.0.0.1:{port}"), "-cert", &cert_path])
            .args(["-key", &key_path, "-CAfile", &ca_path, "-Verify", "1", "-verify_return_error", "-WWW"])
            .current_dir(directory.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl runs (apt-get install -y openssl)");
        let server = MutualTlsServer { child, port, _directory: directory };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("openssl s_server did not listen on port {port}");
    }

    fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }
}

impl Drop for MutualTlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn docker_client_speaks_mutual_tls_to_a_server_of_our_ca_only() {
    let ca = generate_ca("rmachine").unwrap();
    let client = issue_client_certificate(&ca, "rmachine").unwrap();
    let timeout = Duration::from_secs(5);
    let docker = DockerClient::new(&ca.cert_pem, &client, timeout).unwrap();

    let good = MutualTlsServer::start(&ca, &issue_server_certificate(&ca, "rmachine", &["127.0.0.1".into()]).unwrap());
    let version = docker.version(&good.url()).await.unwrap();
    let expected = EngineVersion {
        version: "28.3.2".into(),
        api_version: "1.51".into(),
        os: "linux".into(),
        arch: "amd64".into(),
    };
    assert_eq!(version, expected);

    let wrong_address = issue_server_certificate(&ca, "rmachine", &["10.9.9.9".into()]).unwrap();
    let wrong_address_server = MutualTlsServer::start(&ca, &wrong_address);
    let message = docker.version(&wrong_address_server.url()).await.unwrap_err().to_string();
    assert!(
        message.starts_with(&format!(
            "cannot talk to the Docker API at https://127.0.0.1:{}/version: ",
            wrong_address_server.port
        )),
        "{message}"
    );
    assert!(message.contains("not valid for name") && message.contains("does not cover this address"), "{message}");

    let other_ca = generate_ca("someone else").unwrap();
    let foreign = issue_server_certificate(&other_ca, "someone else", &["127.0.0.1".into()]).unwrap();
    let foreign_server = MutualTlsServer::start(&other_ca, &foreign);
    let message = docker.version(&foreign_server.url()).await.unwrap_err().to_string();
    assert!(message.contains("UnknownIssuer") && message.contains("not signed by this machine's CA"), "{message}");

    let stranger =
        DockerClient::new(&ca.cert_pem, &issue_client_certificate(&other_ca, "x").unwrap(), timeout).unwrap();
    let message = stranger.version(&good.url()).await.unwrap_err().to_string();
    assert!(message.contains("UnknownCA") && message.contains("refused our client certificate"), "{message}");

    drop(good);
    let closed =
        format!("tcp://127.0.0.1:{}", std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port());
    let message = docker.version(&closed).await.unwrap_err().to_string();
    assert!(
        message.ends_with("Connection refused (os error 111) (is the engine running and listening on that port?)"),
        "{message}"
    );
    assert!(!message.contains("error sending request"), "{message}");
}

#[test]
fn the_ping_server_header_gives_the_engine_version() {
    assert_eq!(server_header_version("Docker/20.10.24+dfsg1 (linux)").as_deref(), Some("20.10.24+dfsg1"));
    assert_eq!(server_header_version("Docker/27.3.1"), Some("27.3.1".to_string()));
    assert_eq!(server_header_version("nginx/1.25"), None);
}

#[test]
fn issued_by_tells_which_ca_made_a_certificate() {
    let ca = generate_ca("rmachine").unwrap();
    let other = generate_ca("docker-machine").unwrap();
    let same_name = generate_ca("rmachine").unwrap();
    let server = issue_server_certificate(&ca, "rmachine.n", &["10.0.0.5".to_string()]).unwrap();
    assert!(issued_by(&server.cert_pem, &ca.cert_pem).unwrap());
    assert!(!issued_by(&server.cert_pem, &other.cert_pem).unwrap());
    assert!(!issued_by(&server.cert_pem, &same_name.cert_pem).unwrap(), "same name, another key");
    assert!(issued_by("not a certificate", &ca.cert_pem).is_err());
}
