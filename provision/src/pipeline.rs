//! The provisioning pipeline ([`provision`]), the same for every OS family and init system:
//! detect → choose family, init and privilege → hostname → install or adopt the engine → render
//! → compare → apply (write, arm the host's rollback, restart, check, confirm) → roll back on
//! failure → report.

use crate::apply::apply;
use crate::engine_options::EngineOptions;
use crate::engine_setup;
use crate::error::ProvisionError;
use crate::facts::{HostFacts, SudoState};
use crate::family::{self, OsFamily};
use crate::init::{InitSystem, ServiceManager, ServiceProblem};
use crate::install;
use crate::managed_files::{self, DAEMON_JSON_PATH, ManagedFile, WRITE_MARKER_PATH};
use crate::package_manager;
use crate::plan;
use crate::remote::{EngineCheck, ProvisionObserver, ProvisionReport, ProvisionRequest, Remote};
use crate::render;
use crate::rollback::UnconfirmedRun;
use crate::runtime;
use crate::session::Session;
use crate::shell::Privilege;
use crate::storage;
use crate::verify::Expectations;
use crate::warnings;

/// Provisions the host behind `remote` as `request` says, reporting progress to `observer`.
/// Never leaves the host without a running engine because of a configuration it wrote: when the
/// engine does not come back, or does not do what was asked, the previous files are restored
/// and the engine restarted; by the host itself when rmachine is gone or cut off.
pub async fn provision<R: Remote, C: EngineCheck>(
    remote: &R,
    check: &C,
    request: &ProvisionRequest<'_>,
    observer: &dyn ProvisionObserver,
) -> Result<ProvisionReport, ProvisionError> {
    let on_phase = &|phase: &str| observer.phase(phase);
    request.engine.validate()?;
    check_hostname(request.hostname)?;
    let runtime_binary = engine_setup::read_runtime_binary(request.engine)?;
    let mut session = Session::new(remote);
    let certificates = managed_files::certificate_files(request.certificates);
    let managed_paths = managed_paths(&certificates, request.engine);

    let SettledHost { facts, family, service_manager, engine_installed, dockerd, package_warnings, deprecation } =
        settle_host(&mut session, request, &managed_paths, on_phase).await?;
    let dockerd = dockerd.as_str();

    let Desired { effective, daemon_json, files, service_warnings } =
        desired_files(&facts, service_manager, dockerd, request, certificates, runtime_binary, &session.host)?;
    let changed_files: Vec<&ManagedFile> =
        files.iter().filter(|file| !file.is_on_host(facts.file_state(&file.path))).collect();

    let mut report = ProvisionReport {
        os_pretty_name: facts.os_release.pretty_name(),
        family: family.name.to_string(),
        engine_installed,
        changed: false,
        engine_version: String::new(),
        remote_commands: 0,
        warnings: package_warnings,
    };
    report.warnings.extend(service_warnings);
    report.warnings.extend(deprecation);
    if changed_files.iter().any(|file| file.path == DAEMON_JSON_PATH) {
        report.warnings.extend(warnings::configuration_warnings(
            facts.file(DAEMON_JSON_PATH),
            &daemon_json,
            &effective,
            facts.storage_driver_in_use.as_deref(),
            engine_installed,
        ));
    }

    let unconfirmed = unconfirmed_run(&facts, &mut report.warnings);
    if changed_files.is_empty() && unconfirmed.is_none() && (service_manager.is_running)(&facts) {
        on_phase("waiting for the engine");
        match check.wait_ready().await {
            Ok(version) => {
                report.engine_version = version;
                report.remote_commands = session.commands;
                report.warnings.extend(noise_warning(&session));
                return Ok(report);
            }
            // The files are current but the engine does not answer: it may still run an older
            // configuration (a run interrupted between writing and restarting). Restart it.
            Err(reason) => report.warnings.push(format!(
                "the engine's configuration was already current but the engine did not answer ({reason}); it was restarted"
            )),
        }
    }

    engine_setup::prepare_remap_user(&mut session, &facts, request.engine, on_phase).await?;
    engine_setup::download_runtime(&mut session, &facts, request.engine, on_phase).await?;
    let expectations = Expectations::new(&effective, effective.storage_driver.clone());
    let applied =
        apply(&mut session, service_manager, check, &changed_files, unconfirmed.as_ref(), &expectations, observer)
            .await?;
    report.engine_version = applied.engine_version;
    report.warnings.extend(applied.warnings);
    report.changed = true;
    report.remote_commands = session.commands;
    report.warnings.extend(noise_warning(&session));
    Ok(report)
}

/// A configuration written by an earlier run that was never confirmed (rmachine killed or cut
/// off before the restarted engine passed its checks): the engine may still run the one before
/// it, so it is restarted and checked even when every file is already current.
fn unconfirmed_run(facts: &HostFacts, warnings: &mut Vec<String>) -> Option<UnconfirmedRun> {
    let run = facts.file(WRITE_MARKER_PATH).and_then(UnconfirmedRun::parse)?;
    warnings.push(format!(
        "an earlier run wrote {} but never confirmed the restarted engine (rmachine was stopped or lost the host): the engine is restarted and checked now",
        run.files.join(", ")
    ));
    Some(run)
}

