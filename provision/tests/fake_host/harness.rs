//! The fake engine check, and a helper that provisions a fake host the way the CLI would.

use std::sync::Mutex;

use rmachine_provision::{
    EngineCertificates, EngineCheck, EngineOptions, ProvisionError, ProvisionReport, ProvisionRequest, provision,
};

use super::FakeHost;

pub fn certificates() -> EngineCertificates {
    EngineCertificates {
        ca_pem: "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n".into(),
        server_cert_pem: "-----BEGIN CERTIFICATE-----\nSERVER\n-----END CERTIFICATE-----\n".into(),
        server_key_pem: "-----BEGIN PRIVATE KEY-----\nSECRET\n-----END PRIVATE KEY-----\n".into(),
    }
}

/// Provisions `host` as machine "node1" of the generic driver; returns the result and the
/// phases reported.
pub async fn run(
    host: &FakeHost,
    check: &FakeCheck,
    engine: &EngineOptions,
) -> (Result<ProvisionReport, ProvisionError>, Vec<String>) {
    let certificates = certificates();
    let request = ProvisionRequest { hostname: "node1", driver_name: "generic", engine, certificates: &certificates };
    let phases = Mutex::new(Vec::new());
    let on_phase = |phase: &str| phases.lock().unwrap().push(phase.to_string());
    let result = provision(host, check, &request, &on_phase).await;
    (result, phases.into_inner().unwrap())
}

/// An engine check that answers from a list of outcomes (the last one repeats).
pub struct FakeCheck {
    pub outcomes: Mutex<Vec<Result<String, String>>>,
    pub calls: Mutex<usize>,
}

impl FakeCheck {
    pub fn ready() -> Self {
        Self::answering(Ok("20.10.24".into()))
    }

    pub fn answering(outcome: Result<String, String>) -> Self {
        Self { outcomes: Mutex::new(vec![outcome]), calls: Mutex::new(0) }
    }

    pub fn calls(&self) -> usize {
        *self.calls.lock().unwrap()
    }
}

impl EngineCheck for FakeCheck {
    fn wait_ready(&self) -> impl std::future::Future<Output = Result<String, String>> + Send {
        *self.calls.lock().unwrap() += 1;
        let mut outcomes = self.outcomes.lock().unwrap();
        let outcome = if outcomes.len() > 1 { outcomes.remove(0) } else { outcomes[0].clone() };
        std::future::ready(outcome)
    }

    fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(90)
    }
}
