//! The provisioning pipeline ([`provision`]), the same for every OS family and init system:
//! detect → choose family, init and privilege → hostname → install or adopt the engine → render
//! → compare → apply (write, restart, check) → roll back on failure → report.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::engine_options::NO_INSTALL;
use crate::error::ProvisionError;
use crate::facts::{HostFacts, SudoState};
use crate::family::{self, OsFamily};
use crate::init::{InitSystem, ServiceManager, ServiceProblem};
use crate::managed_files::{self, DAEMON_JSON_PATH, ManagedFile};
use crate::plan;
use crate::remote::{EngineCheck, ProvisionReport, ProvisionRequest, Remote};
use crate::render;
use crate::session::{Session, combined_output, tail};
use crate::shell::Privilege;
use crate::storage;
use crate::warnings;

/// Provisions the host behind `remote` as `request` says, reporting progress to `on_phase`.
/// Never leaves the host without a running engine because of a configuration it wrote: when the
/// engine does not come back, the previous files are restored and the engine restarted.
pub async fn provision<R: Remote, C: EngineCheck>(
    remote: &R,
    check: &C,
    request: &ProvisionRequest<'_>,
    on_phase: &(dyn Fn(&str) + Sync),
) -> Result<ProvisionReport, ProvisionError> {
    request.engine.validate()?;
    check_hostname(request.hostname)?;
    let mut session = Session::new(remote);
    let certificates = managed_files::certificate_files(request.certificates);
    let managed_paths = managed_paths(&certificates);

    on_phase("detecting the OS");
    let mut facts = session.detect(&managed_paths).await?;
    let family = choose_family(&facts, &session.host)?;
    let init = InitSystem::detect(&facts);
    let service_manager =
        init.service_manager()
            .ok_or_else(|| ProvisionError::UnsupportedInit {
                host: session.host.clone(),
                init: init.name(),
            })?;
    session.privilege = privilege(&facts, &session.host)?;
    if let Some(driver) = &request.engine.storage_driver {
        storage::check_host_can_run(driver, &facts).map_err(|reason| {
            ProvisionError::StorageDriverUnavailable {
                host: session.host.clone(),
                driver: driver.clone(),
                reason,
            }
        })?;
    }

    if needs_hostname(&facts, request.hostname) {
        on_phase(&format!("setting the hostname to {}", request.hostname));
        session
            .run_checked(&plan::set_hostname(request.hostname))
            .await?;
    }

    let engine_installed = facts.program("dockerd").is_none();
    if engine_installed {
        install_engine(&mut session, &facts, family, request, on_phase).await?;
        on_phase("detecting the installed engine");
        facts = session.detect(&managed_paths).await?;
    }
    let Some(dockerd) = facts.program("dockerd") else {
        return Err(ProvisionError::EngineMissing {
            host: session.host.clone(),
            reason: "the install finished, but `command -v dockerd` still finds nothing".into(),
        });
    };

    let service = (service_manager.configure)(&facts, dockerd, &request.engine.env)
        .map_err(|problem| service_error(problem, &session.host, dockerd))?;
    let daemon_json = render::daemon_json(request.engine, request.driver_name, service.listener)
        .map_err(|problems| ProvisionError::InvalidEngineOptions { problems })?;
    let mut files = vec![ManagedFile::new(
        DAEMON_JSON_PATH,
        0o644,
        daemon_json.as_bytes(),
    )];
    files.extend(service.files);
    files.extend(certificates);
    let changed_files: Vec<&ManagedFile> = files
        .iter()
        .filter(|file| !file.is_on_host(facts.file_state(&file.path)))
        .collect();

    let mut report = ProvisionReport {
        os_pretty_name: facts.os_release.pretty_name(),
        family: family.name.to_string(),
        engine_installed,
        changed: false,
        engine_version: String::new(),
        remote_commands: 0,
        warnings: service.warnings,
    };
    if changed_files
        .iter()
        .any(|file| file.path == DAEMON_JSON_PATH)
    {
        report.warnings.extend(warnings::configuration_warnings(
            facts.file(DAEMON_JSON_PATH),
            &daemon_json,
            request.engine,
            facts.storage_driver_in_use.as_deref(),
            engine_installed,
        ));
    }

    if changed_files.is_empty() && (service_manager.is_running)(&facts) {
        on_phase("waiting for the engine");
        match check.wait_ready().await {
            Ok(version) => {
                report.engine_version = version;
                report.remote_commands = session.commands;
                return Ok(report);
            }
            // The files are current but the engine does not answer: it may still run an older
            // configuration (a run interrupted between writing and restarting). Restart it.
            Err(reason) => report.warnings.push(format!(
                "the engine's configuration was already current but the engine did not answer ({reason}); it was restarted"
            )),
        }
    }

    report.engine_version = apply(
        &mut session,
        service_manager,
        check,
        &changed_files,
        on_phase,
    )
    .await?;
    report.changed = true;
    report.remote_commands = session.commands;
    Ok(report)
}

