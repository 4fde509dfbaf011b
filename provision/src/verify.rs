//! Checking the running engine after a configuration change: what it must show
//! ([`Expectations`]: storage driver, userns-remap, runtimes, and the uid_map and seccomp mode of
//! a smoke container's first process and of a process `docker exec` starts in it), the
//! `scripts/verify-engine.sh` command that reports it, and the comparison.

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
    /// An exec'd process without seccomp under the runtime is only a warning.
    pub accept_exec_without_seccomp: bool,
}

/// What the smoke container showed wrong, by who may accept it.
#[derive(Debug, Default)]
struct SmokeProblems {
    /// Wrong whatever the runtime flags say (the uid_map under userns-remap).
    always: Vec<String>,
    /// The runtime is unproven (it failed to run the container, or shows no seccomp).
    runtime: Vec<String>,
    /// Processes `docker exec` starts run without the container's seccomp filter.
    exec_seccomp: Vec<String>,
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
            accept_exec_without_seccomp: options.runtime_accept_exec_without_seccomp,
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
            let smoke = self.check_smoke(&report);
            problems.extend(smoke.always);
            let accepted_unverified = self.accept_unverified_runtime && self.runtime.is_some();
            for problem in smoke.runtime {
                if accepted_unverified {
                    warnings.push(format!("the runtime was registered without proof, as asked: {problem}"));
                } else {
                    problems.push(problem);
                }
            }
            for problem in smoke.exec_seccomp {
                if accepted_unverified || self.accept_exec_without_seccomp {
                    warnings.push(format!("the runtime was registered as asked, although {problem}"));
                } else {
                    problems.push(format!(
                        "{problem}; pass --engine-runtime-accept-exec-without-seccomp to register it all the same"
                    ));
                }
            }
        }
        if problems.is_empty() { Ok(warnings) } else { Err(problems.join("; ")) }
    }

    fn check_smoke(&self, report: &BTreeMap<&str, &str>) -> SmokeProblems {
        let value = |key: &str| report.get(key).copied().unwrap_or("");
        let runtime_log = || match report.get("runtime-log").filter(|log| !log.is_empty()) {
            Some(log) => format!("; the runtime's own error: {log}"),
            None => String::new(),
        };
        let mut problems = SmokeProblems::default();
        if let Some(error) = report.get("smoke-error") {
            problems.runtime.push(format!("a smoke container failed to run: {error}{}", runtime_log()));
            return problems;
        }
        if let Some(user) = &self.remap_user {
            problems.always.extend(uid_map_problem(
                value("uid-map"),
                value("subuid"),
                user,
                "a container's first process",
            ));
        }
        if let Some(runtime) = &self.runtime {
            if value("container-runtime") != runtime {
                problems
                    .runtime
                    .push(format!("the smoke container ran under {:?}, not {runtime}", value("container-runtime")));
            }
            if value("seccomp") != "2" {
                problems.runtime.push(format!(
                    "a container under {runtime} shows Seccomp: {:?} in /proc/self/status, not 2: \
                     this {runtime} was built without seccomp (build it with --features v1,v2,seccomp,systemd)",
                    value("seccomp")
                ));
            }
        }
        if let Some(error) = report.get("exec-error") {
            problems.runtime.push(format!("`docker exec` in the smoke container failed: {error}{}", runtime_log()));
            return problems;
        }
        if let Some(user) = &self.remap_user {
            let problem =
                uid_map_problem(value("exec-uid-map"), value("subuid"), user, "a process started with `docker exec`");
            let exec_differs_from_first = value("uid-map") != value("exec-uid-map");
            problems.always.extend(problem.map(|problem| match &self.runtime {
                Some(runtime) if exec_differs_from_first => format!(
                    "{problem}, while the container's first process is remapped: {runtime} runs exec'd processes outside \
                     the container's user namespace, as the host's root (youki 0.7.0 does); use runc with userns-remap"
                ),
                _ => problem,
            }));
            problems.always.dedup();
        }
        if let Some(runtime) = &self.runtime
            && value("seccomp") == "2"
            && value("exec-seccomp") != "2"
        {
            problems.exec_seccomp.push(format!(
                "a process started with `docker exec` in a container under {runtime} shows Seccomp: {:?}, not 2, \
                 while the container's first process shows 2: this {runtime} does not apply the container's \
                 seccomp filter to exec'd processes (youki 0.7.0 does not)",
                value("exec-seccomp")
            ));
        }
        problems
    }
}

/// The problem with a process's /proc/self/uid_map `uid_map` under userns-remap for `user`,
/// whose ranges `subuid` (its /etc/subuid line) gives; `whose` names the process.
fn uid_map_problem(uid_map: &str, subuid: &str, user: &str, whose: &str) -> Option<String> {
    let Some((start, count)) = userns::first_range(&subuid.replace(' ', ""), user) else {
        return Some(format!("/etc/subuid has no range for {user}"));
    };
    let expected = format!("0 {start} {count}");
    let actual: Vec<&str> = uid_map.split_whitespace().collect();
    (actual.join(" ") != expected).then(|| {
        format!("the /proc/self/uid_map of {whose} reads {uid_map:?}, not \"{expected}\" (the range of {user} in /etc/subuid)")
    })
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
