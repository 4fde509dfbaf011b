//! Authentication of a new connection: the private key file first (RSA signs with the best SHA-2
//! hash the server accepts), then each ssh-agent identity, and a message saying what was refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::AgentAuthError;
use russh::client::Handle;
use russh::keys::PrivateKeyWithHashAlg;
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::ssh_key::{PrivateKey, PublicKey};

use super::SshError;
use super::host_key::{self, HostKeyCheck};
use super::session::SshTarget;

/// Tries the key file, then each of the agent's identities, and explains what was refused.
pub(crate) async fn authenticate(
    handle: &mut Handle<HostKeyCheck>,
    target: &SshTarget,
    private_key: Option<(PathBuf, PrivateKey)>,
) -> Result<(), SshError> {
    let mut refused_key = None;
    if let Some((path, key)) = private_key {
        let description = format!(
            "key {} ({} {})",
            path.display(),
            key.algorithm().as_str(),
            host_key::sha256_fingerprint(key.public_key())
        );
        let hash = rsa_hash_for(handle, key.public_key()).await;
        let attempt = handle.authenticate_publickey(&target.user, PrivateKeyWithHashAlg::new(Arc::new(key), hash));
        match attempt.await {
            Ok(result) if result.success() => return Ok(()),
            Ok(_) => refused_key = Some(description),
            Err(error) => refused_key = Some(format!("{description} (the server closed the connection: {error})")),
        }
    }

    let agent_description = match &target.agent_socket {
        None => "0 ssh-agent identities".to_string(),
        Some(socket) => match authenticate_with_agent(handle, &target.user, socket).await {
            AgentOutcome::Authenticated => return Ok(()),
            AgentOutcome::Refused(count) => {
                format!("{count} ssh-agent identities (agent {})", socket.display())
            }
            AgentOutcome::Unusable(reason) => {
                format!("0 ssh-agent identities (cannot use the agent at {}: {reason})", socket.display())
            }
        },
    };
    let tried = match refused_key {
        Some(key) => format!("{key} and {agent_description}"),
        None => format!("no key file and {agent_description}"),
    };
    Err(SshError::AuthenticationFailed { target: target.describe(), user: target.user.clone(), tried })
}

enum AgentOutcome {
    Authenticated,
    Refused(usize),
    Unusable(String),
}

async fn authenticate_with_agent(handle: &mut Handle<HostKeyCheck>, user: &str, socket: &Path) -> AgentOutcome {
    let mut agent = match AgentClient::connect_uds(socket).await {
        Ok(agent) => agent,
        Err(error) => return AgentOutcome::Unusable(error.to_string()),
    };
    if let Some(binding) = handle.agent_session_binding() {
        // Older agents do not know session binding; plain identities work without it.
        let _ = agent.bind_session(binding, false).await;
    }
    let identities = match agent.request_identities().await {
        Ok(identities) => identities,
        Err(error) => return AgentOutcome::Unusable(error.to_string()),
    };
    let mut tried = 0;
    for identity in identities {
        let AgentIdentity::PublicKey { key, .. } = identity else {
            continue;
        };
        tried += 1;
        let hash = rsa_hash_for(handle, &key).await;
        match handle.authenticate_publickey_with(user, key, hash, &mut agent).await {
            Ok(result) if result.success() => return AgentOutcome::Authenticated,
            Ok(_) => {}
            Err(error) => {
                return AgentOutcome::Unusable(match error {
                    AgentAuthError::Send(_) => "the server closed the connection".to_string(),
                    AgentAuthError::Key(error) => format!("the agent could not sign: {error}"),
                });
            }
        }
    }
    AgentOutcome::Refused(tried)
}

/// RSA keys must sign with SHA-2 (OpenSSH 8.8+ refuses ssh-rsa/SHA-1); other keys need no choice.
async fn rsa_hash_for(handle: &Handle<HostKeyCheck>, key: &PublicKey) -> Option<russh::keys::HashAlg> {
    if !key.algorithm().is_rsa() {
        return None;
    }
    handle.best_supported_rsa_hash().await.ok().flatten().flatten()
}