/// Writes `changed_files`, restarts the engine and waits for it; on any failure after the files
/// may have changed, restores them and restarts the engine again. Ok(engine version).
async fn apply<R: Remote, C: EngineCheck>(
    session: &mut Session<'_, R>,
    service_manager: &ServiceManager,
    check: &C,
    changed_files: &[&ManagedFile],
    on_phase: &(dyn Fn(&str) + Sync),
) -> Result<String, ProvisionError> {
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
                    break 'attempt format!(
                        "writing the files failed: {}",
                        combined_output(&output)
                    );
                }
                Err(error) => break 'attempt error.to_string(),
            }
        }
        on_phase("restarting docker");
        match session.run(&plan::restart_engine(service_manager)).await {
            Ok(output) if output.exit_status == 0 => {}
            Ok(output) => {
                break 'attempt format!(
                    "restarting the engine failed: {}",
                    combined_output(&output)
                );
            }
            Err(error) => break 'attempt error.to_string(),
        }
        on_phase("waiting for the engine");
        match check.wait_ready().await {
            Ok(version) => return Ok(version),
            Err(reason) => format!("the engine did not answer on its TLS endpoint: {reason}"),
        }
    };
    Err(roll_back(
        session,
        service_manager,
        &run_identifier,
        &changed_paths,
        failure_reason,
        on_phase,
    )
    .await)
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
        match session
            .run(&plan::restore_files(run_identifier, changed_paths))
            .await
        {
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

/// Installs the engine the way the install URL says (the family's package when there is none).
async fn install_engine<R: Remote>(
    session: &mut Session<'_, R>,
    facts: &HostFacts,
    family: &OsFamily,
    request: &ProvisionRequest<'_>,
    on_phase: &(dyn Fn(&str) + Sync),
) -> Result<(), ProvisionError> {
    let package_manager = family
        .package_manager
        .expect("only supported families are chosen");
    match request.engine.install_url.as_deref() {
        Some(NO_INSTALL) => Err(ProvisionError::EngineMissing {
            host: session.host.clone(),
            reason:
                "the install URL is 'none', so rmachine does not install it; install Docker Engine \
                     on the host first, or give another install URL"
                    .into(),
        }),
        None => {
            on_phase(&format!("installing {}", family.engine_package));
            let command = plan::install_packages(package_manager, &[family.engine_package]);
            session.run_checked(&command).await.map(drop)
        }
        Some(url) => {
            if facts.program("curl").is_none() && facts.program("wget").is_none() {
                on_phase("installing curl");
                let command = plan::install_packages(package_manager, &["curl", "ca-certificates"]);
                session.run_checked(&command).await?;
            }
            on_phase(&format!("installing the engine with {url}"));
            session
                .run_checked(&plan::install_from_url(url))
                .await
                .map(drop)
        }
    }
}

/// The files whose state detection reports: the managed files whose content is not read back.
fn managed_paths(certificates: &[ManagedFile]) -> Vec<String> {
    let mut paths = vec![
        DAEMON_JSON_PATH.to_string(),
        crate::systemd::DROP_IN_PATH.to_string(),
    ];
    paths.extend(certificates.iter().map(|file| file.path.clone()));
    paths
}

fn choose_family(facts: &HostFacts, host: &str) -> Result<&'static OsFamily, ProvisionError> {
    family::choose(&facts.os_release).map_err(|refusal| {
        let release = &facts.os_release;
        let pretty_name = if facts.has_os_release {
            release.pretty_name()
        } else {
            "an OS without /etc/os-release".to_string()
        };
        ProvisionError::UnsupportedOs {
            host: host.to_string(),
            pretty_name,
            id: release.get("ID").unwrap_or("none").to_string(),
            id_like: release.get("ID_LIKE").unwrap_or("none").to_string(),
            recognized_family: refusal.recognized.map(|family| family.name),
        }
    })
}

