//! `rmachine config`: the docker CLI flags that reach a machine's engine over TLS.

use crate::context::Context;
use crate::machine_access::{engine_url, load_machine, open_store};
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
    let record = load_machine(&store, &args.name)?;
    if let Some(notice) = crate::commands::regenerate_certs::certificate_notice(&store, &record) {
        output::warning(&notice);
    }
    let folder = store.machine_directory(&record.name);
    let file = |name: &str| folder.join(name).display().to_string();
    output::data(&format!(
        "--tlsverify\n--tlscacert={}\n--tlscert={}\n--tlskey={}\n-H={}\n",
        file("ca.pem"),
        file("cert.pem"),
        file("key.pem"),
        engine_url(&record)
    ));
    Ok(ExitCode::SUCCESS)
}
