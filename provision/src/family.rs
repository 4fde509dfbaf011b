//! OS families as data: which os-release identifiers belong to a family, where its engine comes
//! from, and how its package manager installs, upgrades and lists versions. The pipeline is the
//! same for every family (see `install_plan`); adding one means a row in [`FAMILIES`].

use crate::os_release::OsRelease;
use crate::shell::{INSTALL_PACKAGES_APT, PACKAGES, Script};

/// How a family installs packages.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PackageManager {
    pub name: &'static str,
    /// Installs the packages given as arguments (after `install_arguments`); runs as root.
    pub install_script: Script,
    pub install_arguments: &'static [&'static str],
    /// How a pinned package is written: "{package}={version}" (apt), "{package}-{version}" (dnf).
    pub pin_format: &'static str,
    /// Whether rmachine finishes what a killed run left half-done (`dpkg --configure -a`).
    pub repairs_interrupted_runs: bool,
}

pub(crate) static APT: PackageManager = PackageManager {
    name: "apt",
    install_script: INSTALL_PACKAGES_APT,
    install_arguments: &[],
    pin_format: "{package}={version}",
    repairs_interrupted_runs: true,
};
pub(crate) static DNF: PackageManager = PackageManager {
    name: "dnf",
    install_script: PACKAGES,
    install_arguments: &["dnf", "install"],
    pin_format: "{package}-{version}",
    repairs_interrupted_runs: false,
};
pub(crate) static APK: PackageManager = PackageManager {
    name: "apk",
    install_script: PACKAGES,
    install_arguments: &["apk", "install"],
    pin_format: "{package}={version}",
    repairs_interrupted_runs: false,
};
pub(crate) static PACMAN: PackageManager = PackageManager {
    name: "pacman",
    install_script: PACKAGES,
    install_arguments: &["pacman", "install"],
    pin_format: "{package}={version}",
    repairs_interrupted_runs: false,
};
pub(crate) static ZYPPER: PackageManager = PackageManager {
    name: "zypper",
    install_script: PACKAGES,
    install_arguments: &["zypper", "install"],
    pin_format: "{package}={version}",
    repairs_interrupted_runs: false,
};

/// Where a family's engine comes from.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EngineSource {
    /// The distribution's own packages.
    Packages(&'static [&'static str]),
    /// Docker's repository (added first), then its packages.
    DockerRepository { repository: &'static str, packages: &'static [&'static str] },
    /// Part of the OS image: rmachine only configures it.
    Preinstalled,
}

/// A group of related distributions that rmachine provisions the same way.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OsFamily {
    /// Short name, as reported: "debian".
    pub name: &'static str,
    /// For messages: "Debian".
    pub description: &'static str,
    /// os-release IDs that belong to the family, matched against ID, then each ID_LIKE word.
    pub identifiers: &'static [&'static str],
    /// When set, the family only matches this VARIANT_ID (Fedora CoreOS is ID=fedora).
    pub variant_id: Option<&'static str>,
    /// When set, the family only matches this VERSION_ID (Amazon Linux 2023, not 2).
    pub version_id: Option<&'static str>,
    pub engine: EngineSource,
    /// None: the family cannot install packages (an immutable OS).
    pub package_manager: Option<&'static PackageManager>,
}

impl OsFamily {
    /// The packages that make up the engine ("docker.io"), none when preinstalled.
    pub(crate) fn engine_packages(&self) -> &'static [&'static str] {
        match &self.engine {
            EngineSource::Packages(packages) => packages,
            EngineSource::DockerRepository { packages, .. } => packages,
            EngineSource::Preinstalled => &[],
        }
    }

    fn matches(&self, identifier: &str, release: &OsRelease) -> bool {
        self.identifiers.contains(&identifier)
            && self.variant_id.is_none_or(|variant| release.get("VARIANT_ID") == Some(variant))
            && self.version_id.is_none_or(|version| release.get("VERSION_ID") == Some(version))
    }
}

const DOCKER_CE: &[&str] = &["docker-ce", "docker-ce-cli", "containerd.io"];

