//! Where a plugin's machine is, as the plugin last said (after create, or a start that moved
//! it), cached in the machine's settings so that the driver's synchronous answers (`ip`,
//! `engine_url`, `ssh_endpoint`, `addresses`) need no plugin process. Both protocols keep it in
//! this shape; rmachine's protocol sends it as is (`docs/driver-protocol.md`).

use rmachine_drivers::{Addresses, SshEndpoint, tcp_url};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The engine port when the plugin names none (docker-machine's).
pub const DEFAULT_ENGINE_PORT: u16 = 2376;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The address users and certificates know the machine by.
    #[serde(default)]
    pub ip: String,
    /// `tcp://HOST:PORT`; default `tcp://IP:ENGINE_PORT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_url: Option<String>,
    /// Default: the port of `engine_url`, else 2376.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<EndpointAddresses>,
    /// `None`: rmachine does not reach (nor provision) the machine over SSH.
    #[serde(default)]
    pub ssh: Option<EndpointSsh>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointAddresses {
    #[serde(default)]
    pub public: Option<String>,
    #[serde(default)]
    pub private: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointSsh {
    /// Default: `ip`.
    #[serde(default)]
    pub host: String,
    #[serde(default = "default_ssh_port")]
    pub port: u16,
    #[serde(default = "default_ssh_user")]
    pub user: String,
    /// The private key: relative to the store root when it lives in the store; `None`: the ssh-agent.
    #[serde(default)]
    pub private_key: Option<PathBuf>,
    /// The host's public key (an OpenSSH line), when the plugin gave the host its key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key: Option<String>,
    /// How long a new host may take to answer SSH, seconds (a slow first boot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<u64>,
}

fn default_ssh_port() -> u16 {
    22
}

fn default_ssh_user() -> String {
    "root".into()
}

impl Endpoint {
    /// Fills what the plugin left out and makes a key inside the store relative to it; `Err`
    /// says what is wrong with what it said.
    pub fn normalised(mut self, store_root: &Path) -> Result<Endpoint, String> {
        if self.ip.trim().is_empty() && self.engine_url.is_none() {
            return Err("an endpoint needs an \"ip\" (or an \"engine_url\")".into());
        }
        if let Some(url) = &self.engine_url
            && url_port(url).is_none()
        {
            return Err(format!("\"engine_url\" {url:?} is not tcp://HOST:PORT"));
        }
        if let Some(ssh) = self.ssh.as_mut() {
            if ssh.host.trim().is_empty() {
                ssh.host = self.ip.clone();
            }
            if ssh.port == 0 {
                return Err("\"ssh\".\"port\" must be a port number from 1 to 65535".into());
            }
            if let Some(key) = &ssh.private_key {
                if key.as_os_str().is_empty() {
                    ssh.private_key = None;
                } else if let Ok(inside) = key.strip_prefix(store_root)
                    && !store_root.as_os_str().is_empty()
                {
                    ssh.private_key = Some(inside.to_path_buf());
                }
            }
        }
        Ok(self)
    }

    pub fn engine_port(&self) -> u16 {
        self.engine_port.or_else(|| self.engine_url.as_deref().and_then(url_port)).unwrap_or(DEFAULT_ENGINE_PORT)
    }

    pub fn engine_url(&self) -> String {
        self.engine_url.clone().unwrap_or_else(|| tcp_url(&self.ip, self.engine_port()))
    }

    pub fn addresses(&self) -> Addresses {
        let ip = Some(self.ip.clone()).filter(|ip| !ip.is_empty());
        match &self.addresses {
            Some(given) => {
                Addresses { public: given.public.clone().or_else(|| ip.clone()), private: given.private.clone().or(ip) }
            }
            None => Addresses { public: ip.clone(), private: ip },
        }
    }

    pub fn ssh_endpoint(&self) -> Option<SshEndpoint> {
        self.ssh.as_ref().map(|ssh| SshEndpoint {
            host: ssh.host.clone(),
            port: ssh.port,
            user: ssh.user.clone(),
            private_key: ssh.private_key.clone(),
            expected_host_key: ssh.host_key.clone(),
        })
    }
}

/// The port of `tcp://HOST:PORT` (or `tcp://[V6]:PORT`).
pub fn url_port(url: &str) -> Option<u16> {
    let rest = url.strip_prefix("tcp://")?;
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = authority.rsplit_once(':')?;
    if host.is_empty() {
        return None;
    }
    port.parse().ok().filter(|port| *port > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_plugin_leaves_out_is_filled_in() {
        let endpoint: Endpoint = serde_json::from_value(serde_json::json!({
            "ip": "10.0.0.5", "ssh": {"private_key": "/store/machines/n1/id"}
        }))
        .unwrap();
        let endpoint = endpoint.normalised(Path::new("/store")).unwrap();
        assert_eq!(endpoint.engine_url(), "tcp://10.0.0.5:2376");
        let ssh = endpoint.ssh_endpoint().unwrap();
        assert_eq!((ssh.host.as_str(), ssh.port, ssh.user.as_str()), ("10.0.0.5", 22, "root"));
        assert_eq!(ssh.private_key.as_deref(), Some(Path::new("machines/n1/id")));
        assert_eq!(endpoint.addresses().private.as_deref(), Some("10.0.0.5"));
    }

    #[test]
    fn the_engine_port_comes_from_the_url_and_bad_endpoints_are_named() {
        let endpoint =
            Endpoint { ip: "fd00::1".into(), engine_url: Some("tcp://[fd00::1]:2377".into()), ..Default::default() };
        assert_eq!(endpoint.engine_port(), 2377);
        assert_eq!(url_port("tcp://:2376"), None);
        let bad = Endpoint { engine_url: Some("http://x".into()), ..Default::default() };
        assert!(bad.normalised(Path::new("/s")).unwrap_err().contains("tcp://HOST:PORT"));
        assert!(Endpoint::default().normalised(Path::new("/s")).unwrap_err().contains("\"ip\""));
        let outside = Endpoint {
            ip: "h".into(),
            ssh: Some(EndpointSsh { private_key: Some("/keys/id".into()), port: 22, ..Default::default() }),
            ..Default::default()
        };
        let outside = outside.normalised(Path::new("/store")).unwrap();
        assert_eq!(outside.ssh.unwrap().private_key.as_deref(), Some(Path::new("/keys/id")));
    }
}
