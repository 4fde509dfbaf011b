//! Storage drivers: which names rmachine accepts, and whether a host can run the one asked for
//! (checked from the facts before anything on the host is touched).

use crate::facts::HostFacts;

/// The storage drivers current Docker Engine has, best first.
pub(crate) const SUPPORTED_DRIVERS: &[&str] = &["overlay2", "fuse-overlayfs", "btrfs", "zfs", "vfs"];

/// Drivers Docker removed, and the release that removed them.
const REMOVED_DRIVERS: &[(&str, &str)] = &[("devicemapper", "25.0"), ("aufs", "24.0"), ("overlay", "24.0")];

/// Backing filesystems overlay2 refuses to run on (`stat -f -c %T` names).
const OVERLAY2_REFUSED_FILESYSTEMS: &[&str] = &["overlayfs", "nfs", "zfs", "ecryptfs", "aufs"];

/// Whether `driver` names a driver rmachine accepts.
pub(crate) fn check_driver_name(driver: &str) -> Result<(), String> {
    if SUPPORTED_DRIVERS.contains(&driver) {
        return Ok(());
    }
    if let Some((_, release)) = REMOVED_DRIVERS.iter().find(|(removed, _)| *removed == driver) {
        return Err(format!(
            "storage driver {driver:?} was removed in Docker {release}; use one of {}",
            SUPPORTED_DRIVERS.join(", ")
        ));
    }
    Err(format!("unknown storage driver {driver:?}; use one of {}", SUPPORTED_DRIVERS.join(", ")))
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
    fn the_running_driver_is_kept_when_known() {
        let mut running = facts("btrfs", false, false);
        assert_eq!(driver_to_keep(&running), None);
        running.storage_driver_in_use = Some("btrfs".into());
        assert_eq!(driver_to_keep(&running).as_deref(), Some("btrfs"));
        running.storage_driver_in_use = Some("overlayfs".into());
        assert_eq!(driver_to_keep(&running), None, "a containerd snapshotter is not a graph driver");
    }
}
