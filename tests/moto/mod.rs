// tests/moto — owns the moto EC2 server the AWS driver's tests run against: `MotoServer::start()`
// runs `moto_server -H 127.0.0.1 -p FREEPORT` from the virtual environment .ci/run installs
// ($RMACHINE_CACHE/moto-venv) and stops it when dropped; `ec2()` is an SDK client for asking moto
// what rmachine made, and `aws_env` the environment an rmachine process needs to reach moto.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const REGION: &str = "us-east-1";

pub struct MotoServer {
    pub url: String,
    child: Child,
    /// Empty AWS config and credentials files, so no user's ~/.aws leaks into a test.
    pub aws_folder: tempfile::TempDir,
}

fn moto_binary() -> PathBuf {
    let cache = std::env::var("RMACHINE_CACHE").unwrap_or_else(|_| "/var/cache/rmachine-ci".into());
    let binary = PathBuf::from(cache).join("moto-venv/bin/moto_server");
    assert!(binary.exists(), "{} is missing: .ci/run installs moto[server] there", binary.display());
    binary
}

impl MotoServer {
    pub fn start() -> MotoServer {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(moto_binary())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let aws_folder = tempfile::tempdir().unwrap();
        std::fs::write(aws_folder.path().join("config"), "").unwrap();
        std::fs::write(aws_folder.path().join("credentials"), "").unwrap();
        let server = MotoServer { url: format!("http://127.0.0.1:{port}"), child, aws_folder };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not listen on port {port} within 60s");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// The environment for rmachine (and the SDK here): static test credentials, no IMDS, no ~/.aws.
    pub fn aws_env(&self) -> Vec<(String, String)> {
        let folder = self.aws_folder.path();
        vec![
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("AWS_CONFIG_FILE".into(), folder.join("config").display().to_string()),
            ("AWS_SHARED_CREDENTIALS_FILE".into(), folder.join("credentials").display().to_string()),
            ("AWS_REGION".into(), REGION.into()),
            ("AWS_ENDPOINT_URL".into(), self.url.clone()),
        ]
    }

    /// An EC2 client talking to this moto.
    pub fn ec2(&self) -> aws_sdk_ec2::Client {
        use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};
        let config = aws_sdk_ec2::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.url)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
            .build();
        aws_sdk_ec2::Client::from_conf(config)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a future to completion on a small runtime (tests here are plain #[test]s).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

pub fn filter(name: &str, value: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder().name(name).values(value).build()
}

/// Every instance moto knows (any state).
pub fn instances(ec2: &aws_sdk_ec2::Client) -> Vec<aws_sdk_ec2::types::Instance> {
    block_on(ec2.describe_instances().send())
        .unwrap()
        .reservations()
        .iter()
        .flat_map(|reservation| reservation.instances().iter().cloned())
        .collect()
}

/// Instances that are not terminated.
pub fn live_instances(ec2: &aws_sdk_ec2::Client) -> Vec<aws_sdk_ec2::types::Instance> {
    instances(ec2)
        .into_iter()
        .filter(|instance| {
            instance.state().and_then(|state| state.name()).map(|name| name.as_str()) != Some("terminated")
        })
        .collect()
}

pub fn key_pair_names(ec2: &aws_sdk_ec2::Client) -> Vec<String> {
    block_on(ec2.describe_key_pairs().send())
        .unwrap()
        .key_pairs()
        .iter()
        .filter_map(|pair| pair.key_name().map(str::to_string))
        .collect()
}

pub fn security_groups_named(ec2: &aws_sdk_ec2::Client, name: &str) -> Vec<aws_sdk_ec2::types::SecurityGroup> {
    block_on(ec2.describe_security_groups().filters(filter("group-name", name)).send())
        .unwrap()
        .security_groups()
        .to_vec()
}

/// Makes a VPC 10.211.0.0/24 (the test bridge's network) and a subnet `cidr` in it; returns
/// (vpc id, subnet id).
pub fn bridge_subnet(ec2: &aws_sdk_ec2::Client, cidr: &str) -> (String, String) {
    let vpc = block_on(ec2.create_vpc().cidr_block("10.211.0.0/24").send()).unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet =
        block_on(ec2.create_subnet().vpc_id(&vpc_id).cidr_block(cidr).availability_zone("us-east-1a").send()).unwrap();
    (vpc_id, subnet.subnet().unwrap().subnet_id().unwrap().to_string())
}

pub fn tag<'a>(instance: &'a aws_sdk_ec2::types::Instance, key: &str) -> Option<&'a str> {
    instance.tags().iter().find(|tag| tag.key() == Some(key)).and_then(|tag| tag.value())
}
