//! How clients reach the engine: TLS over TCP (docker-machine's way, the default) or SSH only,
//! where the engine listens on its local socket and opens no TCP port.

use std::fmt;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EngineTransport {
    /// `tcp://0.0.0.0:PORT` with TLS client certificates.
    #[default]
    Tls,
    /// The local socket only; the docker CLI connects with `ssh://USER@HOST`.
    Ssh,
}

impl EngineTransport {
    pub fn from_name(name: &str) -> Option<EngineTransport> {
        match name {
            "tls" => Some(EngineTransport::Tls),
            "ssh" => Some(EngineTransport::Ssh),
            _ => None,
        }
    }
}

impl fmt::Display for EngineTransport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            EngineTransport::Tls => "tls",
            EngineTransport::Ssh => "ssh",
        })
    }
}
