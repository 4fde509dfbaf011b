//! Checking the running engine after a configuration change: what it must show
//! ([`Expectations`]: storage driver, userns-remap, runtimes, a smoke container's uid_map and
//! seccomp mode), the `scripts/verify-engine.sh` command that reports it, and the comparison.

use std::collections::BTreeMap;

use crate::engine_options::EngineOptions;
use crate::userns;

/// What the engine must show once it runs with the new configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Expectations {
    pub storage_driver: Option<String>,
    /// The remap user whose /etc/subuid range a container's uid_map must show.
    pub remap_user: Option<String>,
    /// userns-remap must be off.
    pub remap_off: bool,
    /// A runtime that must be registered and run the smoke container with seccomp.
    pub runtime: Option<String>,
    pub default_runtime: Option<String>,
    /// A smoke container that fails to show seccomp under the runtime is only a warning.
    pub accept_unverified_runtime: bool,
}

impl Expectations {
    pub(crate) fn new(options: &EngineOptions, storage_driver: Option<String>) -> Self {
        Self {
            storage_driver,
            remap_user: options.effective_userns_remap().map(|remap| userns::user_and_group(remap).0),
            remap_off: options.userns_remap.is_some() && options.effective_userns_remap().is_none(),
            runtime: options.runtime.clone(),
            default_runtime: options.default_runtime.clone(),
            accept_unverified_runtime: options.runtime_accept_unverified,
        }
    }

    /// Whether a smoke container must run.
    pub(crate) fn needs_smoke(&self) -> bool {
        self.remap_user.is_some() || self.runtime.is_some()
    }

    /// The arguments of verify-engine.sh.
    pub(crate) fn arguments(&self) -> Vec<String> {
        let mut arguments = Vec::new();
        if self.needs_smoke() {
            arguments.push("--smoke".to_string());
        }
        // Under the default runtime the smoke container names none: that proves the default.
        if let Some(runtime) = &self.runtime
            && self.default_runtime.as_ref() != Some(runtime)
        {
            arguments.extend(["--runtime".to_string(), runtime.clone()]);
        }
        if let Some(user) = &self.remap_user {
            arguments.extend(["--remap-user".to_string(), user.clone()]);
        }
        arguments
    }

    /// Compares verify-engine.sh's `output` with the expectations: Ok(warnings) or Err(what the
    /// engine does differently, with the runtime's own error when it has one).
    pub(crate) fn check(&self, output: &str) -> Result<Vec<String>, String> {
        let report: BTreeMap<&str, &str> = output
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.trim(), value.trim()))
            .collect();
        let value = |key: &str| report.get(key).copied().unwrap_or("");
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        if let Some(driver) = &self.storage_driver
            && value("driver") != driver
        {
            problems.push(format!(
                "the engine runs the storage driver {:?}, not {driver:?} (docker info --format '{{{{.Driver}}}}')",
                value("driver")
            ));
        }
        let userns_on = value("security-options").contains("name=userns");
        if self.remap_user.is_some() && !userns_on {
            problems.push(format!(
                "docker info lists no name=userns among its security options ({})",
                value("security-options")
            ));
        }
        if self.remap_off && userns_on {
            problems.push("userns-remap is still on (docker info lists name=userns)".to_string());
        }
        if let Some(runtime) = &self.runtime
            && !value("runtimes").split_whitespace().any(|name| name == runtime)
        {
            problems.push(format!("docker info does not list the runtime {runtime} (it lists {})", value("runtimes")));
        }
        if let Some(default) = &self.default_runtime
            && value("default-runtime") != default
        {
            problems.push(format!("the default runtime is {:?}, not {default:?}", value("default-runtime")));
        }
        if self.needs_smoke() {
            match self.check_smoke(&report) {
                Ok(()) => {}
                Err(problem) if self.accept_unverified_runtime && self.runtime.is_some() => {
                    warnings.push(format!("the runtime was registered without proof, as asked: {problem}"))
                }
                Err(problem) => problems.push(problem),
            }
        }
        if problems.is_empty() { Ok(warnings) } else { Err(problems.join("; ")) }
    }

    fn check_smoke(&self, report: &BTreeMap<&str, &str>) -> Result<(), String> {
        let value = |key: &str| report.get(key).copied().unwrap_or("");
        if let Some(error) = report.get("smoke-error") {
            let mut problem = format!("a smoke container failed to run: {error}");
            if let Some(log) = report.get("runtime-log").filter(|log| !log.is_empty()) {
                problem.push_str(&format!("; the runtime's own error: {log}"));
            }
            return Err(problem);
        }
        let mut problems = Vec::new();
        if let Some(user) = &self.remap_user {
            let range = userns::first_range(&value("subuid").replace(' ', ""), user);
            let uid_map: Vec<&str> = value("uid-map").split_whitespace().collect();
            let expected = range.map(|(start, count)| vec!["0".to_string(), start.to_string(), count.to_string()]);
            match expected {
                None => problems.push(format!("/etc/subuid has no range for {user}")),
                Some(expected) if uid_map != expected => problems.push(format!(
                    "a container's /proc/self/uid_map reads {:?}, not \"{}\" (the range of {user} in /etc/subuid)",
                    value("uid-map"),
                    expected.join(" ")
                )),
                Some(_) => {}
            }
        }
        if let Some(runtime) = &self.runtime {
            if value("container-runtime") != runtime {
                problems.push(format!("the smoke container ran under {:?}, not {runtime}", value("container-runtime")));
            }
            if value("seccomp") != "2" {
                problems.push(format!(
                    "a container under {runtime} shows Seccomp: {:?} in /proc/self/status, not 2: \
                     this {runtime} was built without seccomp (build it with --features v1,v2,seccomp,systemd)",
                    value("seccomp")
                ));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
    }
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
