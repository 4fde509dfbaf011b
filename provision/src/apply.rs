//! Applying a configuration: write the changed files, restart the engine, wait for it, check
//! that it does what was asked ([`Expectations`]), and put the previous files back (restarting
//! the engine again) when any of that fails.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::ProvisionError;
use crate::init::ServiceManager;
use crate::managed_files::ManagedFile;
use crate::plan;
use crate::remote::{EngineCheck, Remote};
use crate::session::{Session, combined_output, tail, text_of};
use crate::verify::Expectations;

/// What a successful apply reports.
pub(crate) struct Applied {
    pub engine_version: String,
    pub warnings: Vec<String>,
}

/// Writes `changed_files`, restarts the engine, waits for it and checks it against
/// `expectations`; on any failure after the files may have changed, restores them and
/// restarts the engine again.
pub(crate) async fn apply<R: Remote, C: EngineCheck>(
    session: &mut Session<'_, R>,
    service_manager: &ServiceManager,
    check: &C,
    changed_files: &[&ManagedFile],
    expectations: &Expectations,
    on_phase: &(dyn Fn(&str) + Sync),
) -> Result<Applied, ProvisionError> {
    let run_identifier = run_identifier();
    let changed_paths: Vec<String> = changed_files.iter().map(|file| file.path.clone()).collect();
    let failure_reason = 'attempt: {
        if !changed_files.is_empty() {
            on_phase(&format!("writing {}", changed_paths.join(", ")));
            let write = plan::write_files(&run_identifier, changed_files);
            match session.run(&write).await {
                Ok(output) if output.exit_status == 0 => {}
                // write-files.sh stopped before replacing anything: nothing to undo.
                Ok(output) if output.exit_status == 10 => {
                    return Err(session.failure(&write, &output));
                }
                Ok(output) => {
                    break 'attempt format!("writing the files failed: {}", combined_output(&output));
                }
                Err(error) => break 'attempt error.to_string(),
            }
        }
        on_phase("restarting docker");
        match session.run(&plan::restart_engine(service_manager)).await {
            Ok(output) if output.exit_status == 0 => {}
            Ok(output) => {
                break 'attempt format!("restarting the engine failed: {}", combined_output(&output));
            }
            Err(error) => break 'attempt error.to_string(),
        }
        on_phase("waiting for the engine");
        let engine_version = match check.wait_ready().await {
            Ok(version) => version,
            Err(reason) => {
                break 'attempt format!("the engine did not answer on its TLS endpoint: {reason}");
            }
        };
        if *expectations == Expectations::default() {
            return Ok(Applied { engine_version, warnings: Vec::new() });
        }
        on_phase("checking what the engine runs");
        match session.run(&plan::verify_engine(expectations.arguments())).await {
            Ok(output) if output.exit_status == 0 => match expectations.check(&text_of(&output.stdout)) {
                Ok(warnings) => {
                    return Ok(Applied { engine_version, warnings });
                }
                Err(problem) => break 'attempt format!("the engine started but {problem}"),
            },
            Ok(output) => {
                break 'attempt format!("checking the engine failed: {}", combined_output(&output));
            }
            Err(error) => break 'attempt error.to_string(),
        }
    };
    Err(roll_back(session, service_manager, &run_identifier, &changed_paths, failure_reason, on_phase).await)
}

/// Reads the engine's journal, restores the files of the run, restarts the engine, and returns
/// the error describing all that.
async fn roll_back<R: Remote>(
    session: &mut Session<'_, R>,
    service_manager: &ServiceManager,
    run_identifier: &str,
    changed_paths: &[String],
    reason: String,
    on_phase: &(dyn Fn(&str) + Sync),
) -> ProvisionError {
    on_phase("restoring the previous configuration");
    let journal = match session.run(&plan::engine_journal(service_manager)).await {
        Ok(output) => tail(&combined_output(&output), 30),
        Err(error) => format!("(could not read the journal: {error})"),
    };
    let (restored, restore_output) = if changed_paths.is_empty() {
        (true, String::new())
    } else {
        match session.run(&plan::restore_files(run_identifier, changed_paths)).await {
            Ok(output) => (output.exit_status == 0, combined_output(&output)),
            Err(error) => (false, error.to_string()),
        }
    };
    on_phase("restarting docker");
    let running_again = match session.run(&plan::restart_engine(service_manager)).await {
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
