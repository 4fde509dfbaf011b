//! The pinned host key, written where the system `ssh` finds it: the machine's own
//! `known_hosts` file in the store, and a line in the user's `~/.ssh/known_hosts` (added once;
//! older keys for the same host replaced), since `docker -H ssh://` runs the system `ssh`, which
//! reads that file and no rmachine-specific one. Both follow the machine's current address.

use crate::context::Context;
use crate::machine_access::Machine;
use crate::ssh::known_hosts_line;
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
/// `known_hosts` text with `line` present once, and no other key for the same host (a machine
/// re-created at the same address has a new key). Whether anything changed.
pub fn with_pinned_line(existing: &str, line: &str) -> (String, bool) {
    let host = line.split_whitespace().next().unwrap_or_default();
    let mut kept = String::new();
    let mut present = false;
    let mut changed = false;
    for current in existing.lines() {
        if current.trim() == line.trim() {
            present = true;
        } else if current.split_whitespace().next() == Some(host) {
            changed = true;
            continue;
        }
        kept.push_str(current);
        kept.push('\n');
    }
    if !present {
        kept.push_str(line.trim());
        kept.push('\n');
        changed = true;
    }
    (kept, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_line_replaces_stale_keys_for_the_same_host_only() {
        let existing = "10.0.0.5 ssh-ed25519 OLD\nother ssh-rsa KEEP\n";
        let (text, changed) = with_pinned_line(existing, "10.0.0.5 ssh-ed25519 NEW");
        assert!(changed);
        assert_eq!(text, "other ssh-rsa KEEP\n10.0.0.5 ssh-ed25519 NEW\n");
        assert_eq!(with_pinned_line(&text, "10.0.0.5 ssh-ed25519 NEW"), (text.clone(), false));
    }
}
