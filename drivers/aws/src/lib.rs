//! rmachine's AWS EC2 driver, on aws-sdk-ec2. `create` resolves the region, subnet and image
//! (DescribeImages by owner and name, never a hard-coded map), imports a fresh ed25519 key, shares
//! or creates the security group without racing, and launches one instance with tags, IMDSv2 and
//! optionally spot; `remove` undoes all of it. Credentials come from the standard AWS chain and
//! are never stored. It lives in its own crate because aws-sdk-ec2 takes minutes to compile.

mod client;
mod image;
mod import;
mod kind;
mod launch;
mod lifecycle;
mod network;
mod settings;

pub use kind::{config_from_options, kind};
pub use launch::KEY_FILE_NAME;
pub use settings::{
    AwsConfig, Created, DEFAULT_IMAGE_FAMILY, DEFAULT_SECURITY_GROUP, IMAGE_FAMILIES, ImageFamily, MACHINE_TAG,
    MANAGED_GROUP_TAG, availability_zone, image_family, parse_tag_pairs, parse_tags,
};

use rmachine_drivers::{
    Addresses, CreateContext, Driver, DriverError, DriverFuture, PowerOperation, PowerOutcome, SshEndpoint,
    StateReport, settings_to_json, tcp_url,
};
use std::time::Duration;

/// A token unique to one create: tags what it makes and is RunInstances' idempotency token.
pub fn new_create_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

impl Driver for AwsConfig {
    fn name(&self) -> &str {
        kind::NAME
    }

    fn settings(&self) -> serde_json::Value {
        settings_to_json(self)
    }

    fn pre_create_check(&self) -> DriverFuture<'_, Result<(), DriverError>> {
        Box::pin(async move { self.check() })
    }

    fn create<'a>(&'a mut self, context: &'a CreateContext<'a>) -> DriverFuture<'a, Result<(), DriverError>> {
        Box::pin(launch::create(self, context))
    }

    fn ip(&self) -> String {
        self.address().unwrap_or_default().to_string()
    }

    fn addresses(&self) -> Addresses {
        Addresses { public: self.created.public_ip.clone(), private: self.created.private_ip.clone() }
    }

    fn engine_port(&self) -> u16 {
        self.engine_port
    }

    fn engine_url(&self) -> String {
        tcp_url(&self.ip(), self.engine_port)
    }

    fn ssh_endpoint(&self) -> Option<SshEndpoint> {
        Some(SshEndpoint {
            host: self.ip(),
            port: self.ssh_port,
            user: self.ssh_user.clone(),
            private_key: self.created.ssh_key.clone(),
            expected_host_key: None,
        })
    }

    fn state(&self, timeout: Duration) -> DriverFuture<'_, StateReport> {
        Box::pin(lifecycle::state(self, timeout))
    }

    fn remove(&self) -> DriverFuture<'_, Result<(), DriverError>> {
        Box::pin(lifecycle::remove(self))
    }

    /// Any failure after RunInstances terminates the instance and deletes the key pair, unless
    /// `--aws-keep-on-failure` (then the record stays, marked failed, for `provision` or `rm`).
    fn remove_after_failed_create(&self, _provisioning_started: bool) -> bool {
        !self.keep_on_failure
    }

    fn ssh_wait(&self) -> Option<Duration> {
        self.ssh_timeout.map(Duration::from_secs)
    }

    fn power(&mut self, operation: PowerOperation) -> DriverFuture<'_, Result<PowerOutcome, DriverError>> {
        Box::pin(lifecycle::power(self, operation))
    }
}

#[cfg(test)]
mod race_tests;
