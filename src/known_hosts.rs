//! The pinned host key, written where the system `ssh` finds it: the machine's own
//! `known_hosts` file in the store, and a line in the user's `~/.ssh/known_hosts` (added once;
//! older keys for the same host replaced), since `docker -H ssh://` runs the system `ssh`, which
//! reads that file and no rmachine-specific one. Both follow the machine's current address.

use crate::context::Context;
use crate::machine_access::Machine;
use crate::ssh::{known_hosts_line, with_pinned_line};
use crate::store::Store;
use anyhow::{Context as _, bail};

/// The `known_hosts` line of the machine's pinned key at its current SSH address.
fn machine_line(machine: &Machine) -> anyhow::Result<Option<String>> {
    let Some(endpoint) = machine.driver.ssh_endpoint() else { return Ok(None) };
    let Some(host_key) = &machine.record.host_key else { return Ok(None) };
    Ok(Some(known_hosts_line(&endpoint.host, endpoint.port, host_key)))
}

/// Pins `host_key` in the machine's record and writes the machine's `known_hosts` file.
pub fn pin(store: &Store, machine: &mut Machine, host_key: &str) -> anyhow::Result<()> {
    machine.record.host_key = Some(host_key.to_string());
    write_machine_file(store, machine)?;
    machine.save(store)
}

/// (Re)writes `machines/NAME/known_hosts` for the machine's current address.
pub fn write_machine_file(store: &Store, machine: &Machine) -> anyhow::Result<()> {
    let Some(line) = machine_line(machine)? else { return Ok(()) };
    let path = Store::relative_machine_directory(machine.name()).join("known_hosts");
    Ok(store.write_file(&path, format!("{line}\n").as_bytes(), 0o600)?)
}

/// Adds the machine's pinned host key to ~/.ssh/known_hosts unless a line for it is there.
pub fn ensure_pinned(machine: &Machine, context: &Context) -> anyhow::Result<()> {
    let name = machine.name();
    if !machine.over_ssh() {
        bail!("machine '{name}' is not reached over SSH");
    }
    let Some(line) = machine_line(machine)? else {
        bail!("machine '{name}' has no pinned host key yet; 'rmachine ssh {name} true' pins it")
    };
    let Some(home) = &context.home else { bail!("cannot find the home folder for ~/.ssh/known_hosts (HOME is unset)") };
    let folder = home.join(".ssh");
    std::fs::create_dir_all(&folder).with_context(|| format!("cannot create {}", folder.display()))?;
    let path = folder.join("known_hosts");
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    let (updated, changed) = with_pinned_line(&existing, &line);
    if changed {
        crate::store::write_atomically(&path, updated.as_bytes(), 0o600)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