/// The files the host should have: daemon.json, the service's drop-in, certificates, a runtime.
struct Desired {
    /// The engine options with the storage driver to keep filled in.
    effective: EngineOptions,
    daemon_json: String,
    files: Vec<ManagedFile>,
    service_warnings: Vec<String>,
}

/// Renders every file rmachine manages on the host, for these facts and this request.
fn desired_files(
    facts: &HostFacts,
    service_manager: &ServiceManager,
    dockerd: &str,
    request: &ProvisionRequest<'_>,
    certificates: Vec<ManagedFile>,
    runtime_binary: Option<Vec<u8>>,
    host: &str,
) -> Result<Desired, ProvisionError> {
    let service = (service_manager.configure)(facts, dockerd, &request.engine.env)
        .map_err(|problem| service_error(problem, host, dockerd))?;
    // With no driver asked for, the one a running engine uses stays (written down, so that a
    // later change of Docker's default does not switch it silently).
    let mut effective = request.engine.clone();
    if effective.storage_driver.is_none() {
        effective.storage_driver = storage::driver_to_keep(facts);
    }
    let daemon_json = render::daemon_json(&effective, request.driver_name, service.listener)
        .map_err(|problems| ProvisionError::InvalidEngineOptions { problems })?;
    let mut files = vec![ManagedFile::new(DAEMON_JSON_PATH, 0o644, daemon_json.as_bytes())];
    files.extend(service.files);
    files.extend(certificates);
    files.extend(engine_setup::runtime_files(request.engine, runtime_binary));
    Ok(Desired { effective, daemon_json, files, service_warnings: service.warnings })
}

/// What the host is once its package manager is settled and its engine installed or adopted.
struct SettledHost {
    facts: HostFacts,
    family: &'static OsFamily,
    service_manager: &'static ServiceManager,
    /// Whether this run installed the engine.
    engine_installed: bool,
    /// `command -v dockerd`.
    dockerd: String,
    package_warnings: Vec<String>,
    /// The storage driver asked for is deprecated on this engine.
    deprecation: Option<String>,
}

/// Detects the host, lets another package manager run finish (or repairs a killed one), sets the
/// hostname, and installs the engine or checks the one it has against the request.
async fn settle_host<R: Remote>(
    session: &mut Session<'_, R>,
    request: &ProvisionRequest<'_>,
    managed_paths: &[String],
    on_phase: &(dyn Fn(&str) + Sync),
) -> Result<SettledHost, ProvisionError> {
    on_phase("detecting the OS");
    let mut facts = session.detect(managed_paths).await?;
    let family = choose_family(&facts, &session.host)?;
    let service_manager = service_manager(&facts, &session.host)?;
    session.privilege = privilege(&facts, &session.host)?;
    if let Some(driver) = &request.engine.storage_driver {
        check_storage_driver(driver, &facts, &session.host)?;
    }
    // Another package manager run (or the apt of a killed earlier run) must finish first, and
    // what a killed one left half-done be finished, before "is dockerd installed" means anything.
    let (settled, package_warnings) = package_manager::settle(session, managed_paths, facts, family, on_phase).await?;
    facts = settled;

    if needs_hostname(&facts, request.hostname) {
        on_phase(&format!("setting the hostname to {}", request.hostname));
        session.run_checked(&plan::set_hostname(request.hostname)).await?;
    }

    let engine_installed = facts.program("dockerd").is_none();
    if engine_installed {
        engine_setup::install_engine(session, &facts, family, request.engine, on_phase).await?;
        on_phase("detecting the installed engine");
        facts = session.detect(managed_paths).await?;
    }
    if !engine_installed
        && let Some(pin) = &request.engine.engine_version
        && let Some(installed) = facts.dockerd_version.as_deref()
        && !install::version_matches(installed, pin)
    {
        return Err(ProvisionError::InstallRefused {
            host: session.host.clone(),
            reason: format!(
                "the host already runs {installed}, not the pinned version {pin}; rmachine does not replace an engine it adopts (`rmachine upgrade NAME` moves it to the pin where the packages offer it)"
            ),
        });
    }
    let Some(dockerd) = facts.program("dockerd").map(str::to_string) else {
        return Err(ProvisionError::EngineMissing {
            host: session.host.clone(),
            reason: "the install finished, but `command -v dockerd` still finds nothing".into(),
        });
    };
    // Only now is the engine's version known (a fresh install included): a removed driver is
    // refused by the engines that removed it, and deprecated on the others.
    let deprecation = match &request.engine.storage_driver {
        Some(driver) => storage::check_engine_has(driver, facts.dockerd_version.as_deref()).map_err(|reason| {
            ProvisionError::StorageDriverUnavailable {
                host: session.host.clone(),
                driver: driver.clone(),
                reason: format!("{reason}; nothing was configured"),
            }
        })?,
        None => None,
    };

    Ok(SettledHost { facts, family, service_manager, engine_installed, dockerd, package_warnings, deprecation })
}

