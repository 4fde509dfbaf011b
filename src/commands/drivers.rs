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

/// One driver as listed.
struct Listed {
    name: String,
    kind: &'static str,
    version: String,
    protocol: String,
    path: String,
    description: String,
    /// Whether it controls power (start, stop, kill); unknown for a plugin that failed its handshake.
    power: Option<bool>,
    error: String,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let mut listed = Vec::new();
    for kind in context.registry.builtin() {
        let (version, protocol, path) = match kind.origin() {
            DriverOrigin::BuiltIn => (env!("CARGO_PKG_VERSION").to_string(), "built-in".to_string(), String::new()),
            DriverOrigin::Plugin { path, protocol, version } => (version, protocol, path.display().to_string()),
        };
        listed.push(Listed {
            name: kind.name().to_string(),
            kind: "built-in",
            version,
            protocol,
            path,
            description: kind.description(),
            power: Some(kind.controls_power()),
            error: String::new(),
        });
    }
    for plugin in context.registry.plugins() {
        let kind = context.registry.kind(&plugin.name).ok().filter(|_| plugin.handshake.is_ok());
        let (version, description, error) = match plugin.handshake {
            Ok((version, description)) => (version, description, String::new()),
            Err(problem) => (String::new(), String::new(), problem),
        };
        listed.push(Listed {
            name: plugin.name,
            kind: "plugin",
            version,
            protocol: plugin.protocol,
            path: plugin.path.display().to_string(),
            description,
            power: kind.map(|kind| kind.controls_power()),
            error,
        });
    }
    if args.json {
        let documents: Vec<serde_json::Value> = listed
            .iter()
            .map(|driver| {
                serde_json::json!({"Name": driver.name, "Kind": driver.kind, "Version": driver.version,
                    "Protocol": driver.protocol, "Path": driver.path, "Description": driver.description,
                    "Power": driver.power, "Error": driver.error})
            })
            .collect();
        output::data(&format!("{}\n", serde_json::to_string_pretty(&documents)?));
        return Ok(ExitCode::SUCCESS);
    }
    let dash = |text: &str| if text.is_empty() { "-".to_string() } else { text.to_string() };
    let mut lines = vec!["NAME\tKIND\tVERSION\tPROTOCOL\tPOWER\tWHERE\tDESCRIPTION".to_string()];
    for driver in &listed {
        let about =
            if driver.error.is_empty() { driver.description.clone() } else { format!("unusable: {}", driver.error) };
        let power = match driver.power {
            Some(true) => "yes",
            Some(false) => "no",
            None => "-",
        };
        lines.push(format!(
            "{}\t{}\t{}\t{}\t{power}\t{}\t{about}",
            driver.name,
            driver.kind,
            dash(&driver.version),
            driver.protocol,
            dash(&driver.path)
        ));
    }
    output::data(&crate::listing::template::align(&lines));
    Ok(ExitCode::SUCCESS)
}
