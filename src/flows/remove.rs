//! Removing a machine, the one way `rm`, `destroy`, `apply --prune` and a failed create's clean-up
//! all do it: what the driver made (instance, key pair, VM files), then the record with the
//! machine's keys and certificates, then the machine's docker context (`rmachine use`).
//!
//! A record that cannot be read, or whose driver is not installed, is removed with a warning (the
//! driver's resources cannot be reached); with `force`, a driver that fails to remove its host
//! does not keep the record either.

use crate::context::Context;
use crate::machine_access::Machine;
use crate::store::{Store, StoreError};
use anyhow::anyhow;

/// What a removal did besides deleting the record.
#[derive(Debug, Default)]
pub struct Removed {
    /// The machine's docker context was removed too.
    pub docker_context: bool,
    /// What could not be cleaned up and was left (with `force`, or an unusable record).
    pub warnings: Vec<String>,
}

/// Removes the machine called `name` from the store (see the module's rules).
pub async fn remove_by_name(store: &Store, context: &Context, name: &str, force: bool) -> anyhow::Result<Removed> {
    let record = match store.load(name) {
        Ok(record) => record,
        Err(error @ StoreError::NotFound { .. }) => return Err(error.into()),
        Err(error) if force => {
            let mut removed = finish(store, name, Removed::default())?;
            removed.warnings.insert(0, format!("{error}; removed the record anyway (-f)"));
            return Ok(removed);
        }
        Err(error) => return Err(anyhow!("{error}")),
    };
    match Machine::from_record(record, context) {
        Ok(mut machine) => remove_machine(store, &mut machine, force).await,
        Err(error) => {
            let warning = format!(
                "{error:#}: whatever its driver made (a cloud instance, VM files) was not removed; the record is"
            );
            let mut removed = finish(store, name, Removed::default())?;
            removed.warnings.insert(0, warning);
            Ok(removed)
        }
    }
}

/// Removes `machine`: its driver's resources, then its record and files, then its docker context.
pub async fn remove_machine(store: &Store, machine: &mut Machine, force: bool) -> anyhow::Result<Removed> {
    let name = machine.name().to_string();
    let mut removed = Removed::default();
    if let Err(error) = machine.driver.remove().await {
        if !force {
            return Err(anyhow!(
                "removing the host failed: {error}; 'rmachine rm -f {name}' removes the record anyway"
            ));
        }
        removed.warnings.push(format!("removing the host failed: {error}; removing the record anyway (-f)"));
    }
    finish(store, &name, removed)
}

/// The record, keys and certificates, then the docker context.
fn finish(store: &Store, name: &str, mut removed: Removed) -> anyhow::Result<Removed> {
    match store.remove(name) {
        Ok(()) | Err(StoreError::NotFound { .. }) => {}
        Err(error) => return Err(anyhow!("removing the record failed: {error}")),
    }
    match crate::docker_context::remove(name) {
        Ok(true) => removed.docker_context = true,
        Ok(false) => {}
        Err(error) => removed.warnings.push(format!("its docker context was not removed: {error:#}")),
    }
    Ok(removed)
}