/// A warning about text the host prints before rmachine's commands run, which rmachine set aside.
fn noise_warning<R: Remote>(session: &Session<'_, R>) -> Option<String> {
    let noise = session.host_noise.as_deref()?;
    let first: String = noise.lines().next().unwrap_or_default().chars().take(120).collect();
    Some(format!(
        "{} prints text before each command rmachine runs (a login script or sudo: \"{first}\"); rmachine set it apart from the commands' output",
        session.host
    ))
}

/// How the engine's service is managed on this host.
pub(crate) fn service_manager(facts: &HostFacts, host: &str) -> Result<&'static ServiceManager, ProvisionError> {
    let init = InitSystem::detect(facts);
    init.service_manager().ok_or_else(|| ProvisionError::UnsupportedInit { host: host.to_string(), init: init.name() })
}

fn check_storage_driver(driver: &str, facts: &HostFacts, host: &str) -> Result<(), ProvisionError> {
    storage::check_host_can_run(driver, facts).map_err(|reason| ProvisionError::StorageDriverUnavailable {
        host: host.to_string(),
        driver: driver.to_string(),
        reason,
    })
}

/// The files whose state detection reports: the managed files whose content is not read back.
pub(crate) fn managed_paths(certificates: &[ManagedFile], options: &EngineOptions) -> Vec<String> {
    let mut paths = vec![DAEMON_JSON_PATH.to_string(), crate::systemd::DROP_IN_PATH.to_string()];
    paths.extend(certificates.iter().map(|file| file.path.clone()));
    if let Some(runtime) = &options.runtime {
        paths.push(runtime::binary_path(runtime));
        paths.push(runtime::wrapper_path(runtime));
    }
    paths
}

pub(crate) fn choose_family(facts: &HostFacts, host: &str) -> Result<&'static OsFamily, ProvisionError> {
    family::choose(&facts.os_release).map_err(|refusal| {
        let release = &facts.os_release;
        let pretty_name =
            if facts.has_os_release { release.pretty_name() } else { "an OS without /etc/os-release".to_string() };
        ProvisionError::UnsupportedOs {
            host: host.to_string(),
            pretty_name,
            id: release.get("ID").unwrap_or("none").to_string(),
            id_like: release.get("ID_LIKE").unwrap_or("none").to_string(),
            recognized_family: refusal.recognized.map(|family| family.name),
        }
    })
}

pub(crate) fn privilege(facts: &HostFacts, host: &str) -> Result<Privilege, ProvisionError> {
    let host_name = host.rsplit_once('@').map_or(host, |(_, address)| address).to_string();
    match &facts.sudo {
        SudoState::Root => Ok(Privilege::Root),
        SudoState::Passwordless => Ok(Privilege::Sudo),
        SudoState::Missing => Err(ProvisionError::SudoMissing { host: host_name, user: facts.user_name.clone() }),
        SudoState::Denied(message) => Err(ProvisionError::PasswordSudo {
            host: host_name,
            user: facts.user_name.clone(),
            sudo_said: sudo_said(message),
        }),
    }
}

/// sudo's complaint without its "sudo: " prefix: "a password is required".
fn sudo_said(message: &str) -> String {
    let line = message.lines().find(|line| !line.trim().is_empty()).unwrap_or("no message");
    line.trim().strip_prefix("sudo: ").unwrap_or(line.trim()).to_string()
}

fn service_error(problem: ServiceProblem, host: &str, dockerd: &str) -> ProvisionError {
    match problem {
        ServiceProblem::NoService { load_state } => {
            ProvisionError::NoEngineService { host: host.to_string(), dockerd: dockerd.to_string(), load_state }
        }
        ServiceProblem::ConflictingFile { path } => ProvisionError::ConflictingDropIn { host: host.to_string(), path },
        ServiceProblem::ConflictingOptions { path, setting } => {
            ProvisionError::ConflictingEngineFlags { host: host.to_string(), path, setting }
        }
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
    facts.hostname != hostname || facts.file("/etc/hostname").map(str::trim_end) != Some(hostname) || !hosts_fine
}

/// Refuses a machine name that cannot be a hostname (RFC 1123 labels).
fn check_hostname(hostname: &str) -> Result<(), ProvisionError> {
    let refuse =
        |reason: &str| Err(ProvisionError::InvalidHostname { name: hostname.to_string(), reason: reason.to_string() });
    if hostname.is_empty() || hostname.len() > 253 {
        return refuse("a hostname has 1 to 253 characters");
    }
    for label in hostname.split('.') {
        if label.is_empty() || label.len() > 63 {
            return refuse("each dot-separated part must have 1 to 63 characters");
        }
        if !label.chars().all(|character| character.is_ascii_alphanumeric() || character == '-') {
            return refuse("only letters, digits, '-' and '.' are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return refuse("a part must not start or end with '-'");
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
