//! Waiting for an engine: polls its TLS endpoint's `/version` with the store's client
//! certificate until it answers or a deadline passes. The provisioner calls it after a restart.

use crate::tls::DockerClient;
use std::time::{Duration, Instant};

pub struct TlsEngineCheck {
    pub client: DockerClient,
    pub url: String,
    pub deadline: Duration,
}

impl TlsEngineCheck {
    pub async fn wait(&self) -> Result<String, String> {
        let started = Instant::now();
        let mut last_error = String::from("no answer yet");
        while started.elapsed() < self.deadline {
            match self.client.version(&self.url).await {
                Ok(version) => return Ok(version.version),
                Err(error) => last_error = error.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(format!(
            "the engine at {} did not answer /version over TLS within {}s: {last_error}",
            self.url,
            self.deadline.as_secs()
        ))
    }
}

impl rmachine_provision::EngineCheck for TlsEngineCheck {
    fn wait_ready(&self) -> impl std::future::Future<Output = Result<String, String>> + Send {
        self.wait()
    }
}
