//! The machine's QEMU process, found through the lock QEMU holds on its `-pidfile` for as long as
//! it runs: `fcntl(F_GETLK)` names the holder's PID. Unlike the PID written in the file, this is
//! safe against PID reuse and against a host that rebooted (no process holds the lock then).
//! Also signals and waiting for the holder to go away.

use nix::fcntl::{FcntlArg, fcntl};
use nix::libc;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::Path;
use std::time::{Duration, Instant};

/// The PID of the process holding a write lock on `pidfile`; `None` when nobody does (or the file
/// does not exist).
pub fn lock_holder(pidfile: &Path) -> std::io::Result<Option<i32>> {
    let file = match std::fs::File::open(pidfile) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    // l_len 0 from offset 0: the whole file.
    let mut query = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    fcntl(&file, FcntlArg::F_GETLK(&mut query)).map_err(std::io::Error::from)?;
    if query.l_type == libc::F_UNLCK as libc::c_short {
        return Ok(None);
    }
    // An open-file-description lock reports no PID (-1); QEMU takes a classic one.
    Ok(Some(query.l_pid).filter(|pid| *pid > 0))
}

/// Waits up to `deadline` for the pidfile's lock to be released; whether it was.
pub async fn wait_released(pidfile: &Path, deadline: Duration) -> bool {
    let started = Instant::now();
    loop {
        if matches!(lock_holder(pidfile), Ok(None)) {
            return true;
        }
        if started.elapsed() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends SIGKILL to `pid`; a process already gone is not an error.
pub fn force_kill(pid: i32) -> std::io::Result<()> {
    match kill(Pid::from_raw(pid), Signal::SIGKILL) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(errno) => Err(std::io::Error::from(errno)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_of_the_lock_is_found_and_a_released_lock_has_none() {
        let folder = tempfile::tempdir().unwrap();
        let pidfile = folder.path().join("qemu.pid");
        assert_eq!(lock_holder(&pidfile).unwrap(), None, "no file: no holder");
        std::fs::write(&pidfile, "999999\n").unwrap();
        assert_eq!(lock_holder(&pidfile).unwrap(), None, "a stale PID in the file is not a holder");
        // Another process takes a classic POSIX lock as QEMU does (F_GETLK does not report our own).
        let mut holder = std::process::Command::new("python3")
            .args([
                "-c",
                "import fcntl,sys,time; f=open(sys.argv[1],'w'); fcntl.lockf(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)",
            ])
            .arg(&pidfile)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()), &mut line).unwrap();
        assert_eq!(line.trim(), "locked");
        assert_eq!(lock_holder(&pidfile).unwrap(), Some(holder.id() as i32));
        force_kill(holder.id() as i32).unwrap();
        holder.wait().unwrap();
        assert_eq!(lock_holder(&pidfile).unwrap(), None, "the lock dies with its holder");
    }
}
