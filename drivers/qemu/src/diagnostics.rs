//! What to tell a user whose guest never answered SSH: the serial console's last lines and the
//! likely cause (nothing bootable, a kernel panic, QEMU gone, slow TCG emulation, KVM that hangs).

use crate::QemuMachine;
use crate::accel::{self, Accel, KvmSupport};
use crate::process::lock_holder;
use crate::settings::{PIDFILE, QEMU_LOG, SERIAL_LOG};
use std::path::Path;

/// Lines of the serial log shown.
const TAIL_LINES: usize = 25;

pub fn unreachable_hint(machine: &QemuMachine) -> String {
    let serial = machine.file(SERIAL_LOG);
    let log = serial.as_deref().map(read_console).unwrap_or_default();
    let running = machine.file(PIDFILE).is_some_and(|pidfile| matches!(lock_holder(&pidfile), Ok(Some(_))));
    let (accel, _) = accel::resolve(machine.config.accel, &KvmSupport::probe());
    let qemu_log = machine.file(QEMU_LOG).map(|path| crate::launch::log_text(&path)).unwrap_or_default();
    let mut hint = String::new();
    match &serial {
        Some(path) if log.trim().is_empty() => {
            hint.push_str(&format!("The guest wrote nothing to its serial console ({}).\n", path.display()))
        }
        Some(path) => {
            hint.push_str(&format!("The last lines of the guest's serial console ({}):\n", path.display()));
            for line in tail(&log, TAIL_LINES) {
                hint.push_str(&format!("  | {line}\n"));
            }
        }
        None => {}
    }
    if let Some(note) = crate::boot_watch::reset_note(machine) {
        hint.push_str(&note);
        hint.push('\n');
    }
    hint.push_str(&likely_cause(&log, running, accel, &qemu_log));
    hint
}

/// The console's text without terminal escapes and carriage returns.
fn read_console(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let mut clean = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ ... final byte; other escapes: ESC + one character
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for next in chars.by_ref() {
                        if next.is_ascii_alphabetic() {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\r' => {}
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => clean.push(c),
        }
    }
    clean
}

fn tail(text: &str, count: usize) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(count)..].to_vec()
}

fn likely_cause(log: &str, running: bool, accel: Accel, qemu_log: &str) -> String {
    if !running {
        let said = if qemu_log.is_empty() { String::new() } else { format!(" Its log says: {qemu_log}") };
        return format!("Likely cause: QEMU is no longer running (the guest powered off or QEMU crashed).{said}");
    }
    let firmware_gave_up =
        log.contains("No bootable device") || log.contains("EFI Internal Shell") || log.contains("Boot failed");
    if firmware_gave_up && !log.contains("Linux version") {
        return "Likely cause: the firmware found nothing bootable on the disk: --qemu-image must be a bootable disk image (qcow2 or raw) with a bootloader, such as a distribution's cloud image.".into();
    }
    if log.contains("Kernel panic") {
        return "Likely cause: the guest kernel panicked (see above): a broken image, or a wrong --qemu-append.".into();
    }
    if log.contains(" login:") {
        return "Likely cause: the guest booted but SSH did not answer: the image may lack cloud-init (NoCloud) or OpenSSH, or cloud-init failed (see above).".into();
    }
    match accel {
        Accel::Kvm => "Likely cause: the guest hangs or is slow under KVM (seen where the CPU does not expose vmx/svm): try --qemu-accel tcg.".into(),
        Accel::Tcg | Accel::Auto => "Likely cause: the guest is still booting: without KVM, QEMU emulates the CPU (TCG), and a first boot can take several minutes on a busy machine; give it longer with --ssh-timeout.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_go_and_the_tail_keeps_the_last_lines() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("serial.log");
        std::fs::write(&path, "\u{1b}c\u{1b}[?7l\u{1b}[2J\u{1b}[0mSeaBIOS (version 1.16.3)\r\nBooting from Hard Disk...\r\n\r\nNo bootable device.\r\n").unwrap();
        let text = read_console(&path);
        assert_eq!(tail(&text, 2), ["Booting from Hard Disk...", "No bootable device."]);
        assert_eq!(tail(&text, 10)[0], "SeaBIOS (version 1.16.3)");
    }

    #[test]
    fn the_likely_cause_follows_what_the_console_shows() {
        assert!(likely_cause("No bootable device.", true, Accel::Tcg, "").contains("nothing bootable"));
        let ovmf = "BdsDxe: failed to load Boot0001 \"UEFI Misc Device\"\nBdsDxe: starting Boot0002 \"EFI Internal Shell\"\nShell> ";
        assert!(likely_cause(ovmf, true, Accel::Tcg, "").contains("nothing bootable"));
        assert!(likely_cause("Kernel panic - not syncing: VFS", true, Accel::Tcg, "").contains("panicked"));
        assert!(likely_cause("Debian GNU/Linux 12 dev ttyS0\n\ndev login: ", true, Accel::Tcg, "").contains("booted"));
        assert!(likely_cause("[    1.0] Linux version 6.1", true, Accel::Kvm, "").contains("--qemu-accel tcg"));
        assert!(likely_cause("[    1.0] Linux version 6.1", true, Accel::Tcg, "").contains("TCG"));
        assert!(likely_cause("", false, Accel::Tcg, "qemu: terminating on signal 9").contains("signal 9"));
    }
}
