//! Upgrading the engine package of a provisioned host ([`upgrade`]): the family's package
//! manager upgrades it (to the pinned version when the machine has one; a pin the packages
//! cannot honour is an error), then the engine is restarted and must answer again.

use crate::engine_options::{EngineOptions, NO_INSTALL};
use crate::engine_setup;
use crate::error::ProvisionError;
use crate::install;
use crate::package_manager;
use crate::pipeline;
use crate::plan;
use crate::remote::{EngineCheck, Remote};
use crate::session::{Session, combined_output};

/// What an upgrade did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct UpgradeReport {
    /// The family whose package manager ran, e.g. "debian".
    pub family: String,
    /// The packages as asked for ("docker.io", or pinned "docker.io=20.10.24+dfsg1-1+deb12u1+b6").
    pub packages: Vec<String>,
    /// The engine version after the upgrade.
    pub engine_version: String,
}

/// Upgrades the engine on the host behind `remote`; `options` are the machine's engine options
/// (their `engine_version` pin is honoured).
pub async fn upgrade<R: Remote, C: EngineCheck>(
    remote: &R,
    check: &C,
    options: &EngineOptions,
    on_phase: &(dyn Fn(&str) + Sync),
) -> Result<UpgradeReport, ProvisionError> {
    let mut session = Session::new(remote);
    on_phase("detecting the OS");
    let managed_paths = pipeline::managed_paths(&[], &EngineOptions::default());
    let facts = session.detect(&managed_paths).await?;
    let family = pipeline::choose_family(&facts, &session.host)?;
    let service_manager = pipeline::service_manager(&facts, &session.host)?;
    session.privilege = pipeline::privilege(&facts, &session.host)?;
    // An upgrade must not start while another package manager run goes on, nor on top of a
    // half-done one.
    let (facts, _) = package_manager::settle(&mut session, &managed_paths, facts, family, on_phase).await?;
    if facts.program("dockerd").is_none() {
        return Err(ProvisionError::EngineMissing {
            host: session.host.clone(),
            reason: "there is nothing to upgrade; run `rmachine provision` to install it".into(),
        });
    }
    let refused = |host: &str, refusal: install::InstallRefusal| ProvisionError::InstallRefused {
        host: host.to_string(),
        reason: refusal.describe(),
    };
    let packages = match options.install_url.as_deref().filter(|url| *url != NO_INSTALL) {
        // An engine from an install script is upgraded by running the script again.
        Some(url) => {
            on_phase(&format!("running the install script {url} again"));
            session.run_checked(&plan::install_from_url(url, options.engine_version.as_deref())).await?;
            vec![url.to_string()]
        }
        None => {
            let packages =
                engine_setup::pinned_packages(&mut session, family, options.engine_version.as_deref(), on_phase)
                    .await?
                    .map_err(|refusal| refused(&session.host, refusal))?;
            let commands =
                install::upgrade_plan(family, &packages).map_err(|refusal| refused(&session.host, refusal))?;
            on_phase(&format!("upgrading {}", packages.join(" ")));
            for command in commands {
                session.run_checked(&command).await?;
            }
            packages
        }
    };
    on_phase("restarting docker");
    let output = session.run(&plan::restart_engine(service_manager)).await?;
    if output.exit_status != 0 {
        let journal = session
            .run(&plan::engine_journal(service_manager))
            .await
            .map(|output| combined_output(&output))
            .unwrap_or_default();
        return Err(ProvisionError::CommandFailed {
            host: session.host.clone(),
            command: "restarting docker after the upgrade".into(),
            exit_status: output.exit_status,
            stderr: format!("{}\n{journal}", combined_output(&output)),
        });
    }
    on_phase("waiting for the engine");
    let engine_version = check.wait_ready().await.map_err(|reason| ProvisionError::CommandFailed {
        host: session.host.clone(),
        command: "waiting for the engine after the upgrade".into(),
        exit_status: 1,
        stderr: reason,
    })?;
    Ok(UpgradeReport { family: family.name.to_string(), packages, engine_version })
}
