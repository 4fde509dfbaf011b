//! `rmachine ls`: every machine with its state and engine version, hosts queried concurrently
//! with a timeout so one dead host never holds up the rest.

use crate::context::Context;
use crate::flows::provision::certificate_notice;
use crate::listing::{EngineGates, Filters, Template, render_template};
use crate::machine_access::{Machine, docker_client, open_store};
use crate::output;
use crate::store::{MachineRecord, ProvisioningStatus, StoreError};
use crate::tls::DockerClient;
use clap::Parser;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// List machines: NAME ACTIVE DRIVER STATE URL DOCKER ERRORS
#[derive(Debug, Parser)]
pub struct Args {
    /// Print machine names only
    #[arg(short, long)]
    pub quiet: bool,

    /// Seconds to wait for the hosts to answer; rows still unanswered then say Timeout
    #[arg(short, long, default_value_t = 10, value_name = "SECONDS")]
    pub timeout: u64,

    /// Only machines matching KEY=VALUE: driver=NAME, state=STATE, name=REGEX, label=K=V
    /// (different keys must all match, repeated keys any; case-insensitive)
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub filter: Vec<String>,

    /// table (default), json (an array of rows with the template fields below), or a Go template
    /// such as 'table {{.Name}}\t{{.State}}', '{{.Name}} {{.URL}}' or
    /// '{{if eq .State "Running"}}{{.Name}}{{end}}'. Fields: .Name .Active .DriverName .State .URL
    /// .DockerVersion .Error .Swarm
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,

    /// Same as --format json
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

/// How many hosts are asked at once.
const CONCURRENT_QUERIES: usize = 64;

/// One machine's line; serialised with docker-machine's template field names, which are also
/// the keys of `--format json` (a documented, stable interface: add fields, never rename).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Row {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Active")]
    pub active: String,
    #[serde(rename = "DriverName")]
    pub driver: String,
    #[serde(rename = "State")]
    pub state: String,
    #[serde(rename = "URL")]
    pub url: String,
    #[serde(rename = "DockerVersion")]
    pub docker: String,
    #[serde(rename = "Error")]
    pub error: String,
    /// The machine's swarm role (manager, worker), empty outside a swarm.
    #[serde(rename = "Swarm")]
    pub swarm: String,
}

/// The column name `table` templates show for a field.
fn header_for(field: &str) -> String {
    match field {
        "DriverName" => "DRIVER".into(),
        "DockerVersion" => "DOCKER".into(),
        "Error" => "ERRORS".into(),
        other => other.to_uppercase(),
    }
}

fn record_matches(filters: &Filters, name: &str, record: &Result<MachineRecord, StoreError>) -> bool {
    match record {
        Ok(record) => filters.matches_record(name, record.driver_name(), &record.engine.labels),
        Err(_) => filters.matches_record(name, "not found", &[]),
    }
}

fn names_of<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names.map(|name| format!("{name}\n")).collect()
}

