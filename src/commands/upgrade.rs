//! `rmachine upgrade`: upgrade the engine package of machines (to their pinned version when
//! they have one), restart the engine and wait for it.

use crate::context::Context;
use crate::engine_check::{AnyEngineCheck, SshEngineCheck, TlsEngineCheck};
use crate::flows::fanout;
use crate::machine_access::{connect, docker_client, names_or_default, open_machine, open_store};
use crate::output::{self, Progress};
use anyhow::{Context as _, bail};
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

/// Upgrade the engine of machines with their OS's package manager, honouring a --engine-version pin
#[derive(Debug, Parser)]
pub struct Args {
    /// Machines to upgrade [default: the machine named 'default']
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub names: Vec<String>,

    /// Seconds to wait for the engine's TLS endpoint after the restart
    #[arg(long, default_value_t = 90, value_name = "SECONDS")]
    pub engine_timeout: u64,

    #[command(flatten)]
    pub parallel: super::Parallel,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let names = names_or_default(&store, &args.names)?;
    let deadline = Duration::from_secs(args.engine_timeout);
    let outcomes = fanout::for_each(&names, args.parallel.limit, |name| {
        let store = &store;
        async move {
            let machine = open_machine(store, context, name)?;
            if !machine.over_ssh() {
                bail!(
                    "machine '{name}' uses the {} driver: rmachine does not manage its engine",
                    machine.record.driver_name()
                );
            }
            let progress = Progress::new(name, context.stderr_is_terminal);
            let session = connect(store, &machine, context).await?;
            let check = if machine.record.engine.transport == rmachine_provision::EngineTransport::Ssh {
                AnyEngineCheck::Ssh(SshEngineCheck { session: &session, deadline })
            } else {
                AnyEngineCheck::Tls(TlsEngineCheck {
                    client: docker_client(store, Duration::from_secs(5))?,
                    url: machine.engine_url(),
                    deadline,
                })
            };
            let on_phase = |phase: &str| progress.phase(phase);
            let result = rmachine_provision::upgrade(&session, &check, &machine.record.engine, &on_phase).await;
            session.close().await;
            let report = result.with_context(|| format!("upgrading the engine of machine '{name}' failed"))?;
            let packages = report.packages.join(" ");
            output::status(&format!("({name}) Docker {} is running ({packages})", report.engine_version));
            Ok(vec![format!("Docker {} running ({packages})", report.engine_version)])
        }
    })
    .await;
    super::finish(&outcomes, "upgrade")
}
