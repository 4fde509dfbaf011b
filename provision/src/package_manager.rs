//! Another package manager run, and what a killed one left: decided from the facts ([`next_step`]:
//! wait for the processes holding the dpkg/apt/rpm/apk lock, or finish packages dpkg left
//! half-done), and the loop ([`settle`]) that does it before the pipeline decides whether the
//! engine is installed. A `create` killed during `apt-get install docker.io` leaves that apt
//! running on the host; the next run must not take a half-installed engine for an installed one.

use std::time::{Duration, Instant};

use crate::error::ProvisionError;
use crate::facts::{HostFacts, LockHolder};
use crate::family::OsFamily;
use crate::plan;
use crate::remote::Remote;
use crate::session::Session;

/// How long rmachine waits, in all, for other package manager runs (an `apt-get install
/// docker.io` takes about three minutes on a slow VM; unattended-upgrades after a first boot,
/// several).
pub(crate) const WAIT_LIMIT: Duration = Duration::from_secs(900);

/// Rounds of waiting and repairing before giving up (a run's PIDs change between its steps).
const MAX_ROUNDS: usize = 30;

/// What the host's package manager needs before rmachine looks at what is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Processes hold the package manager's lock: wait for them.
    Wait(Vec<LockHolder>),
    /// A killed run left these packages half-done ("iU docker.io"): finish them.
    Repair(Vec<String>),
}

/// The step `facts` call for on a host of `family`, or None when its package manager is idle
/// and consistent.
pub(crate) fn next_step(facts: &HostFacts, family: &OsFamily) -> Option<Step> {
    if !facts.package_manager_holders.is_empty() {
        return Some(Step::Wait(facts.package_manager_holders.clone()));
    }
    let repairs = family.package_manager.is_some_and(|manager| manager.repairs_interrupted_runs);
    (repairs && !facts.interrupted_packages.is_empty()).then(|| Step::Repair(facts.interrupted_packages.clone()))
}

/// The PIDs of `holders`, sorted, once each.
fn pids(holders: &[LockHolder]) -> Vec<u32> {
    let mut pids: Vec<u32> = holders.iter().map(|holder| holder.pid).collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// The progress line while waiting: "waiting for another package manager run (PID 251) to finish".
pub(crate) fn waiting_phase(holders: &[LockHolder]) -> String {
    let listed: Vec<String> = pids(holders).iter().map(u32::to_string).collect();
    format!("waiting for another package manager run (PID {}) to finish", listed.join(", "))
}

/// The progress line of a repair, naming a few of the packages.
pub(crate) fn repairing_phase(packages: &[String]) -> String {
    let names: Vec<&str> = packages.iter().filter_map(|line| line.split_whitespace().last()).collect();
    let shown = names.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    let more = if names.len() > 5 { format!(" and {} more", names.len() - 5) } else { String::new() };
    format!("finishing the packages an interrupted install left half-done ({shown}{more}): dpkg --configure -a")
}

/// "PID 251 (apt-get install -y docker.io) holding /var/lib/dpkg/lock-frontend", for errors.
fn describe_holders(holders: &[LockHolder]) -> String {
    let described: Vec<String> = holders
        .iter()
        .map(|holder| format!("PID {} ({}) holding {}", holder.pid, holder.command, holder.lock))
        .collect();
    described.join("; ")
}

/// Waits for other package manager runs and repairs interrupted ones until the host's package
/// manager is idle and consistent; returns the facts detected then, and warnings for what it did.
pub(crate) async fn settle<R: Remote>(
    session: &mut Session<'_, R>,
    managed_paths: &[String],
    mut facts: HostFacts,
    family: &OsFamily,
    on_phase: &(dyn Fn(&str) + Sync),
) -> Result<(HostFacts, Vec<String>), ProvisionError> {
    let started = Instant::now();
    let mut warnings = Vec::new();
    let mut repaired = false;
    for _ in 0..MAX_ROUNDS {
        match next_step(&facts, family) {
            None => return Ok((facts, warnings)),
            Some(Step::Wait(holders)) => {
                let left = WAIT_LIMIT.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return Err(busy(session, &holders, started));
                }
                on_phase(&waiting_phase(&holders));
                let wait = plan::wait_for_processes(&pids(&holders), left.as_secs_f64().ceil() as u64);
                let output = session.run(&wait).await?;
                match output.exit_status {
                    0 => {}
                    WAIT_TIMED_OUT => return Err(busy(session, &holders, started)),
                    _ => return Err(session.failure(&wait, &output)),
                }
            }
            Some(Step::Repair(packages)) if !repaired => {
                on_phase(&repairing_phase(&packages));
                let manager = family.package_manager.expect("next_step repairs only with a package manager");
                session.run_checked(&plan::repair_packages(manager)).await?;
                warnings.push(format!(
                    "an interrupted package install had left {} half-done; it was finished with dpkg --configure -a",
                    packages.join(", ")
                ));
                repaired = true;
            }
            Some(Step::Repair(packages)) => {
                return Err(ProvisionError::PackagesInterrupted {
                    host: session.host.clone(),
                    packages: packages.join(", "),
                });
            }
        }
        on_phase("detecting the OS again");
        facts = session.detect(managed_paths).await?;
    }
    Err(busy(session, &facts.package_manager_holders, started))
}

/// package-manager.sh's exit status when the processes still ran at the end of the wait.
const WAIT_TIMED_OUT: u32 = 3;

fn busy<R: Remote>(session: &Session<'_, R>, holders: &[LockHolder], started: Instant) -> ProvisionError {
    ProvisionError::PackageManagerBusy {
        host: session.host.clone(),
        waited_seconds: started.elapsed().as_secs(),
        holders: describe_holders(holders),
    }
}

#[cfg(test)]
#[path = "package_manager_tests.rs"]
mod tests;
