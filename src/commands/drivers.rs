//! `rmachine drivers`: the built-in drivers and the plugins found, with their versions, protocol
//! and where each was found; a plugin that fails its handshake is listed with the reason.

use crate::context::Context;
use crate::output;
use clap::Parser;
use rmachine_drivers::DriverOrigin;
use std::process::ExitCode;

/// List the drivers: built in, and plugins found in RMACHINE_DRIVER_PATH and PATH
#[derive(Debug, Parser)]
pub struct Args {
    /// Print [{"Name", "Kind", "Version", "Protocol", "Path", "Description", "Power", "Error"}] as JSON
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let mut rows: Vec<[String; 7]> = Vec::new();
    for kind in context.registry.builtin() {
        let (version, protocol, path) = match kind.origin() {
            DriverOrigin::BuiltIn => (env!("CARGO_PKG_VERSION").to_string(), "built-in".to_string(), String::new()),
            DriverOrigin::Plugin { path, protocol, version } => (version, protocol, path.display().to_string()),
        };
        rows.push([
            kind.name().to_string(),
            "built-in".into(),
            version,
            protocol,
            path,
            kind.description(),
            String::new(),
        ]);
    }
    for plugin in context.registry.plugins() {
        let (version, description, error) = match plugin.handshake {
            Ok((version, description)) => (version, description, String::new()),
            Err(problem) => (String::new(), String::new(), problem),
        };
        rows.push([
            plugin.name,
            "plugin".into(),
            version,
            plugin.protocol,
            plugin.path.display().to_string(),
            description,
            error,
        ]);
    }
    if args.json {
        let documents: Vec<serde_json::Value> = rows
            .iter()
            .map(|[name, kind, version, protocol, path, description, error]| {
                serde_json::json!({"Name": name, "Kind": kind, "Version": version, "Protocol": protocol,
                    "Path": path, "Description": description, "Error": error})
            })
            .collect();
        output::data(&format!("{}\n", serde_json::to_string_pretty(&documents)?));
        return Ok(ExitCode::SUCCESS);
    }
    let mut lines = vec!["NAME\tKIND\tVERSION\tPROTOCOL\tWHERE\tDESCRIPTION".to_string()];
    for [name, kind, version, protocol, path, description, _, error] in &rows {
        let about = if error.is_empty() { description.clone() } else { format!("unusable: {error}") };
        let place = if path.is_empty() { "-" } else { path };
        let version = if version.is_empty() { "-" } else { version };
        lines.push(format!("{name}\t{kind}\t{version}\t{protocol}\t{place}\t{about}"));
    }
    output::data(&crate::listing::template::align(&lines));
    Ok(ExitCode::SUCCESS)
}
