//! `rmachine inspect`: a machine as JSON (its record with docker-machine's fields beside its
//! own), or a Go template over it.

use crate::context::Context;
use crate::listing::machine_view::inspect_document;
use crate::listing::{Template, render_template};
use crate::machine_access::{Machine, names_or_default, open_store};
use crate::output;
use clap::Parser;
use std::process::ExitCode;

/// Show machines as JSON: rmachine's record and docker-machine's fields (Name, Driver, HostOptions)
#[derive(Debug, Parser)]
pub struct Args {
    /// Machines to inspect [default: the machine named `default`]
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub names: Vec<String>,

    /// A Go template applied to each machine, one line each: '{{.Driver.IPAddress}}',
    /// '{{json .DriverName}}', '{{prettyjson .Driver}}', '{{range .HostOptions.EngineOptions.Labels}}{{.}} {{end}}',
    /// '{{.driver.settings.ip_address}}'; 'json' (the default) prints the machines as pretty JSON
    #[arg(short, long, value_name = "TEMPLATE")]
    pub format: Option<String>,
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let template = args.format.as_deref().filter(|text| *text != "json").map(Template::parse).transpose()?;
    let mut documents = Vec::new();
    for name in &names_or_default(&store, &args.names)? {
        let record = store.load(name)?;
        let driver = Machine::from_record(record.clone(), context).ok().map(|machine| machine.driver);
        documents.push(inspect_document(&record, driver.as_deref(), store.root()));
    }
    if let Some(template) = template {
        let shape = documents.first().cloned().unwrap_or_default();
        output::data(&render_template(&template, &documents, &shape, &|field: &str| field.to_uppercase())?);
        return Ok(ExitCode::SUCCESS);
    }
    let value = if documents.len() == 1 { documents.remove(0) } else { serde_json::Value::Array(documents) };
    output::data(&format!("{}\n", serde_json::to_string_pretty(&value)?));
    Ok(ExitCode::SUCCESS)
}
