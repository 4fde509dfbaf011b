//! Docker contexts named after machines, made with the docker CLI (`docker context create/update/
//! use/rm`), which copies the TLS material into its own store (~/.docker/contexts). rmachine
//! marks its contexts with a description starting "rmachine machine", and removes only those.

use crate::context::Context;
use crate::machine_access::Machine;
use anyhow::{Context as _, bail};
use std::path::Path;
use std::process::Command;

/// The description rmachine gives the contexts it makes.
pub const DESCRIPTION_PREFIX: &str = "rmachine machine";

/// Where the docker CLI should connect for `record` with `transport`.
pub struct Endpoint {
    pub host: String,
    /// DOCKER_CERT_PATH-style folder with ca.pem, cert.pem and key.pem; `None` for SSH.
    pub tls_folder: Option<std::path::PathBuf>,
}

/// `ssh://USER@HOST[:PORT]` for machines reached over SSH.
pub fn ssh_url(machine: &Machine) -> Option<String> {
    let ssh = machine.driver.ssh_endpoint()?;
    let host = if ssh.host.contains(':') { format!("[{}]", ssh.host) } else { ssh.host.clone() };
    Some(if ssh.port == 22 {
        format!("ssh://{}@{host}", ssh.user)
    } else {
        format!("ssh://{}@{host}:{}", ssh.user, ssh.port)
    })
}

fn docker(arguments: &[&str]) -> anyhow::Result<std::process::Output> {
    Command::new("docker").args(arguments).env_remove("DOCKER_HOST").env_remove("DOCKER_CONTEXT").output().with_context(
        || format!("cannot run 'docker {}': 'rmachine use' needs the docker CLI on PATH", arguments.join(" ")),
    )
}

fn checked(arguments: &[&str]) -> anyhow::Result<String> {
    let output = docker(arguments)?;
    if !output.status.success() {
        bail!(
            "'docker {}' failed ({}): {}",
            arguments.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// `docker context inspect [NAME]` as JSON: the context's description and docker host, or
/// `None` when it does not exist.
fn inspect(name: Option<&str>) -> anyhow::Result<Option<(String, String)>> {
    let mut arguments = vec!["context", "inspect"];
    arguments.extend(name);
    let output = docker(&arguments)?;
    if !output.status.success() {
        return Ok(None);
    }
    let documents: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("cannot read 'docker context inspect' output")?;
    let document = &documents[0];
    let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_string();
    Ok(Some((text(&document["Metadata"]["Description"]), text(&document["Endpoints"]["docker"]["Host"]))))
}

fn description(name: &str) -> anyhow::Result<Option<String>> {
    Ok(inspect(Some(name))?.map(|(description, _)| description))
}

/// Creates or updates the context `name` for `endpoint`, then makes it current.
pub fn create_and_use(name: &str, endpoint: &Endpoint) -> anyhow::Result<()> {
    let mut docker_endpoint = format!("host={}", endpoint.host);
    if let Some(folder) = &endpoint.tls_folder {
        let file = |file: &str| folder.join(file).display().to_string();
        docker_endpoint.push_str(&format!(",ca={},cert={},key={}", file("ca.pem"), file("cert.pem"), file("key.pem")));
    }
    let description_text = format!("{DESCRIPTION_PREFIX} {name}");
    match description(name)? {
        Some(existing) if !existing.starts_with(DESCRIPTION_PREFIX) => bail!(
            "a docker context named '{name}' exists and was not made by rmachine ('{existing}'); remove or rename it first"
        ),
        Some(_) => {
            checked(&["context", "update", "--description", &description_text, "--docker", &docker_endpoint, name])?
        }
        None => {
            checked(&["context", "create", "--description", &description_text, "--docker", &docker_endpoint, name])?
        }
    };
    checked(&["context", "use", name])?;
    Ok(())
}

/// Makes the default context current again.
pub fn use_default() -> anyhow::Result<()> {
    checked(&["context", "use", "default"]).map(|_| ())
}

/// Removes the context named after machine `name` if rmachine made it; `Ok(false)` when there was none.
pub fn remove(name: &str) -> anyhow::Result<bool> {
    match description(name) {
        Ok(Some(existing)) if existing.starts_with(DESCRIPTION_PREFIX) => {
            checked(&["context", "rm", "--force", name])?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// The machine name and engine URL of the current docker context, when rmachine made it.
pub fn current_machine(_context: &Context) -> Option<(String, String)> {
    let (description, host) = inspect(None).ok()??;
    let name = description.strip_prefix(DESCRIPTION_PREFIX)?.trim().to_string();
    Some((name, host))
}

/// True when `path` holds the client TLS files a context needs.
pub fn has_tls_files(folder: &Path) -> bool {
    ["ca.pem", "cert.pem", "key.pem"].iter().all(|file| folder.join(file).is_file())
}
