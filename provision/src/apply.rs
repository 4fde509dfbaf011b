//! Applying a configuration, "commit confirmed": write the changed files, arm the host's rollback
//! watchdog, restart the engine, wait for it, check that it does what was asked
//! ([`Expectations`]), and confirm it to the watchdog. When any of that fails rmachine puts the
//! previous files back and restarts the engine itself; when rmachine is killed or cut off from
//! the host instead, the watchdog does it on the host once its deadline passes.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::ProvisionError;
use crate::init::ServiceManager;
use crate::managed_files::ManagedFile;
use crate::plan::{self, RemoteCommand};
use crate::remote::{EngineCheck, ProvisionObserver, Remote};
use crate::rollback::{self, Step, UnconfirmedRun};
use crate::session::{Session, combined_output, tail, text_of};
use crate::verify::Expectations;

/// What a successful apply reports.
pub(crate) struct Applied {
    pub engine_version: String,
    pub warnings: Vec<String>,
}

/// The host's rollback watchdog for this run, as far as rmachine knows.
struct Watchdog<'a> {
    run_identifier: String,
    /// When the host acts alone unless told otherwise; None: not armed.
    deadline: Option<Instant>,
    engine_timeout: Duration,
    observer: &'a dyn ProvisionObserver,
}

/// How a watchdog step went wrong.
enum WatchdogProblem {
    /// The deadline had passed: the host restored the previous configuration already.
    RolledBack(String),
    Failed(String),
}

impl Watchdog<'_> {
    /// Runs a watchdog command; on success the deadline is `seconds` from now.
    async fn step<R: Remote>(
        &mut self,
        session: &mut Session<'_, R>,
        command: &RemoteCommand,
        seconds: Option<u64>,
    ) -> Result<(), WatchdogProblem> {
        match session.run(command).await {
            Ok(output) if output.exit_status == 0 => {
                match seconds {
                    Some(seconds) => {
                        self.deadline = Some(Instant::now() + Duration::from_secs(seconds));
                        self.observer.rollback_armed(Duration::from_secs(seconds));
                    }
                    None => {
                        self.deadline = None;
                        self.observer.rollback_settled();
                    }
                }
                Ok(())
            }
            Ok(output) if output.exit_status == 3 => {
                self.deadline = None;
                self.observer.rollback_settled();
                Err(WatchdogProblem::RolledBack(combined_output(&output)))
            }
            Ok(output) => {
                Err(WatchdogProblem::Failed(format!("{} failed: {}", command.description, combined_output(&output))))
            }
            Err(error) => Err(WatchdogProblem::Failed(error.to_string())),
        }
    }

    /// Moves the deadline to the end of `step` (plus the grace).
    async fn extend<R: Remote>(&mut self, session: &mut Session<'_, R>, step: Step) -> Result<(), WatchdogProblem> {
        if self.deadline.is_none() {
            return Ok(());
        }
        let seconds = rollback::deadline(step, self.engine_timeout);
        self.step(session, &plan::extend_rollback(&self.run_identifier, seconds), Some(seconds)).await
    }

    /// How long the host may still wait before it restores by itself, when armed.
    fn remaining(&self) -> Option<Duration> {
        self.deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()))
    }
}

/// Why an attempt stopped.
enum Stop {
    /// Nothing was changed on the host: the error, as it is.
    Unchanged(ProvisionError),
    /// The files may have changed: roll back, for this reason.
    Failed(String),
}

impl From<WatchdogProblem> for Stop {
    fn from(problem: WatchdogProblem) -> Stop {
        Stop::Failed(describe(problem))
    }
}

/// Writes `changed_files` (taking over `unconfirmed`, an earlier run nobody confirmed), arms the
/// watchdog, restarts the engine, waits for it, checks it against `expectations` and confirms
/// it; on any failure after the files may have changed, restores the last confirmed files and
/// restarts the engine again.
pub(crate) async fn apply<R: Remote, C: EngineCheck>(
    session: &mut Session<'_, R>,
    service_manager: &ServiceManager,
    check: &C,
    changed_files: &[&ManagedFile],
    unconfirmed: Option<&UnconfirmedRun>,
    expectations: &Expectations,
    observer: &dyn ProvisionObserver,
) -> Result<Applied, ProvisionError> {
    let run_identifier = match unconfirmed {
        Some(run) if changed_files.is_empty() => run.run_identifier.clone(),
        _ => run_identifier(),
    };
    let guarded = !changed_files.is_empty() || unconfirmed.is_some();
    let engine_timeout = check.timeout();
    let mut watchdog = Watchdog { run_identifier, deadline: None, engine_timeout, observer };
    let attempt = Attempt { service_manager, changed_files, guarded, expectations };
    match attempt.run(session, check, &mut watchdog).await {
        Ok(applied) => Ok(applied),
        Err(Stop::Unchanged(error)) => Err(error),
        Err(Stop::Failed(reason)) => Err(roll_back(session, service_manager, &mut watchdog, guarded, reason).await),
    }
}

/// What one apply does, from writing the files to confirming them.
struct Attempt<'a> {
    service_manager: &'a ServiceManager,
    changed_files: &'a [&'a ManagedFile],
    /// Files were, or may have been, changed: the watchdog guards the restart.
    guarded: bool,
    expectations: &'a Expectations,
}

