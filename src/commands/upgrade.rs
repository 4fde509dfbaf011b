//! `rmachine upgrade`: upgrade the engine package of machines (to their pinned version when
//! they have one), restart the engine and wait for it.

use crate::context::Context;
use crate::engine_check::{AnyEngineCheck, SshEngineCheck, TlsEngineCheck};
use crate::machine_access::{connect, docker_client, engine_url, load_machine, open_store};
use crate::output::{self, Progress};
use anyhow::{Context as _, bail};
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

/// Upgrade the engine of machines with their OS's package manager, honouring a --engine-version pin
#[derive(Debug, Parser)]
pub struct Args {
    /// Machines to upgrade
    #[arg(required = true, add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub names: Vec<String>,

    /// Seconds to wait for the engine's TLS endpoint after the restart
    #[arg(long, default_value_t = 90, value_name = "SECONDS")]
    pub engine_timeout: u64,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let mut failures = 0;
    for name in &args.names {
        let outcome = async {
            let record = load_machine(&store, name)?;
            if record.ssh.is_none() {
                bail!("machine '{name}' uses the {} driver: rmachine does not manage its engine", record.driver_name());
            }
            let progress = Progress::new(name, context.stderr_is_terminal);
            let session = connect(&store, &record, context).await?;
            let deadline = Duration::from_secs(args.engine_timeout);
            let check = if record.engine.transport == rmachine_provision::EngineTransport::Ssh {
                AnyEngineCheck::Ssh(SshEngineCheck { session: &session, deadline })
            } else {
                AnyEngineCheck::Tls(TlsEngineCheck {
                    client: docker_client(&store, Duration::from_secs(5))?,
                    url: engine_url(&record),
                    deadline,
                })
            };
            let result =
                rmachine_provision::upgrade(&session, &check, &record.engine, &|phase: &str| progress.phase(phase))
                    .await;
            session.close().await;
            let report = result.with_context(|| format!("upgrading the engine of machine '{name}' failed"))?;
            output::status(&format!(
                "({name}) Docker {} is running ({})",
                report.engine_version,
                report.packages.join(" ")
            ));
            Ok(())
        }
        .await;
        if let Err(error) = outcome {
            failures += 1;
            output::status(&format!("error: ({name}) {error:#}"));
        }
    }
    if failures > 0 {
        bail!("{failures} of {} machine(s) failed to upgrade", args.names.len());
    }
    Ok(ExitCode::SUCCESS)
}
