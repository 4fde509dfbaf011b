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

    fn timeout(&self) -> Duration {
        self.deadline
    }
}

/// Waiting for an engine that opens no TCP port (`--engine-transport ssh`): `docker version` on
/// the host over the provisioning SSH session, through sudo when not root.
pub struct SshEngineCheck<'a> {
    pub session: &'a crate::ssh::Session,
    pub deadline: Duration,
}

impl SshEngineCheck<'_> {
    pub async fn wait(&self) -> Result<String, String> {
        let started = Instant::now();
        let command = "if [ \"$(id -u)\" -ne 0 ]; then SUDO='sudo -n'; else SUDO=; fi; $SUDO docker version --format '{{.Server.Version}}'";
        let mut last_error = String::from("no answer yet");
        while started.elapsed() < self.deadline {
            match self.session.run(command, None).await {
                // The last line: a login banner or a noisy sudo may print before it.
                Ok(output) if output.exit_status == 0 => {
                    let stdout = String::from_utf8_lossy(&output.stdout);
                    return Ok(stdout.trim().lines().last().unwrap_or_default().trim().to_string());
                }
                Ok(output) => last_error = String::from_utf8_lossy(&output.stderr).trim().to_string(),
                Err(error) => last_error = error.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(format!(
            "the engine on {} did not answer 'docker version' over SSH within {}s: {last_error}",
            self.session.describe(),
            self.deadline.as_secs()
        ))
    }
}

/// The check that fits the machine's engine transport.
pub enum AnyEngineCheck<'a> {
    Tls(TlsEngineCheck),
    Ssh(SshEngineCheck<'a>),
}

impl AnyEngineCheck<'_> {
    pub async fn wait(&self) -> Result<String, String> {
        match self {
            AnyEngineCheck::Tls(check) => check.wait().await,
            AnyEngineCheck::Ssh(check) => check.wait().await,
        }
    }
}

impl rmachine_provision::EngineCheck for AnyEngineCheck<'_> {
    fn wait_ready(&self) -> impl std::future::Future<Output = Result<String, String>> + Send {
        self.wait()
    }

    fn timeout(&self) -> Duration {
        match self {
            AnyEngineCheck::Tls(check) => check.deadline,
            AnyEngineCheck::Ssh(check) => check.deadline,
        }
    }
}
