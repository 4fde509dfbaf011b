//! Storage drivers: which names rmachine accepts, whether a host can run the one asked for
//! (checked from the facts before anything on the host is touched), and whether the host's engine
//! still has it: Docker removed overlay and aufs in 24.0 and devicemapper in 25.0, so these are
//! refused only where the engine is that new, and accepted with a deprecation warning on older
//! engines (Debian 12's 20.10 has them all), as docker-machine users still ask for them.

use crate::facts::HostFacts;

/// The storage drivers current Docker Engine has, best first.
pub(crate) const SUPPORTED_DRIVERS: &[&str] = &["overlay2", "fuse-overlayfs", "btrfs", "zfs", "vfs"];

/// Drivers Docker removed, and the release that removed them.
const REMOVED_DRIVERS: &[(&str, &str)] = &[("devicemapper", "25.0"), ("aufs", "24.0"), ("overlay", "24.0")];

/// Backing filesystems overlay2 refuses to run on (`stat -f -c %T` names).
const OVERLAY2_REFUSED_FILESYSTEMS: &[&str] = &["overlayfs", "nfs", "zfs", "ecryptfs", "aufs"];

/// Whether `driver` names a driver rmachine accepts (a removed one too: whether the host's engine
/// still has it is known only on the host, [`check_engine_has`]).
pub(crate) fn check_driver_name(driver: &str) -> Result<(), String> {
    if SUPPORTED_DRIVERS.contains(&driver) || REMOVED_DRIVERS.iter().any(|(removed, _)| *removed == driver) {
        return Ok(());
    }
    Err(format!("unknown storage driver {driver:?}; use one of {}", SUPPORTED_DRIVERS.join(", ")))
}

/// Whether the engine whose `dockerd --version` is `version_output` still has `driver`: Ok(None)
/// for a current driver, Ok(Some(warning)) for a removed one an older engine still has (or when
/// the version is unknown), Err(reason) where the engine is the release that removed it or later.
pub(crate) fn check_engine_has(driver: &str, version_output: Option<&str>) -> Result<Option<String>, String> {
    let Some((_, release)) = REMOVED_DRIVERS.iter().find(|(removed, _)| *removed == driver) else { return Ok(None) };
    let alternatives = SUPPORTED_DRIVERS.join(", ");
    let Some((version, engine)) =
        version_output.and_then(|output| engine_version(output).map(|version| (version, output)))
    else {
        return Ok(Some(format!(
            "storage driver {driver} is deprecated (Docker {release} removed it) and the engine's version is unknown; dockerd decides whether it still has it"
        )));
    };
    let shown = engine.split(',').next().unwrap_or(engine).trim_start_matches("Docker version ").trim();
    if version >= release_number(release) {
        return Err(format!(
            "storage driver {driver} was removed in Docker {release} and this host's engine is {shown}: use one of {alternatives} (overlay2 is overlay's successor)"
        ));
    }
    Ok(Some(format!(
        "storage driver {driver} is deprecated: Docker {release} removed it; this host's engine {shown} still has it, but move to one of {alternatives} before upgrading the engine"
    )))
}

/// (major, minor) of `dockerd --version` output: "Docker version 26.1.5+dfsg1, build a72d7cd".
fn engine_version(output: &str) -> Option<(u32, u32)> {
    let word = output
        .split_whitespace()
        .map(|word| word.trim_end_matches(','))
        .find(|word| word.chars().next().is_some_and(|first| first.is_ascii_digit()) && word.contains('.'))?;
    let mut numbers = word.split(['.', '+', '-', '~']).map(|part| part.parse::<u32>());
    Some((numbers.next()?.ok()?, numbers.next()?.ok()?))
}

fn release_number(release: &str) -> (u32, u32) {
    engine_version(release).unwrap_or((u32::MAX, 0))
}

