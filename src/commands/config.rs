//! `rmachine config`: the docker CLI flags that reach a machine's engine over TLS.

use crate::context::Context;
use crate::flows::provision::{certificate_notice, check_client_key};
use crate::machine_access::{open_machine, open_store};
use crate::output;
use clap::Parser;
use std::process::ExitCode;

/// Print the docker CLI's TLS flags for a machine, e.g. docker $(rmachine config node1) info
#[derive(Debug, Parser)]
pub struct Args {
    /// Machine
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub name: String,
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let machine = open_machine(&store, context, &args.name)?;
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
