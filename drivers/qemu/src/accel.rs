//! The accelerator: `kvm` when asked, `tcg` (emulation) when asked, and `auto` = KVM only when
//! `/dev/kvm` can be opened read-write AND the CPU advertises vmx or svm (some machines have a
//! `/dev/kvm` whose guests hang: their CPU flags show no virtualisation), else TCG with a note.

use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    Auto,
    Kvm,
    Tcg,
}

impl Accel {
    pub fn parse(text: &str) -> Result<Accel, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Accel::Auto),
            "kvm" => Ok(Accel::Kvm),
            "tcg" => Ok(Accel::Tcg),
            other => Err(format!("'{other}' is not an accelerator: use auto, kvm or tcg")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Accel::Auto => "auto",
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// What this machine offers for KVM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvmSupport {
    /// `/dev/kvm` opened read-write, or why not.
    pub device: Result<(), String>,
    /// The CPU flags list vmx (Intel) or svm (AMD).
    pub cpu_flags: bool,
}

impl KvmSupport {
    pub fn probe() -> KvmSupport {
        KvmSupport::probe_at(Path::new("/dev/kvm"), Path::new("/proc/cpuinfo"))
    }

    pub fn probe_at(device: &Path, cpuinfo: &Path) -> KvmSupport {
        let device = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(device)
            .map(drop)
            .map_err(|error| format!("{} cannot be opened read-write: {error}", device.display()));
        let flags = std::fs::read_to_string(cpuinfo).unwrap_or_default();
        let cpu_flags = flags
            .lines()
            .filter(|line| line.starts_with("flags"))
            .any(|line| line.split_whitespace().any(|flag| flag == "vmx" || flag == "svm"));
        KvmSupport { device, cpu_flags }
    }

    pub fn usable(&self) -> bool {
        self.device.is_ok() && self.cpu_flags
    }

    /// Why KVM is not used, for the note and for errors.
    pub fn problem(&self) -> Option<String> {
        match (&self.device, self.cpu_flags) {
            (Err(problem), _) => Some(problem.clone()),
            (Ok(()), false) => Some("the CPU flags in /proc/cpuinfo list neither vmx nor svm".into()),
            (Ok(()), true) => None,
        }
    }
}

/// The accelerator `requested` comes to here: KVM or TCG, and for `auto` falling back to TCG a
/// one-line note saying why.
pub fn resolve(requested: Accel, support: &KvmSupport) -> (Accel, Option<String>) {
    match requested {
        Accel::Kvm => (Accel::Kvm, None),
        Accel::Tcg => (Accel::Tcg, None),
        Accel::Auto if support.usable() => (Accel::Kvm, None),
        Accel::Auto => (
            Accel::Tcg,
            Some(format!(
                "no usable KVM ({}): using TCG emulation, which boots slowly (minutes); --qemu-accel kvm|tcg chooses",
                support.problem().unwrap_or_default()
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_takes_kvm_only_with_the_device_and_the_cpu_flags() {
        let folder = tempfile::tempdir().unwrap();
        let device = folder.path().join("kvm");
        let cpuinfo = folder.path().join("cpuinfo");
        std::fs::write(&device, "").unwrap();
        std::fs::write(&cpuinfo, "processor\t: 0\nflags\t\t: fpu vme de pse vmx sse\n").unwrap();
        let both = KvmSupport::probe_at(&device, &cpuinfo);
        assert_eq!(resolve(Accel::Auto, &both), (Accel::Kvm, None));
        std::fs::write(&cpuinfo, "flags\t\t: fpu vme de pse sse hypervisor\n").unwrap();
        let no_flags = KvmSupport::probe_at(&device, &cpuinfo);
        let (accel, note) = resolve(Accel::Auto, &no_flags);
        assert_eq!(accel, Accel::Tcg);
        assert!(note.unwrap().contains("neither vmx nor svm"));
        let no_device = KvmSupport::probe_at(&folder.path().join("missing"), &cpuinfo);
        assert!(resolve(Accel::Auto, &no_device).1.unwrap().contains("cannot be opened"));
        assert_eq!(resolve(Accel::Tcg, &both), (Accel::Tcg, None), "an explicit choice is kept");
        assert_eq!(resolve(Accel::Kvm, &no_device).0, Accel::Kvm);
        assert!(Accel::parse("hvf").unwrap_err().contains("auto, kvm or tcg"));
    }
}
