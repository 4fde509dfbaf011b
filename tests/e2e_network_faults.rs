//! End to end: the link between rmachine and the host fails at several points of provisioning,
//! as rmachine runs: dropped (iptables DROP of SSH and the engine port in the host's namespace:
//! silence, found by keepalives and timeouts) or reset (sshd's session killed, new connections
//! refused: found at once). Points: detection, the engine install (apt goes on by itself),
//! writing the files, during the engine restart, right after it (the host's rollback watchdog
//! must put the previous configuration back on its own: the host ends with a working engine
//! running the previous configuration), and during the check. Each time rmachine must end
//! (never hang) within its timeouts, non-zero, naming the step that failed and why; the host's
//! files are whole; and once the link is back, `provision` converges to a verified engine with
//! the new configuration. Prints `figure: network faults injected N, survived N`. Hosts
//! c-net-install, c-net-restart, c-net-after at 10.211.0.223-225 (tests/testbed); needs root.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What rmachine waits for the engine (and its restart) here: the watchdog's deadlines follow.
const ENGINE_TIMEOUT: &str = "20";
/// The longest rmachine may take to report a lost link: the engine timeout, the keepalives
/// (4 × 15 s) and room for a loaded machine.
const REPORT_LIMIT: Duration = Duration::from_secs(150);
/// How long the host's watchdog may take to act: its deadline after the last step rmachine
/// reached (the engine timeout + 30 s, or 120 s for the check), plus the restart.
const WATCHDOG_LIMIT: Duration = Duration::from_secs(180);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Packets to SSH and the engine port vanish.
    Drop,
    /// rmachine's SSH session is killed and new connections are refused.
    Reset,
}

/// One host, its machine and the faults tried on it.
struct Link {
    store: PathBuf,
    key: PathBuf,
    host: TestHost,
    name: &'static str,
    injected: usize,
    failures: Vec<String>,
    report_times: Vec<Duration>,
}

impl Link {
    fn new(folder: &Path, host_name: &str, ip: &str, name: &'static str) -> Link {
        let (key, public_key) = ssh_keypair(&folder.join("keys"));
        let host = TestHost::start(host_name, ip, &public_key, false);
        // A chain of our own in the host's INPUT, emptied to bring the link back.
        on_host(&host, "iptables -N rmt-fault && iptables -I INPUT -j rmt-fault");
        Link {
            store: folder.join("store"),
            key,
            host,
            name,
            injected: 0,
            failures: Vec::new(),
            report_times: Vec::new(),
        }
    }

    fn provision_arguments(&self) -> Vec<String> {
        ["provision", "--engine-timeout", ENGINE_TIMEOUT, self.name].iter().map(|word| word.to_string()).collect()
    }

    fn cut(&self, fault: Fault) {
        match fault {
            Fault::Drop => {
                on_host(
                    &self.host,
                    "iptables -A rmt-fault -p tcp --dport 22 -j DROP; iptables -A rmt-fault -p tcp --dport 2376 -j DROP",
                );
            }
            Fault::Reset => {
                on_host(
                    &self.host,
                    "iptables -A rmt-fault -p tcp --dport 22 -j REJECT --reject-with tcp-reset; pkill -KILL -f '^sshd: [a-z]+@notty' || true",
                );
            }
        }
    }

    fn restore_link(&self) {
        on_host(&self.host, "iptables -F rmt-fault");
    }