/// Every family, most specific first: a family with a VARIANT_ID or VERSION_ID condition comes
/// before the plain family of the same ID.
pub(crate) static FAMILIES: &[OsFamily] = &[
    OsFamily {
        name: "fedora-coreos",
        description: "Fedora CoreOS",
        identifiers: &["fedora"],
        variant_id: Some("coreos"),
        version_id: None,
        engine: EngineSource::Preinstalled,
        package_manager: None,
    },
    OsFamily {
        name: "flatcar",
        description: "Flatcar Container Linux",
        identifiers: &["flatcar", "coreos"],
        variant_id: None,
        version_id: None,
        engine: EngineSource::Preinstalled,
        package_manager: None,
    },
    OsFamily {
        name: "amazon-linux",
        description: "Amazon Linux 2023",
        identifiers: &["amzn"],
        variant_id: None,
        version_id: Some("2023"),
        engine: EngineSource::Packages(&["docker"]),
        package_manager: Some(&DNF),
    },
    OsFamily {
        name: "ubuntu",
        description: "Ubuntu",
        identifiers: &["ubuntu"],
        variant_id: None,
        version_id: None,
        engine: EngineSource::Packages(&["docker.io"]),
        package_manager: Some(&APT),
    },
    OsFamily {
        name: "debian",
        description: "Debian",
        identifiers: &["debian", "raspbian"],
        variant_id: None,
        version_id: None,
        engine: EngineSource::Packages(&["docker.io"]),
        package_manager: Some(&APT),
    },
    OsFamily {
        name: "fedora",
        description: "Fedora",
        identifiers: &["fedora"],
        variant_id: None,
        version_id: None,
        engine: EngineSource::Packages(&["moby-engine"]),
        package_manager: Some(&DNF),
    },
    OsFamily {
        name: "rhel",
        description: "RHEL, CentOS Stream, Rocky Linux and AlmaLinux",
        identifiers: &["rhel", "centos", "rocky", "almalinux"],
        variant_id: None,
        version_id: None,
        engine: EngineSource::DockerRepository {
            repository: "https://download.docker.com/linux/centos/docker-ce.repo",
            packages: DOCKER_CE,
        },
        package_manager: Some(&DNF),
    },
    OsFamily {
        name: "alpine",
        description: "Alpine Linux",
        identifiers: &["alpine"],
        variant_id: None,
        version_id: None,
        engine: EngineSource::Packages(&["docker"]),
        package_manager: Some(&APK),
    },
    OsFamily {
        name: "arch",
        description: "Arch Linux",
        identifiers: &["arch", "archarm", "manjaro"],
        variant_id: None,
        version_id: None,
        engine: EngineSource::Packages(&["docker"]),
        package_manager: Some(&PACMAN),
    },
    OsFamily {
        name: "opensuse",
        description: "openSUSE and SLES",
        identifiers: &["opensuse-leap", "opensuse-tumbleweed", "opensuse", "suse", "sles"],
        variant_id: None,
        version_id: None,
        engine: EngineSource::Packages(&["docker"]),
        package_manager: Some(&ZYPPER),
    },
];

/// Why no family fits an os-release.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NoSupportedFamily {
    /// A known family that matched but is not supported (kept for messages; always None now).
    pub recognized: Option<&'static OsFamily>,
}

/// The family of `release`: its ID first (against every family, most specific first), then
/// each ID_LIKE word in the order ID_LIKE lists them.
pub(crate) fn choose(release: &OsRelease) -> Result<&'static OsFamily, NoSupportedFamily> {
    std::iter::once(release.id())
        .chain(release.id_like())
        .find_map(|identifier| FAMILIES.iter().find(|family| family.matches(&identifier, release)))
        .ok_or(NoSupportedFamily { recognized: None })
}

/// The supported families, for messages.
pub(crate) fn supported_description() -> &'static str {
    static DESCRIPTION: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| FAMILIES.iter().map(|family| family.description).collect::<Vec<_>>().join(", "));
    &DESCRIPTION
}

/// A package name with a version pin, as `manager` writes it.
pub(crate) fn pinned(manager: &PackageManager, package: &str, version: &str) -> String {
    manager.pin_format.replace("{package}", package).replace("{version}", version)
}

/// The full version string among `available` (as the package manager lists them) that a pin
/// like "20.10.24" selects: the newest one equal to it or starting with it followed by a
/// separator, an epoch ("5:") ignored.
pub(crate) fn select_version<'a>(available: &[&'a str], pin: &str) -> Option<&'a str> {
    available.iter().copied().find(|full| {
        let bare = full.split_once(':').map_or(*full, |(_, rest)| rest);
        bare == pin || bare.strip_prefix(pin).is_some_and(|rest| rest.starts_with(['+', '-', '~', '.', '_']))
    })
}

#[cfg(test)]
#[path = "family_tests.rs"]
mod tests;