impl Attempt<'_> {
    async fn run<R: Remote, C: EngineCheck>(
        &self,
        session: &mut Session<'_, R>,
        check: &C,
        watchdog: &mut Watchdog<'_>,
    ) -> Result<Applied, Stop> {
        let (observer, engine_timeout) = (watchdog.observer, watchdog.engine_timeout);
        self.write(session, watchdog).await?;
        if self.guarded {
            let seconds = rollback::deadline(Step::Restart, engine_timeout);
            let arm = plan::arm_rollback(&watchdog.run_identifier, seconds, self.service_manager, engine_timeout);
            watchdog.step(session, &arm, Some(seconds)).await?;
        }
        observer.phase("restarting docker");
        let restart = plan::restart_engine(self.service_manager, engine_timeout);
        run_to_success(session, &restart, "restarting the engine failed").await?;
        watchdog.extend(session, Step::Ready).await?;
        observer.phase("waiting for the engine");
        let engine_version = check
            .wait_ready()
            .await
            .map_err(|reason| Stop::Failed(format!("the engine did not answer on its TLS endpoint: {reason}")))?;
        let warnings = self.verify(session, watchdog).await?;
        if self.guarded {
            let confirm = plan::confirm_configuration(&watchdog.run_identifier);
            match watchdog.step(session, &confirm, None).await {
                Ok(()) => {}
                Err(WatchdogProblem::RolledBack(_)) => {
                    return Err(Stop::Unchanged(ProvisionError::RolledBackByHost { host: session.host.clone() }));
                }
                Err(problem) => return Err(problem.into()),
            }
        }
        Ok(Applied { engine_version, warnings })
    }

    async fn write<R: Remote>(&self, session: &mut Session<'_, R>, watchdog: &Watchdog<'_>) -> Result<(), Stop> {
        if self.changed_files.is_empty() {
            return Ok(());
        }
        let paths: Vec<&str> = self.changed_files.iter().map(|file| file.path.as_str()).collect();
        watchdog.observer.phase(&format!("writing {}", paths.join(", ")));
        let write = plan::write_files(&watchdog.run_identifier, self.changed_files);
        match session.run(&write).await {
            Ok(output) if output.exit_status == 0 => Ok(()),
            // write-files.sh stopped before replacing anything: nothing to undo.
            Ok(output) if output.exit_status == 10 => Err(Stop::Unchanged(session.failure(&write, &output))),
            Ok(output) => Err(Stop::Failed(format!("writing the files failed: {}", combined_output(&output)))),
            Err(error) => Err(Stop::Failed(error.to_string())),
        }
    }

    /// Checks the engine against the expectations (when there are any); the warnings.
    async fn verify<R: Remote>(
        &self,
        session: &mut Session<'_, R>,
        watchdog: &mut Watchdog<'_>,
    ) -> Result<Vec<String>, Stop> {
        if *self.expectations == Expectations::default() {
            return Ok(Vec::new());
        }
        watchdog.extend(session, Step::Verify).await?;
        watchdog.observer.phase("checking what the engine runs");
        let verify = plan::verify_engine(self.expectations.arguments());
        let output = run_to_success(session, &verify, "checking the engine failed").await?;
        self.expectations
            .check(&text_of(&output.stdout))
            .map_err(|problem| Stop::Failed(format!("the engine started but {problem}")))
    }
}

/// Runs `command`; a non-zero exit fails with `failed` and its output.
async fn run_to_success<R: Remote>(
    session: &mut Session<'_, R>,
    command: &RemoteCommand,
    failed: &str,
) -> Result<crate::remote::CommandOutput, Stop> {
    match session.run(command).await {
        Ok(output) if output.exit_status == 0 => Ok(output),
        Ok(output) => Err(Stop::Failed(format!("{failed}: {}", combined_output(&output)))),
        Err(error) => Err(Stop::Failed(error.to_string())),
    }
}

fn describe(problem: WatchdogProblem) -> String {
    match problem {
        WatchdogProblem::RolledBack(output) => {
            format!("the host's rollback deadline passed first and it restored the previous configuration ({output})")
        }
        WatchdogProblem::Failed(reason) => reason,
    }
}

/// Reads the engine's journal, restores the last confirmed files, restarts the engine, and
/// returns the error describing all that.
async fn roll_back<R: Remote>(
    session: &mut Session<'_, R>,
    service_manager: &ServiceManager,
    watchdog: &mut Watchdog<'_>,
    files_may_have_changed: bool,
    reason: String,
) -> ProvisionError {
    watchdog.observer.phase("restoring the previous configuration");
    let journal = match session.run(&plan::engine_journal(service_manager)).await {
        Ok(output) => tail(&combined_output(&output), 30),
        Err(error) => format!("(could not read the journal: {error})"),
    };
    let (restored, restore_output, host_lost) = if files_may_have_changed {
        match session.run(&plan::restore_files(&watchdog.run_identifier)).await {
            Ok(output) => (output.exit_status == 0, combined_output(&output), false),
            Err(error) => (false, error.to_string(), true),
        }
    } else {
        (true, String::new(), false)
    };
    if restored {
        watchdog.deadline = None;
        watchdog.observer.rollback_settled();
    }
    watchdog.observer.phase("restarting docker");
    let running_again = match session.run(&plan::restart_engine(service_manager, watchdog.engine_timeout)).await {
        Ok(output) => output.exit_status == 0,
        Err(_) => false,
    };
    ProvisionError::EngineFailed {
        host: session.host.clone(),
        reason,
        journal,
        restored,
        restore_output,
        running_again,
        host_restores_within: watchdog.remaining().map(|left| left.as_secs()),
        host_lost,
    }
}

/// Tells this run's backups from those of earlier runs.
fn run_identifier() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:09}-{}", now.as_secs(), now.subsec_nanos(), std::process::id())
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_identifiers_differ() {
        assert_ne!(super::run_identifier(), super::run_identifier());
    }
}