    /// Runs rmachine with `arguments`, cuts the link with `fault` at `line` (after `delay`), and
    /// checks the report: non-zero, within REPORT_LIMIT, naming `step` (a part of the message)
    /// and why (the lost connection).
    fn fail_at(
        &mut self,
        arguments: &[String],
        line: &str,
        delay: Duration,
        fault: Fault,
        step: &str,
    ) -> Result<String, String> {
        self.injected += 1;
        let words: Vec<&str> = arguments.iter().map(String::as_str).collect();
        let mut run = Watched::start(&self.store, &words);
        if !run.wait_for_line(line, Duration::from_secs(300)) {
            let ended = run.finish(Duration::from_secs(30));
            return Err(format!("it never printed {line:?}:\n{}", ended.stderr()));
        }
        std::thread::sleep(delay);
        self.cut(fault);
        let cut_at = Instant::now();
        let ended = run.finish(REPORT_LIMIT + Duration::from_secs(30));
        let took = cut_at.elapsed();
        self.report_times.push(took);
        let stderr = ended.stderr();
        eprintln!(
            "after {took:?}: {}",
            stderr.lines().rfind(|line| line.starts_with("error:")).unwrap_or("(no error line)")
        );
        ensure(!ended.status.success(), || format!("it succeeded with the link cut:\n{stderr}"))?;
        ensure(took < REPORT_LIMIT, || format!("it took {took:?} to report:\n{stderr}"))?;
        ensure(stderr.contains(step), || format!("the report does not name {step:?}:\n{stderr}"))?;
        let why = ["keepalives", "did not answer /version over TLS"];
        ensure(why.iter().any(|reason| stderr.contains(reason)), || format!("the report does not say why:\n{stderr}"))?;
        let listed = rmachine(&self.store, &["ls", "--format", "{{.Name}} {{.State}} {{.Error}}"]);
        ensure(listed.status.success(), || format!("ls failed: {}", text(&listed.stderr)))?;
        Ok(stderr)
    }

    /// Brings the link back, checks the host's files and provisions: a verified engine with `label`.
    fn recover(&self, label: &str) -> Result<(), String> {
        self.restore_link();
        wait_for_remote_scripts(&self.host, Duration::from_secs(120))?;
        files_are_whole(&self.host)?;
        let done = rmachine(&self.store, &self.provision_arguments().iter().map(String::as_str).collect::<Vec<_>>());
        ensure(done.status.success(), || format!("provision after the fault failed: {}", text(&done.stderr)))?;
        let info =
            with_env(&self.store, self.name, "docker info --format '{{json .Labels}}|{{json .SecurityOptions}}'");
        let shown = text(&info.stdout);
        ensure(shown.contains("name=userns") && shown.contains(label), || {
            format!("after the recovery the engine shows {shown}")
        })
    }

    fn record(&mut self, title: &str, result: Result<(), String>) {
        match result {
            Ok(()) => eprintln!("network fault survived: {title}"),
            Err(problem) => {
                eprintln!("network fault FAILED: {title}: {problem}");
                self.failures.push(format!("{title}: {problem}"));
            }
        }
    }

    /// Waits until the host's own watchdog has put the previous configuration back: the engine
    /// runs and shows `previous`, not `abandoned`.
    fn host_rolled_back(&self, previous: &str, abandoned: &str) -> Result<(), String> {
        wait_for_engine_state(&self.host, WATCHDOG_LIMIT, |state| {
            state.contains(previous) && !state.contains(abandoned)
        })?;
        let log = rollback_log(&self.host);
        ensure(
            log.contains("not confirmed by its deadline") && log.contains("restored /etc/docker/daemon.json"),
            || format!("the engine is back but the watchdog's log does not say it restored: {log}"),
        )?;
        ensure(engine_pid(&self.host) != "0", || "docker.service does not run".into())
    }
}

/// A bare host: the link drops during detection (create), resets during apt (provision), then
/// drops while the files are written.
fn install_faults(folder: &Path) -> Link {
    let mut link = Link::new(folder, "c-net-install", "10.211.0.223", "net-install");
    let create = generic_create_arguments(&link.host.ip, &link.key, ENGINE_TIMEOUT, link.name);
    let result = link
        .fail_at(&create, "detecting the OS", Duration::ZERO, Fault::Drop, "creating machine 'net-install' failed")
        .map(drop);
    link.record("create, link dropped at detection", result);
    link.restore_link();
    let provision = link.provision_arguments();
    let result = link
        .fail_at(
            &provision,
            "installing docker.io",
            Duration::from_secs(3),
            Fault::Reset,
            "could not run apt install docker.io",
        )
        .and_then(|_| link.recover("provider=generic"));
    link.record("provision, link reset during the engine install", result);

    set_engine_labels(&link.store, link.name, &["generation=1"]);
    let result = link
        .fail_at(
            &provision,
            "writing /etc/docker",
            Duration::ZERO,
            Fault::Drop,
            "provisioning machine 'net-install' failed",
        )
        .and_then(|_| link.recover("generation=1"));
    link.record("provision, link dropped while writing the files", result);
    link
}

