//! docker-machine's global flags that rmachine has no use for, so that its users' scripts get a
//! clear answer: crash-report and GitHub tokens are accepted and ignored (rmachine sends no
//! reports and downloads no boot2docker images); the TLS paths are refused with the reason
//! (rmachine's store keeps one CA of its own; `rmachine import` adopts docker-machine's).

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
