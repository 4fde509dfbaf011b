//! The boot watchdog: while the core waits for a booting guest (a create for its SSH, a start for
//! its engine), a guest whose serial console has stayed silent for `--qemu-boot-stall-timeout`
//! seconds before any login prompt, with QEMU running it, is stuck rather than slow (TCG guests
//! with several vCPUs now and then hang in early boot, bringing up their second CPU): it is reset
//! (QMP `system_reset`) once. A slow boot keeps printing; a guest QEMU paused (a disk error) is
//! left as it is, for the hint to name.

use crate::QemuMachine;
use crate::qmp;
use crate::settings::SERIAL_LOG;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

/// Resets a machine gets per rmachine run: one. A guest stuck twice has another problem.
const RESETS: u32 = 1;
const QMP_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether a guest whose console says `console` and was last written `silent_for` ago is stuck.
pub fn boot_is_stuck(console: &str, silent_for: Duration, stall_timeout: Duration) -> bool {
    !stall_timeout.is_zero() && silent_for >= stall_timeout && !console.contains(" login:")
}

/// Resets the guest when its boot is stuck (at most [`RESETS`] times) and says what it did.
pub async fn watch(machine: &QemuMachine) -> Option<String> {
    let stall_timeout = Duration::from_secs(machine.config.boot_stall_timeout);
    if stall_timeout.is_zero() || machine.boot_resets.load(Ordering::SeqCst) >= RESETS {
        return None;
    }
    let serial = machine.file(SERIAL_LOG)?;
    let silent_for = silence(&serial)?;
    let console = String::from_utf8_lossy(&std::fs::read(&serial).ok()?).into_owned();
    if !boot_is_stuck(&console, silent_for, stall_timeout) {
        return None;
    }
    let socket = machine.config.created.qmp_socket.as_deref()?;
    // Only a running guest is reset: a paused one (io-error: a full disk) would stay paused.
    if qmp::query_status(socket, QMP_TIMEOUT).await.ok()? != "running" {
        return None;
    }
    machine.boot_resets.fetch_add(1, Ordering::SeqCst);
    let done = match qmp::run(socket, "system_reset", QMP_TIMEOUT).await {
        Ok(_) => "reset it (QMP system_reset), once".to_string(),
        Err(error) => format!("could not reset it: {error}"),
    };
    Some(format!(
        "the guest's serial console ({}) has been silent for {}s with no login prompt: its boot looks stuck (--qemu-boot-stall-timeout); {done}",
        serial.display(),
        silent_for.as_secs()
    ))
}

/// What the hint adds once the watchdog reset the guest.
pub fn reset_note(machine: &QemuMachine) -> Option<String> {
    (machine.boot_resets.load(Ordering::SeqCst) > 0).then(|| {
        format!(
            "rmachine reset the guest once after its console had been silent for {}s before a login prompt (a stuck boot); it did not come up after that either.",
            machine.config.boot_stall_timeout
        )
    })
}

/// How long ago the console was last written.
fn silence(serial: &Path) -> Option<Duration> {
    let modified = std::fs::metadata(serial).ok()?.modified().ok()?;
    Some(SystemTime::now().duration_since(modified).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_silent_console_with_no_login_prompt_is_a_stuck_boot() {
        let minutes = |count: u64| Duration::from_secs(60 * count);
        let early = "SeaBIOS (version 1.16.3)\nBooting from Hard Disk...\n[    0.74] x86: Booting SMP configuration:\n";
        assert!(boot_is_stuck(early, minutes(4), minutes(3)));
        assert!(boot_is_stuck("", minutes(3), minutes(3)), "a console that never printed is stuck too");
        assert!(!boot_is_stuck(early, minutes(2), minutes(3)), "still printing: slow, not stuck");
        let booted = "Debian GNU/Linux 12 dev ttyS0\n\ndev login: ";
        assert!(!boot_is_stuck(booted, minutes(30), minutes(3)), "booted: SSH is another matter");
        assert!(!boot_is_stuck(early, minutes(30), Duration::ZERO), "0 turns the watchdog off");
    }

    #[test]
    fn silence_is_measured_from_the_last_write() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("serial.log");
        std::fs::write(&path, "x").unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(300)).unwrap();
        let silent = silence(&path).unwrap();
        assert!(silent >= Duration::from_secs(299) && silent < Duration::from_secs(400), "{silent:?}");
        assert_eq!(silence(&folder.path().join("missing")), None);
    }
}
