//! "Commit confirmed" for the engine's configuration, as data: the record write-files.sh leaves
//! of a configuration written but not yet confirmed ([`UnconfirmedRun`], found by detection after
//! a killed or cut-off run), and how long the host's rollback watchdog (scripts/
//! rollback-watchdog.sh) waits at each step before it restores the previous configuration by
//! itself ([`deadline`]). The commands are in `plan`; `apply` runs them.

use std::time::Duration;

/// Where the watchdog keeps its scripts and its log on the host.
pub(crate) const WATCHDOG_DIRECTORY: &str = "/var/lib/rmachine/rollback";
/// The watchdog's log, in [`WATCHDOG_DIRECTORY`].
pub(crate) const WATCHDOG_LOG: &str = "/var/lib/rmachine/rollback/rollback.log";

/// How long after a step should have ended rmachine may take to move the deadline on (or to
/// confirm) before the host acts alone: enough for one SSH round trip on a slow, loaded link.
pub(crate) const GRACE: Duration = Duration::from_secs(30);
/// How long verify-engine.sh may take (importing and running the smoke container, an exec).
pub(crate) const VERIFY_BUDGET: Duration = Duration::from_secs(90);

/// The steps the deadline is set for; each step's own bound plus [`GRACE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The restart of the engine (bounded by the engine timeout).
    Restart,
    /// Waiting for the engine to answer (the engine timeout).
    Ready,
    /// verify-engine.sh ([`VERIFY_BUDGET`]).
    Verify,
}

/// How many seconds from now the watchdog waits during `step`.
pub(crate) fn deadline(step: Step, engine_timeout: Duration) -> u64 {
    let bound = match step {
        Step::Restart | Step::Ready => engine_timeout,
        Step::Verify => VERIFY_BUDGET,
    };
    (bound + GRACE).as_secs()
}

/// A configuration write-files.sh wrote and nobody confirmed: rmachine was killed or lost the
/// host between writing the files and confirming the restarted engine. The engine may still run
/// the configuration before it, so the next run must restart and check it even when every file
/// is already as rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnconfirmedRun {
    pub run_identifier: String,
    /// The files replaced since the last confirmed configuration.
    pub files: Vec<String>,
}

impl UnconfirmedRun {
    /// From the marker's text (`RUN_ID`, then `file DEST` lines). A marker without file lines is
    /// an older rmachine's record of its last run, not of an unconfirmed one: None.
    pub(crate) fn parse(marker: &str) -> Option<Self> {
        let mut lines = marker.lines();
        let run_identifier = lines.next()?.trim().to_string();
        let files: Vec<String> = lines.filter_map(|line| line.strip_prefix("file ")).map(str::to_string).collect();
        (!run_identifier.is_empty() && !files.is_empty()).then_some(Self { run_identifier, files })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_gets_its_bound_plus_the_grace() {
        let engine_timeout = Duration::from_secs(90);
        assert_eq!(deadline(Step::Restart, engine_timeout), 120);
        assert_eq!(deadline(Step::Ready, engine_timeout), 120);
        assert_eq!(deadline(Step::Verify, engine_timeout), 120);
        assert_eq!(deadline(Step::Ready, Duration::from_secs(20)), 50);
    }

    #[test]
    fn an_unconfirmed_run_lists_its_files() {
        let run = UnconfirmedRun::parse("17.5-42\nfile /etc/docker/daemon.json\nfile /etc/docker/ca.pem\n").unwrap();
        assert_eq!(run.run_identifier, "17.5-42");
        assert_eq!(run.files, ["/etc/docker/daemon.json", "/etc/docker/ca.pem"]);
    }

    #[test]
    fn an_older_marker_or_an_empty_one_is_no_unconfirmed_run() {
        assert_eq!(UnconfirmedRun::parse("17.5-42\n"), None, "rmachine before the watchdog left this");
        assert_eq!(UnconfirmedRun::parse(""), None);
        assert_eq!(UnconfirmedRun::parse("\nfile /etc/docker/daemon.json\n"), None);
    }
}