/// The rows as `--format` asks: the default table, JSON, or a template.
fn render(rows: &[Row], format: Option<&str>) -> anyhow::Result<String> {
    match format {
        None | Some("table") => Ok(render_table(rows)),
        Some("json") => Ok(format!("{}\n", serde_json::to_string_pretty(rows)?)),
        Some(text) => {
            let template = Template::parse(text)?;
            let values: Vec<serde_json::Value> = rows.iter().map(serde_json::to_value).collect::<Result<_, _>>()?;
            let shape = serde_json::to_value(timed_out_row(""))?;
            Ok(render_template(&template, &values, &shape, &header_for)?)
        }
    }
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let filters = Filters::parse(&args.filter)?;
    let format = if args.json { Some("json") } else { args.format.as_deref() };
    if let Some(text) = format.filter(|text| !matches!(*text, "table" | "json")) {
        Template::parse(text)?;
    }
    let store = open_store(context)?;
    let machines: Vec<_> =
        store.list()?.into_iter().filter(|(name, record)| record_matches(&filters, name, record)).collect();
    if args.quiet && !filters.needs_state() {
        output::data(&names_of(machines.iter().map(|(name, _)| name)));
        return Ok(ExitCode::SUCCESS);
    }
    let timeout = Duration::from_secs(args.timeout);
    let client = Arc::new(docker_client(&store, timeout)?);
    let gates = Arc::new(EngineGates::default());
    let semaphore = Arc::new(Semaphore::new(CONCURRENT_QUERIES));
    let docker_host = context.docker_host.clone();
    // One deadline for all: waiting for a permit counts, so many dead hosts cannot push the
    // answer past --timeout.
    let deadline = tokio::time::Instant::now() + timeout + Duration::from_millis(200);
    let tasks: Vec<_> = machines
        .into_iter()
        .map(|(name, record)| {
            let (client, semaphore, docker_host) = (client.clone(), semaphore.clone(), docker_host.clone());
            let gates = gates.clone();
            let machine = record.map(|record| {
                let driver_name = record.driver.name.clone();
                Machine::from_record(record, context).map_err(|error| (driver_name, format!("{error:#}")))
            });
            let notice = match &machine {
                Ok(Ok(machine)) => certificate_notice(&store, machine),
                _ => None,
            };
            tokio::spawn(async move {
                let query = async {
                    let _permit = semaphore.acquire_owned().await;
                    let mut row = query_row(&name, machine, &client, &gates, timeout, docker_host.as_deref()).await;
                    // A changed IP explains a TLS failure better than the TLS error itself.
                    if let Some(notice) = notice {
                        row.error = notice;
                    }
                    row
                };
                match tokio::time::timeout_at(deadline, query).await {
                    Ok(row) => row,
                    Err(_) => timed_out_row(&name),
                }
            })
        })
        .collect();
    let mut rows = Vec::with_capacity(tasks.len());
    for task in tasks {
        rows.push(task.await?);
    }
    rows.retain(|row| filters.matches_state(&row.state));
    if args.quiet {
        output::data(&names_of(rows.iter().map(|row| &row.name)));
    } else {
        output::data(&render(&rows, format)?);
    }
    Ok(ExitCode::SUCCESS)
}

fn timed_out_row(name: &str) -> Row {
    Row {
        name: name.to_string(),
        active: "-".into(),
        driver: "-".into(),
        state: "Timeout".into(),
        url: String::new(),
        docker: "Unknown".into(),
        error: "no answer within the timeout".into(),
        swarm: String::new(),
    }
}

/// A record that loaded, and its machine or (driver name, why its driver is unusable).
type Loaded = Result<Result<Machine, (String, String)>, StoreError>;

async fn query_row(
    name: &str,
    machine: Loaded,
    client: &DockerClient,
    gates: &EngineGates,
    timeout: Duration,
    docker_host: Option<&str>,
) -> Row {
    let machine = match machine {
        Ok(Ok(machine)) => machine,
        Ok(Err((driver, problem))) => {
            return Row {
                name: name.to_string(),
                active: "-".into(),
                driver,
                state: "Error".into(),
                url: String::new(),
                docker: "Unknown".into(),
                error: first_line(&problem),
                swarm: String::new(),
            };
        }
        Err(error) => {
            return Row {
                name: name.to_string(),
                active: "-".into(),
                driver: "not found".into(),
                state: "Error".into(),
                url: String::new(),
                docker: "Unknown".into(),
                error: error.to_string(),
                swarm: String::new(),
            };
        }
    };
    let record = &machine.record;
    let over_ssh = record.engine.transport == SSH_TRANSPORT;
    let url =
        if over_ssh { crate::docker_context::ssh_url(&machine).unwrap_or_default() } else { machine.engine_url() };
    let mut row = Row {
        name: name.to_string(),
        active: if docker_host == Some(url.as_str()) { "*".into() } else { "-".into() },
        driver: record.driver_name().to_string(),
        state: String::new(),
        url: url.clone(),
        docker: "Unknown".into(),
        error: String::new(),
        swarm: String::new(),
    };
    if record.status == ProvisioningStatus::Creating {
        row.state = "Creating".into();
        row.error = format!("being created, or interrupted: 'rmachine rm {name}' removes it");
        return row;
    }
    let state = machine.driver.state(timeout).await;
    row.state = state.state.to_string();
    if let Some(reason) = state.reason {
        row.error = reason;
    }
    if let (ProvisioningStatus::Failed, Some(error)) = (record.status, &record.last_error) {
        row.error = first_line(error);
    } else if state.state == rmachine_drivers::MachineState::Running && !over_ssh {
        let _turn = gates.enter(&url).await;
        match client.version_quickly(&url).await {
            Ok(version) => row.docker = format!("v{version}"),
            Err(error) => row.error = first_line(&error.to_string()),
        }
        // Only machines of a cluster file (`apply`) are asked for their swarm role: /info costs the
        // engine 10-25 ms, more than everything else in a row.
        if record.cluster.is_some()
            && let Some(role) = crate::cluster::swarm::swarm_role(client, &url).await
        {
            row.swarm = role.as_str().to_string();
        }
    }
    row
}

