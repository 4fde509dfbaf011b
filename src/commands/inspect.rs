//! `rmachine inspect`: a machine's record as JSON.

use crate::context::Context;
use crate::listing::{Template, render_template};
use crate::machine_access::open_store;
use crate::output;
use clap::Parser;
use std::process::ExitCode;

/// Show machines' records as JSON
#[derive(Debug, Parser)]
pub struct Args {
    /// Machines to inspect
    #[arg(required = true, add = clap_complete::ArgValueCandidates::new(crate::completion_candidates::machine_names))]
    pub names: Vec<String>,

    /// A template applied to each record, one line each: '{{.driver.settings.ip_address}}',
    /// '{{json .engine}}'; 'json' (the default) prints the records as pretty JSON
    #[arg(short, long, value_name = "TEMPLATE")]
    pub format: Option<String>,
}

pub fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let mut documents = Vec::new();
    for name in &args.names {
        documents.push(serde_json::to_value(store.load(name)?)?);
    }
    if let Some(text) = args.format.as_deref().filter(|text| *text != "json") {
        let template = Template::parse(text)?;
        output::data(&render_template(&template, &documents, &|field: &str| field.to_uppercase())?);
        return Ok(ExitCode::SUCCESS);
    }
    let value = if documents.len() == 1 { documents.remove(0) } else { serde_json::Value::Array(documents) };
    output::data(&format!("{}\n", serde_json::to_string_pretty(&value)?));
    Ok(ExitCode::SUCCESS)
}
