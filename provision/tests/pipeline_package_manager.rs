//! The pipeline on a fake host whose package manager is busy or was interrupted: an earlier
//! `create` killed during `apt-get install docker.io` left its apt running (waited for), or a
//! killed apt left docker.io half-installed (finished with dpkg --configure -a), before the
//! pipeline decides whether the engine is installed. Before this, such a host had dockerd on
//! disk, so the install was skipped and the restart failed ("Dependency failed for docker.service").

mod fake_host;

use fake_host::{FakeCheck, FakeHost, HostState, run};
use rmachine_provision::{EngineOptions, ProvisionError};

const APT_HOLDER: &str = "251 /var/lib/dpkg/lock-frontend apt-get -q -o DPkg::Lock::Timeout=60 install -y docker.io";

/// dockerd is on disk but dpkg has not configured docker.io and its dependencies: systemd's
/// docker.service cannot start (its containerd and socket are not set up).
fn half_installed(state: &mut HostState) {
    state.dockerd = Some("/usr/sbin/dockerd".into());
    state.docker_active = false;
    state.interrupted_packages = vec!["iU containerd".into(), "iU docker.io".into(), "iU runc".into()];
    state.restart_rule = Box::new(|state| state.interrupted_packages.is_empty());
}

fn orphaned_apt_finishes(state: &mut HostState) {
    state.interrupted_packages.clear();
    state.docker_active = true;
}

#[tokio::test]
async fn an_orphaned_apt_is_waited_for_and_its_engine_adopted() {
    let host = FakeHost::debian().with(|state| {
        half_installed(state);
        state.lock_holders = vec![APT_HOLDER.into()];
        state.when_holders_finish = Box::new(orphaned_apt_finishes);
    });
    let (result, phases) = run(&host, &FakeCheck::ready(), &EngineOptions::default()).await;
    let report = result.unwrap();
    assert_eq!(
        host.command_names()[..3],
        ["rmachine-facts", "rmachine-package-manager", "rmachine-facts"],
        "waits, then looks again before deciding"
    );
    assert_eq!(host.commands()[1].arguments, ["wait", "900", "251"]);
    assert!(!host.commands()[1].through_sudo);
    assert!(!host.command_names().contains(&"rmachine-install-packages".to_string()), "the orphan installed it");
    assert_eq!(phases[1], "waiting for another package manager run (PID 251) to finish");
    assert_eq!(phases[2], "detecting the OS again");
    assert!(report.changed && report.warnings.is_empty(), "{:?}", report.warnings);
}

#[tokio::test]
async fn a_half_installed_engine_is_finished_with_dpkg_configure_before_it_is_configured() {
    let host = FakeHost::debian().with(half_installed);
    let (result, phases) = run(&host, &FakeCheck::ready(), &EngineOptions::default()).await;
    let report = result.unwrap();
    assert_eq!(host.command_names()[..3], ["rmachine-facts", "rmachine-package-manager", "rmachine-facts"]);
    assert_eq!(host.commands()[1].arguments, ["repair", "apt"]);
    assert_eq!(
        phases[1],
        "finishing the packages an interrupted install left half-done (containerd, docker.io, runc): dpkg --configure -a"
    );
    assert!(report.warnings[0].contains("iU docker.io") && report.warnings[0].contains("dpkg --configure -a"));
    assert!(host.command_names().contains(&"rmachine-restart-docker".to_string()));
}

#[tokio::test]
async fn an_orphan_that_leaves_dpkg_broken_is_waited_for_then_repaired() {
    let host = FakeHost::debian().with(|state| {
        half_installed(state);
        state.lock_holders = vec![APT_HOLDER.into()];
        // killed halfway through: nothing changes but the lock is free
    });
    let (result, _) = run(&host, &FakeCheck::ready(), &EngineOptions::default()).await;
    result.unwrap();
    let names = host.command_names();
    assert_eq!(
        names[..5],
        ["rmachine-facts", "rmachine-package-manager", "rmachine-facts", "rmachine-package-manager", "rmachine-facts"]
    );
    assert_eq!(host.commands()[3].arguments, ["repair", "apt"]);
}

#[tokio::test]
async fn a_package_manager_that_stays_busy_is_reported_and_nothing_is_touched() {
    let host = FakeHost::debian().with(|state| {
        state.lock_holders = vec![APT_HOLDER.into()];
        state.holders_outlast_the_wait = true;
    });
    let (result, _) = run(&host, &FakeCheck::ready(), &EngineOptions::default()).await;
    let error = result.unwrap_err();
    assert!(matches!(error, ProvisionError::PackageManagerBusy { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("still holds its lock")
            && message.contains("PID 251 (apt-get -q -o DPkg::Lock::Timeout=60 install -y docker.io) holding /var/lib/dpkg/lock-frontend")
            && message.contains("rmachine provision"),
        "{message}"
    );
    assert_eq!(host.command_names(), ["rmachine-facts", "rmachine-package-manager"]);
}

#[tokio::test]
async fn a_repair_that_does_not_finish_the_packages_is_an_error() {
    let host = FakeHost::debian().with(|state| {
        half_installed(state);
        state.repair_works = false;
    });
    let (result, _) = run(&host, &FakeCheck::ready(), &EngineOptions::default()).await;
    let error = result.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, ProvisionError::PackagesInterrupted { .. }), "{error:?}");
    assert!(
        message.contains("iU docker.io") && message.contains("dpkg --configure -a did not finish them"),
        "{message}"
    );
    assert_eq!(host.command_names(), ["rmachine-facts", "rmachine-package-manager", "rmachine-facts"]);
}
