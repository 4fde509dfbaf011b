//! docker-machine's flags that rmachine has no use for, so that its users' scripts get a clear
//! answer: the global crash-report and GitHub tokens are accepted and ignored (rmachine sends no
//! reports and downloads no boot2docker images); the global TLS paths are refused with the reason
//! (rmachine's store keeps one CA of its own; `rmachine import` adopts docker-machine's), and so
//! are classic Swarm's flags of `create`, `env` and `config` (Swarm mode comes from cluster files).

use anyhow::bail;

/// Hidden from help: they exist only for docker-machine's command lines.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GlobalFlags {
    #[arg(long, global = true, hide = true, value_name = "TOKEN")]
    pub bugsnag_api_token: Option<String>,

    #[arg(long, global = true, hide = true, value_name = "TOKEN")]
    pub github_api_token: Option<String>,

    #[arg(long, global = true, hide = true, value_name = "PATH")]
    pub tls_ca_cert: Option<String>,

    #[arg(long, global = true, hide = true, value_name = "PATH")]
    pub tls_ca_key: Option<String>,

    #[arg(long, global = true, hide = true, value_name = "PATH")]
    pub tls_client_cert: Option<String>,

    #[arg(long, global = true, hide = true, value_name = "PATH")]
    pub tls_client_key: Option<String>,
}

impl GlobalFlags {
    /// Refuses the flags whose meaning rmachine does not have.
    pub fn check(&self) -> anyhow::Result<()> {
        let given = [
            ("--tls-ca-cert", &self.tls_ca_cert),
            ("--tls-ca-key", &self.tls_ca_key),
            ("--tls-client-cert", &self.tls_client_cert),
            ("--tls-client-key", &self.tls_client_key),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, value)| value.is_some()) {
            bail!(
                "{flag} is docker-machine's: rmachine keeps one CA and client certificate in its store \
                 (STORE/certs) and makes them itself; 'rmachine import' adopts docker-machine's when the store has none yet"
            )
        }
        Ok(())
    }
}

/// Why classic Swarm's flags have no meaning here.
const CLASSIC_SWARM: &str = "classic Swarm (the swarm:latest agent containers) is docker-machine's and gone from Docker; \
     rmachine makes Docker Swarm mode clusters from a cluster file instead: a `swarm:` section and \
     `role: manager|worker` per machine, then 'rmachine apply -f cluster.yaml'";

/// `create`'s classic Swarm flags, hidden: each is refused with [`CLASSIC_SWARM`].
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClassicSwarmCreateFlags {
    #[arg(long, hide = true)]
    pub swarm: bool,
    #[arg(long, hide = true)]
    pub swarm_master: bool,
    #[arg(long, hide = true)]
    pub swarm_experimental: bool,
    #[arg(long, hide = true, value_name = "VALUE")]
    pub swarm_image: Option<String>,
    #[arg(long, hide = true, value_name = "VALUE")]
    pub swarm_discovery: Option<String>,
    #[arg(long, hide = true, value_name = "VALUE")]
    pub swarm_strategy: Option<String>,
    #[arg(long, hide = true, value_name = "VALUE")]
    pub swarm_host: Option<String>,
    #[arg(long, hide = true, value_name = "VALUE")]
    pub swarm_addr: Option<String>,
    #[arg(long, hide = true, value_name = "VALUE")]
    pub swarm_opt: Vec<String>,
    #[arg(long, hide = true, value_name = "VALUE")]
    pub swarm_join_opt: Vec<String>,
}

impl ClassicSwarmCreateFlags {
    pub fn check(&self) -> anyhow::Result<()> {
        let valued = [
            ("--swarm-image", self.swarm_image.is_some()),
            ("--swarm-discovery", self.swarm_discovery.is_some()),
            ("--swarm-strategy", self.swarm_strategy.is_some()),
            ("--swarm-host", self.swarm_host.is_some()),
            ("--swarm-addr", self.swarm_addr.is_some()),
            ("--swarm-opt", !self.swarm_opt.is_empty()),
            ("--swarm-join-opt", !self.swarm_join_opt.is_empty()),
            ("--swarm", self.swarm),
            ("--swarm-master", self.swarm_master),
            ("--swarm-experimental", self.swarm_experimental),
        ];
        match valued.iter().find(|(_, given)| *given) {
            Some((flag, _)) => bail!("{flag}: {CLASSIC_SWARM}"),
            None => Ok(()),
        }
    }
}

/// `env --swarm` and `config --swarm`, hidden and refused.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClassicSwarmFlag {
    #[arg(long, hide = true)]
    pub swarm: bool,
}

impl ClassicSwarmFlag {
    pub fn check(&self) -> anyhow::Result<()> {
        if self.swarm {
            bail!("--swarm: {CLASSIC_SWARM}; 'rmachine env MANAGER' points docker at a Swarm mode manager");
        }
        Ok(())
    }
}
