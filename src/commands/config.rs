//! `rmachine config`: the docker CLI flags that reach a machine's engine over TLS.

use crate::context::Context;
use crate::flows::provision::{certificate_notice, check_client_key};
use crate::machine_access::{STATE_TIMEOUT, name_or_default, open_machine, open_store, require_running};
use crate::output;
use clap::Parser;
use std::process::ExitCode;

/// Print the docker CLI's TLS flags for a machine, e.g. docker $(rmachine config node1) info
#[derive(Debug, Parser)]
pub struct Args {
    /// Machine [default: the machine named 'default']
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub name: Option<String>,

    #[command(flatten)]
    pub swarm: crate::docker_machine_flags::ClassicSwarmFlag,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    args.swarm.check()?;
    let store = open_store(context)?;
    let machine = open_machine(&store, context, &name_or_default(&store, args.name.as_deref())?)?;
    require_running(&machine, STATE_TIMEOUT).await?;
    if let Some(notice) = certificate_notice(&store, &machine) {
        output::warning(&notice);
    }
    check_client_key(&store, &machine)?;
    let folder = store.machine_directory(machine.name());
    let file = |name: &str| folder.join(name).display().to_string();
    output::data(&format!(
        "--tlsverify\n--tlscacert={}\n--tlscert={}\n--tlskey={}\n-H={}\n",
        file("ca.pem"),
        file("cert.pem"),
        file("key.pem"),
        machine.engine_url()
    ));
    Ok(ExitCode::SUCCESS)
}