fn privilege(facts: &HostFacts, host: &str) -> Result<Privilege, ProvisionError> {
    let host_name = host
        .rsplit_once('@')
        .map_or(host, |(_, address)| address)
        .to_string();
    match &facts.sudo {
        SudoState::Root => Ok(Privilege::Root),
        SudoState::Passwordless => Ok(Privilege::Sudo),
        SudoState::Missing => Err(ProvisionError::SudoMissing {
            host: host_name,
            user: facts.user_name.clone(),
        }),
        SudoState::Denied(message) => Err(ProvisionError::PasswordSudo {
            host: host_name,
            user: facts.user_name.clone(),
            sudo_said: sudo_said(message),
        }),
    }
}

/// sudo's complaint without its "sudo: " prefix: "a password is required".
fn sudo_said(message: &str) -> String {
    let line = message
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("no message");
    line.trim()
        .strip_prefix("sudo: ")
        .unwrap_or(line.trim())
        .to_string()
}

fn service_error(problem: ServiceProblem, host: &str, dockerd: &str) -> ProvisionError {
    match problem {
        ServiceProblem::NoService { load_state } => ProvisionError::NoEngineService {
            host: host.to_string(),
            dockerd: dockerd.to_string(),
            load_state,
        },
        ServiceProblem::ConflictingFile { path } => ProvisionError::ConflictingDropIn {
            host: host.to_string(),
            path,
        },
    }
}

/// Whether the running hostname, /etc/hostname or the 127.0.1.1 line of /etc/hosts differ
/// from `hostname` (in the way scripts/set-hostname.sh would change them).
fn needs_hostname(facts: &HostFacts, hostname: &str) -> bool {
    let loopback_lines: Vec<Vec<&str>> = facts
        .file("/etc/hosts")
        .unwrap_or_default()
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|fields| fields.first() == Some(&"127.0.1.1"))
        .collect();
    let hosts_fine = loopback_lines.len() == 1 && loopback_lines[0] == ["127.0.1.1", hostname];
    facts.hostname != hostname
        || facts.file("/etc/hostname").map(str::trim_end) != Some(hostname)
        || !hosts_fine
}

/// Refuses a machine name that cannot be a hostname (RFC 1123 labels).
fn check_hostname(hostname: &str) -> Result<(), ProvisionError> {
    let refuse = |reason: &str| {
        Err(ProvisionError::InvalidHostname {
            name: hostname.to_string(),
            reason: reason.to_string(),
        })
    };
    if hostname.is_empty() || hostname.len() > 253 {
        return refuse("a hostname has 1 to 253 characters");
    }
    for label in hostname.split('.') {
        if label.is_empty() || label.len() > 63 {
            return refuse("each dot-separated part must have 1 to 63 characters");
        }
        if !label
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '-')
        {
            return refuse("only letters, digits, '-' and '.' are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return refuse("a part must not start or end with '-'");
        }
    }
    Ok(())
}

/// Tells this run's backups from those of earlier runs.
fn run_identifier() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}.{:09}-{}",
        now.as_secs(),
        now.subsec_nanos(),
        std::process::id()
    )
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