/// Whether the host described by `facts` can run `driver`; Err(reason, with the drivers that
/// would work) when it clearly cannot. Unknown facts (an old `stat`, say) let the driver
/// through: dockerd has the last word, and the check after the restart catches it.
pub(crate) fn check_host_can_run(driver: &str, facts: &HostFacts) -> Result<(), String> {
    obstacle(driver, facts).map_or(Ok(()), |reason| {
        let working = usable_drivers(facts);
        Err(format!("{reason}; drivers that would work on this host: {}", working.join(", ")))
    })
}

/// The supported drivers the host can run, best first.
pub(crate) fn usable_drivers(facts: &HostFacts) -> Vec<&'static str> {
    SUPPORTED_DRIVERS.iter().copied().filter(|driver| obstacle(driver, facts).is_none()).collect()
}

/// The driver to keep when none is asked for: the one a running engine uses, when rmachine
/// knows it (Docker 29's containerd store reports "overlayfs", a snapshotter: not kept).
pub(crate) fn driver_to_keep(facts: &HostFacts) -> Option<String> {
    facts.storage_driver_in_use.clone().filter(|driver| SUPPORTED_DRIVERS.contains(&driver.as_str()))
}

/// Why `driver` cannot run on the host, if something the facts show prevents it.
fn obstacle(driver: &str, facts: &HostFacts) -> Option<String> {
    let filesystem = facts.docker_root_filesystem.as_deref().unwrap_or("");
    let on = |expected: &str| filesystem.is_empty() || filesystem == expected;
    // `stat -f -c %T` names ext4 "ext2/ext3".
    let shown = if filesystem == "ext2/ext3" { "ext4 (ext2/ext3)" } else { filesystem };
    match driver {
        "overlay2" if OVERLAY2_REFUSED_FILESYSTEMS.contains(&filesystem) => Some(format!(
            "/var/lib/docker is on {shown}, which overlay2 cannot use as its backing filesystem \
             (use fuse-overlayfs, or put /var/lib/docker on ext4 or xfs)"
        )),
        "overlay2" if !facts.overlay_filesystem => Some(
            "the kernel has no overlay filesystem (no 'overlay' in /proc/filesystems; try modprobe overlay)"
                .to_string(),
        ),
        "overlay2" if facts.xfs_ftype == Some(false) => Some(
            "/var/lib/docker is on xfs made with ftype=0, which overlay2 cannot use (d_type); \
             re-create it with mkfs.xfs -n ftype=1"
                .to_string(),
        ),
        "btrfs" if !on("btrfs") => Some(format!("/var/lib/docker must be on a btrfs filesystem, and it is on {shown}")),
        "zfs" if !on("zfs") => Some(format!("/var/lib/docker must be a ZFS dataset, and it is on {shown}")),
        "fuse-overlayfs" if !facts.fuse_device => Some("the host has no /dev/fuse".to_string()),
        "fuse-overlayfs" if facts.program("fuse-overlayfs").is_none() => {
            Some("the fuse-overlayfs program is not installed (apt-get install fuse-overlayfs)".to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(filesystem: &str, fuse_device: bool, fuse_program: bool) -> HostFacts {
        let mut facts = HostFacts::for_tests();
        facts.overlay_filesystem = true;
        facts.docker_root_filesystem = Some(filesystem.to_string()).filter(|name| !name.is_empty());
        facts.fuse_device = fuse_device;
        if fuse_program {
            facts.set_program("fuse-overlayfs", "/usr/bin/fuse-overlayfs");
        }
        facts
    }

    #[test]
    fn overlay2_is_refused_on_overlayfs_and_nfs() {
        assert!(check_host_can_run("overlay2", &facts("ext2/ext3", false, false)).is_ok());
        assert!(check_host_can_run("overlay2", &facts("xfs", false, false)).is_ok());
        let reason = check_host_can_run("overlay2", &facts("overlayfs", false, false)).unwrap_err();
        assert!(reason.contains("fuse-overlayfs"), "{reason}");
        assert!(check_host_can_run("overlay2", &facts("nfs", false, false)).is_err());
    }

    #[test]
    fn btrfs_and_zfs_need_their_filesystem() {
        assert!(check_host_can_run("btrfs", &facts("btrfs", false, false)).is_ok());
        assert!(check_host_can_run("btrfs", &facts("ext2/ext3", false, false)).is_err());
        assert!(check_host_can_run("zfs", &facts("zfs", false, false)).is_ok());
        assert!(check_host_can_run("zfs", &facts("xfs", false, false)).is_err());
        assert!(check_host_can_run("btrfs", &facts("", false, false)).is_ok(), "unknown lets it through");
    }

    #[test]
    fn fuse_overlayfs_needs_the_device_and_the_program() {
        assert!(check_host_can_run("fuse-overlayfs", &facts("overlayfs", true, true)).is_ok());
        assert!(check_host_can_run("fuse-overlayfs", &facts("overlayfs", false, true)).is_err());
        assert!(check_host_can_run("fuse-overlayfs", &facts("overlayfs", true, false)).is_err());
        assert!(check_host_can_run("vfs", &facts("overlayfs", false, false)).is_ok());
    }

    #[test]
    fn a_refusal_names_the_drivers_that_would_work() {
        let reason = check_host_can_run("overlay2", &facts("overlayfs", true, true)).unwrap_err();
        assert!(reason.ends_with("drivers that would work on this host: fuse-overlayfs, vfs"), "{reason}");
        let reason = check_host_can_run("btrfs", &facts("ext2/ext3", false, false)).unwrap_err();
        assert!(reason.contains("it is on ext4 (ext2/ext3)"), "{reason}");
        assert!(reason.ends_with("would work on this host: overlay2, vfs"), "{reason}");
    }

    #[test]
    fn overlay2_needs_the_kernel_module_and_xfs_ftype() {
        let mut without_overlay = facts("ext2/ext3", false, false);
        without_overlay.overlay_filesystem = false;
        let reason = check_host_can_run("overlay2", &without_overlay).unwrap_err();
        assert!(reason.contains("/proc/filesystems"), "{reason}");
        let mut xfs = facts("xfs", false, false);
        xfs.xfs_ftype = Some(false);
        assert!(check_host_can_run("overlay2", &xfs).unwrap_err().contains("ftype=1"));
        xfs.xfs_ftype = Some(true);
        assert!(check_host_can_run("overlay2", &xfs).is_ok());
    }

    #[test]
    fn removed_drivers_are_refused_only_by_engines_that_removed_them() {
        assert!(check_driver_name("overlay").is_ok() && check_driver_name("devicemapper").is_ok());
        assert!(check_driver_name("nosuchfs").unwrap_err().contains("unknown storage driver"));
        let bookworm = Some("Docker version 20.10.24+dfsg1, build 297e128");
        let trixie = Some("Docker version 26.1.5+dfsg1, build a72d7cd");
        let warning = check_engine_has("overlay", bookworm).unwrap().unwrap();
        assert!(warning.contains("deprecated") && warning.contains("20.10.24+dfsg1 still has it"), "{warning}");
        let refusal = check_engine_has("overlay", trixie).unwrap_err();
        assert!(refusal.contains("removed in Docker 24.0 and this host's engine is 26.1.5+dfsg1"), "{refusal}");
        assert!(check_engine_has("devicemapper", Some("Docker version 24.0.9, build 2936816")).unwrap().is_some());
        assert!(check_engine_has("devicemapper", Some("Docker version 25.0.0, build e758fe5")).is_err());
        assert!(check_engine_has("aufs", Some("Docker version 23.0.6, build ef23cbc")).unwrap().is_some());
        assert_eq!(check_engine_has("overlay2", trixie), Ok(None));
        assert!(check_engine_has("overlay", None).unwrap().unwrap().contains("unknown"));
    }

    #[test]
    fn the_running_driver_is_kept_when_known() {
        let mut running = facts("btrfs", false, false);
        assert_eq!(driver_to_keep(&running), None);
        running.storage_driver_in_use = Some("btrfs".into());
        assert_eq!(driver_to_keep(&running).as_deref(), Some("btrfs"));
        running.storage_driver_in_use = Some("overlayfs".into());
        assert_eq!(driver_to_keep(&running), None, "a containerd snapshotter is not a graph driver");
    }
}
