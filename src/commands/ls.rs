//! `rmachine ls`: every machine with its state and engine version, hosts queried concurrently
//! with a timeout so one dead host never holds up the rest.

use crate::context::Context;
use crate::machine_access::{docker_client, engine_url, open_store};
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

    /// Seconds to wait for each host to answer
    #[arg(short, long, default_value_t = 10, value_name = "SECONDS")]
    pub timeout: u64,
}

/// How many hosts are asked at once.
const CONCURRENT_QUERIES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub active: String,
    pub driver: String,
    pub state: String,
    pub url: String,
    pub docker: String,
    pub error: String,
}

pub async fn run(args: Args, context: &Context) -> anyhow::Result<ExitCode> {
    let store = open_store(context)?;
    let machines = store.list()?;
    if args.quiet {
        let names: String = machines.iter().map(|(name, _)| format!("{name}\n")).collect();
        output::data(&names);
        return Ok(ExitCode::SUCCESS);
    }
    let timeout = Duration::from_secs(args.timeout);
    let client = Arc::new(docker_client(&store, timeout)?);
    let semaphore = Arc::new(Semaphore::new(CONCURRENT_QUERIES));
    let docker_host = context.docker_host.clone();
    let tasks: Vec<_> = machines
        .into_iter()
        .map(|(name, record)| {
            let (client, semaphore, docker_host) = (client.clone(), semaphore.clone(), docker_host.clone());
            tokio::spawn(async move {
                let _permit = semaphore.acquire_owned().await;
                let query = query_row(&name, record, &client, timeout, docker_host.as_deref());
                match tokio::time::timeout(timeout + Duration::from_millis(200), query).await {
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
    output::data(&render_table(&rows));
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
    }
}

async fn query_row(
    name: &str,
    record: Result<MachineRecord, StoreError>,
    client: &DockerClient,
    timeout: Duration,
    docker_host: Option<&str>,
) -> Row {
    let record = match record {
        Ok(record) => record,
        Err(error) => {
            return Row {
                name: name.to_string(),
                active: "-".into(),
                driver: "not found".into(),
                state: "Error".into(),
                url: String::new(),
                docker: "Unknown".into(),
                error: error.to_string(),
            };
        }
    };
    let url = engine_url(&record);
    let mut row = Row {
        name: name.to_string(),
        active: if docker_host == Some(url.as_str()) { "*".into() } else { "-".into() },
        driver: record.driver_name().to_string(),
        state: String::new(),
        url: url.clone(),
        docker: "Unknown".into(),
        error: String::new(),
    };
    if record.status == ProvisioningStatus::Creating {
        row.state = "Creating".into();
        row.error = format!("being created, or interrupted: 'rmachine rm {name}' removes it");
        return row;
    }
    let state = record.driver.driver().state(timeout).await;
    row.state = state.state.to_string();
    if let Some(reason) = state.reason {
        row.error = reason;
    }
    if let (ProvisioningStatus::Failed, Some(error)) = (record.status, &record.last_error) {
        row.error = first_line(error);
    } else if state.state == rmachine_drivers::MachineState::Running {
        match client.version(&url).await {
            Ok(version) => row.docker = format!("v{}", version.version),
            Err(error) => row.error = first_line(&error.to_string()),
        }
    }
    row
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

/// Aligned columns with a header, as docker-machine's tabwriter output.
pub fn render_table(rows: &[Row]) -> String {
    let header = ["NAME", "ACTIVE", "DRIVER", "STATE", "URL", "DOCKER", "ERRORS"];
    let cells: Vec<[&str; 7]> = rows
        .iter()
        .map(|row| [&*row.name, &*row.active, &*row.driver, &*row.state, &*row.url, &*row.docker, &*row.error])
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in std::iter::once(&header).chain(&cells) {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate() {
            if index + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}   ", width = widths[index]));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
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
        }];
        let table = render_table(&rows);
        assert_eq!(
            table,
            "NAME    ACTIVE   DRIVER    STATE     URL                      DOCKER      ERRORS\n\
             node1   *        generic   Running   tcp://10.211.0.11:2376   v20.10.24\n"
        );
    }
}
