//! Security-group setup racing itself against a real EC2 API server (moto from .ci/run's
//! virtual environment): five concurrent setups in one VPC end with one group, made by exactly
//! one of them, with each rule once.

use crate::client::Ec2;
use crate::network::{GroupOrigin, ensure_named_group, filter};
use crate::settings::AwsConfig;
use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Moto(std::process::Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_moto() -> (Moto, String) {
    let cache = std::env::var("RMACHINE_CACHE").unwrap_or_else(|_| "/var/cache/rmachine-ci".into());
    let binary = std::path::Path::new(&cache).join("moto-venv/bin/moto_server");
    assert!(binary.exists(), "{} is missing: .ci/run installs moto[server] there", binary.display());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(binary)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not listen within 60s");
        std::thread::sleep(Duration::from_millis(100));
    }
    (Moto(child), format!("http://127.0.0.1:{port}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_concurrent_setups_make_one_group_once() {
    let (_moto, url) = start_moto();
    let client = aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .endpoint_url(&url)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
            .build(),
    );
    let vpcs = client.describe_vpcs().filters(filter("is-default", "true")).send().await.unwrap();
    let vpc_id = vpcs.vpcs()[0].vpc_id().unwrap().to_string();
    let config = AwsConfig { security_group: "rmachine".into(), ssh_port: 22, engine_port: 2376, ..Default::default() };
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let ec2 = Ec2 { client: client.clone(), region: "eu-west-1".into() };
            let (config, vpc_id) = (config.clone(), vpc_id.clone());
            tokio::spawn(async move { ensure_named_group(&ec2, &config, "rmachine", &vpc_id).await.unwrap() })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let origins: Vec<GroupOrigin> = results.iter().map(|(_, origin)| *origin).collect();
    eprintln!("figure: five concurrent security-group setups: {origins:?}");
    assert_eq!(origins.iter().filter(|origin| **origin == GroupOrigin::Created).count(), 1, "{origins:?}");
    assert!(results.iter().all(|(id, _)| *id == results[0].0), "{results:?}");
    let groups = client.describe_security_groups().filters(filter("group-name", "rmachine")).send().await.unwrap();
    assert_eq!(groups.security_groups().len(), 1);
    let mut rules: Vec<(String, i32)> = groups.security_groups()[0]
        .ip_permissions()
        .iter()
        .flat_map(|permission| {
            permission
                .ip_ranges()
                .iter()
                .map(move |_| (permission.ip_protocol().unwrap().to_string(), permission.from_port().unwrap()))
        })
        .collect();
    rules.sort();
    assert_eq!(rules, vec![("tcp".to_string(), 22), ("tcp".to_string(), 2376)]);
}
