//! Installing and upgrading the engine, the same steps for every family, with the family's data
//! filled in: the commands as a plan ([`install_plan`], [`upgrade_plan`]) and the version pin
//! resolved against what the package manager offers ([`resolve_pin`]).

use crate::engine_options::NO_INSTALL;
use crate::family::{self, EngineSource, OsFamily};
use crate::plan::{self, RemoteCommand};

/// Why the engine cannot be installed or upgraded as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InstallRefusal {
    /// --engine-install-url none.
    NotAllowed,
    /// The OS ships the engine; it must already be there.
    Preinstalled { family: &'static str },
    /// The pin cannot be honoured by the family's packages.
    PinUnavailable { package: String, pin: String, available: Vec<String> },
}

impl InstallRefusal {
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::NotAllowed => "the install URL is 'none', so rmachine does not install it; install Docker Engine \
                 on the host first, or give another install URL"
                .into(),
            Self::Preinstalled { family } => format!(
                "{family} ships Docker Engine in its image and rmachine only configures it there; \
                 this host has no dockerd (enable the OS's docker extension/sysext)"
            ),
            Self::PinUnavailable { package, pin, available } => format!(
                "the engine version {pin} was asked for, but {package} from the host's package repositories offers only {}; \
                 use --engine-install-url https://get.docker.com (Docker's own packages) for other versions",
                if available.is_empty() { "nothing".to_string() } else { available.join(", ") }
            ),
        }
    }
}

/// The command that lists the versions of the family's engine package (for a pin).
pub(crate) fn versions_command(family: &OsFamily) -> Option<RemoteCommand> {
    let manager = family.package_manager?;
    let package = family.engine_packages().first()?;
    Some(plan::packages(manager, "versions", &[package]))
}

/// The pinned package names for `pin`, given the versions the host offers (`versions_output`,
/// one a line); Err when none matches.
pub(crate) fn resolve_pin(family: &OsFamily, pin: &str, versions_output: &str) -> Result<Vec<String>, InstallRefusal> {
    let manager = family.package_manager.ok_or(InstallRefusal::Preinstalled { family: family.description })?;
    let available: Vec<&str> = versions_output.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    let packages = family.engine_packages();
    let Some(full) = family::select_version(&available, pin) else {
        return Err(InstallRefusal::PinUnavailable {
            package: packages.first().copied().unwrap_or("the engine").to_string(),
            pin: pin.to_string(),
            available: available.iter().map(|version| version.to_string()).collect(),
        });
    };
    // docker-ce and docker-ce-cli share versions; containerd.io does not.
    Ok(packages
        .iter()
        .map(|package| {
            if package.starts_with("docker") || *package == "moby-engine" {
                family::pinned(manager, package, full)
            } else {
                package.to_string()
            }
        })
        .collect())
}

/// The commands that install the engine: `install_url` as the user gave it, `packages` the
/// engine packages (pinned when a pin was resolved), `has_downloader` whether curl or wget is
/// there for an install script, `pin` the version for the install script's VERSION.
pub(crate) fn install_plan(
    family: &OsFamily,
    install_url: Option<&str>,
    packages: &[String],
    has_downloader: bool,
    pin: Option<&str>,
) -> Result<Vec<RemoteCommand>, InstallRefusal> {
    match install_url {
        Some(NO_INSTALL) => Err(InstallRefusal::NotAllowed),
        Some(url) => {
            let mut commands = Vec::new();
            if !has_downloader && let Some(manager) = family.package_manager {
                commands.push(plan::install_packages(manager, &["curl", "ca-certificates"]));
            }
            commands.push(plan::install_from_url(url, pin));
            Ok(commands)
        }
        None => {
            let manager = family.package_manager.ok_or(InstallRefusal::Preinstalled { family: family.description })?;
            let mut commands = Vec::new();
            if let EngineSource::DockerRepository { repository, .. } = family.engine {
                commands.push(plan::packages(manager, "add-repository", &[repository]));
            }
            let names: Vec<&str> = packages.iter().map(String::as_str).collect();
            commands.push(plan::install_packages(manager, &names));
            Ok(commands)
        }
    }
}

/// The commands that upgrade the engine packages (to `packages`, pinned or not).
pub(crate) fn upgrade_plan(family: &OsFamily, packages: &[String]) -> Result<Vec<RemoteCommand>, InstallRefusal> {
    let manager = family.package_manager.ok_or(InstallRefusal::Preinstalled { family: family.description })?;
    let names: Vec<&str> = packages.iter().map(String::as_str).collect();
    Ok(vec![plan::packages(manager, "upgrade", &names)])
}

/// Whether `dockerd --version` output ("Docker version 20.10.24+dfsg1, build 297e128") is the
/// pinned version.
pub(crate) fn version_matches(version_output: &str, pin: &str) -> bool {
    version_output
        .split_whitespace()
        .map(|word| word.trim_end_matches(','))
        .any(|word| family::select_version(&[word], pin).is_some())
}

/// The family's engine packages, unpinned.
pub(crate) fn unpinned_packages(family: &OsFamily) -> Vec<String> {
    family.engine_packages().iter().map(|package| package.to_string()).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_installed_version_is_compared_with_the_pin() {
        let output = "Docker version 20.10.24+dfsg1, build 297e128";
        assert!(super::version_matches(output, "20.10.24"));
        assert!(super::version_matches(output, "20.10"));
        assert!(!super::version_matches(output, "27.3.1"));
        assert!(!super::version_matches(output, "20.10.2"));
    }
}