/// The transport of engines reached only over SSH (their version needs an SSH login: `rmachine version NAME`).
const SSH_TRANSPORT: rmachine_provision::EngineTransport = rmachine_provision::EngineTransport::Ssh;

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

/// Aligned columns with a header, as docker-machine's tabwriter output; a SWARM column (the
/// machine's swarm role) appears when any machine is a swarm node.
pub fn render_table(rows: &[Row]) -> String {
    let with_swarm = rows.iter().any(|row| !row.swarm.is_empty());
    let mut header = vec!["NAME", "ACTIVE", "DRIVER", "STATE", "URL", "DOCKER", "ERRORS"];
    if with_swarm {
        header.insert(5, "SWARM");
    }
    let cells: Vec<Vec<&str>> = rows
        .iter()
        .map(|row| {
            let mut cells =
                vec![&*row.name, &*row.active, &*row.driver, &*row.state, &*row.url, &*row.docker, &*row.error];
            if with_swarm {
                cells.insert(5, if row.swarm.is_empty() { "-" } else { &*row.swarm });
            }
            cells
        })
        .collect();
    let lines: Vec<String> = std::iter::once(&header)
        .chain(&cells)
        .map(|row| row.iter().map(|cell| cell.replace('\t', " ")).collect::<Vec<_>>().join("\t"))
        .collect();
    crate::listing::template::align(&lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_aligns_its_columns() {
        let rows = vec![Row {
            name: "node1".into(),
            active: "*".into(),
            driver: "generic".into(),
            state: "Running".into(),
            url: "tcp://10.211.0.11:2376".into(),
            docker: "v20.10.24".into(),
            error: String::new(),
            swarm: String::new(),
        }];
        let table = render_table(&rows);
        assert_eq!(
            table,
            "NAME    ACTIVE   DRIVER    STATE     URL                      DOCKER      ERRORS\n\
             node1   *        generic   Running   tcp://10.211.0.11:2376   v20.10.24\n"
        );
    }

    #[test]
    fn swarm_roles_get_a_column_when_any_machine_is_a_swarm_node() {
        let row = |name: &str, swarm: &str| Row {
            name: name.into(),
            active: "-".into(),
            driver: "generic".into(),
            state: "Running".into(),
            url: "tcp://10.0.0.1:2376".into(),
            docker: "v20.10.24".into(),
            error: String::new(),
            swarm: swarm.into(),
        };
        let table = render_table(&[row("m1", "manager"), row("solo", "")]);
        assert_eq!(
            table,
            "NAME   ACTIVE   DRIVER    STATE     URL                   SWARM     DOCKER      ERRORS\n\
             m1     -        generic   Running   tcp://10.0.0.1:2376   manager   v20.10.24\n\
             solo   -        generic   Running   tcp://10.0.0.1:2376   -         v20.10.24\n"
        );
    }
}