impl Link {
    /// A host with a machine created on it (a verified engine), labels changed to "generation=1".
    fn provisioned(folder: &Path, host_name: &str, ip: &str, name: &'static str) -> Link {
        let link = Link::new(folder, host_name, ip, name);
        let create = generic_create_arguments(&link.host.ip, &link.key, ENGINE_TIMEOUT, link.name);
        succeeds("create", rmachine(&link.store, &create.iter().map(String::as_str).collect::<Vec<_>>()));
        set_engine_labels(&link.store, link.name, &["generation=1"]);
        link
    }

    /// Provisions "generation=1", drops the link at `line` (after `delay`), checks the report
    /// says the host restores by itself and that it does, then recovers.
    fn dropped_and_rolled_back_by_the_host(&mut self, line: &str, delay: Duration) -> Result<(), String> {
        let step = format!("provisioning machine '{}' failed", self.name);
        let stderr = self.fail_at(&self.provision_arguments(), line, delay, Fault::Drop, &step)?;
        ensure(stderr.contains("so the host does: its rollback watchdog"), || {
            format!("the report does not say the host restores: {stderr}")
        })?;
        self.host_rolled_back("provider=generic", "generation=1")?;
        self.recover("generation=1")
    }
}

/// A provisioned host: the link drops during the restart (the host's watchdog must restore the
/// previous configuration by itself).
fn restart_faults(folder: &Path) -> Link {
    let mut link = Link::provisioned(folder, "c-net-restart", "10.211.0.224", "net-restart");
    let result = link.dropped_and_rolled_back_by_the_host("restarting docker", Duration::from_millis(100));
    link.record("provision, link dropped during the engine restart", result);
    link
}

/// A provisioned host: the link drops right after the restart (the watchdog restores), then is
/// reset during the check.
fn after_restart_faults(folder: &Path) -> Link {
    let mut link = Link::provisioned(folder, "c-net-after", "10.211.0.225", "net-after");
    let result = link.dropped_and_rolled_back_by_the_host("waiting for the engine", Duration::ZERO);
    link.record("provision, link dropped right after the engine restart", result);

    set_engine_labels(&link.store, link.name, &["generation=2"]);
    let result = link
        .fail_at(
            &link.provision_arguments(),
            "checking what the engine runs",
            Duration::ZERO,
            Fault::Reset,
            "checking the running engine (verify-engine.sh)",
        )
        .and_then(|_| {
            ensure(engine_pid(&link.host) != "0", || "the engine does not run after the reset".into())?;
            link.recover("generation=2")
        });
    link.record("provision, link reset during the engine check", result);
    link
}

#[test]
fn a_lost_link_is_reported_in_time_the_host_keeps_a_working_engine_and_provision_converges() {
    let folder = tempfile::tempdir().unwrap();
    let folders = [folder.path().join("install"), folder.path().join("restart"), folder.path().join("after")];
    let [install, restart, after] = folders.clone();
    let installing = std::thread::spawn(move || install_faults(&install));
    let restarting = std::thread::spawn(move || restart_faults(&restart));
    let links = [after_restart_faults(&after), installing.join().expect("ran"), restarting.join().expect("ran")];

    let injected: usize = links.iter().map(|link| link.injected).sum();
    let failures: Vec<&String> = links.iter().flat_map(|link| &link.failures).collect();
    println!("figure: network faults injected {injected}, survived {}", injected - failures.len());
    if let Some(slowest) = links.iter().flat_map(|link| link.report_times.clone()).max() {
        println!("figure: slowest report of a lost link {:.1} s", slowest.as_secs_f64());
    }
    assert!(failures.is_empty(), "{} of {injected} network faults failed:\n{}", failures.len(), {
        let lines: Vec<&str> = failures.iter().map(|failure| failure.as_str()).collect();
        lines.join("\n")
    });
}
