//! End to end: rmachine killed at many points of a `create` and of a `provision` on bare Debian 12
//! hosts (no Docker, `--engine-userns-remap default`: the slow path), each point chosen from the
//! progress lines rmachine prints (and, for the long phases, a moment into them), with SIGKILL,
//! SIGINT and SIGTERM. After every stop: the remote scripts finish by themselves and leave no
//! half-written file, `ls` lists cleanly, and for SIGINT/SIGTERM rmachine ended within
//! `GRACEFUL_STOP` with the signal's exit code, saying where it stopped and how to go on
//! (`rmachine provision NAME`, `rmachine rm NAME`). Then `rm -f` cleans up (create), and from the
//! engine's install on every stop is followed by a `create` or `provision` that must converge to
//! a verified engine (before it, the next attempt is the recovery: a converging create would
//! install the engine and end the slow path). The provision sequence changes an engine label
//! before each attempt and checks the label is what the engine runs after the recovery; a stop at
//! "restarting docker" lands between writing the files and restarting the engine, the hole a
//! "pending restart" now closes: it must be reached at least once and recovered from.
//! Prints `figure: crash-points survived N of M`. Hosts c-crash-create and c-crash-provision at
//! 10.211.0.221-222 (tests/testbed); needs root.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a point's line may take to appear (the install with apt takes a minute).
const LINE_LIMIT: Duration = Duration::from_secs(300);
/// How soon rmachine must end after SIGINT or SIGTERM.
const GRACEFUL_STOP: Duration = Duration::from_secs(3);
/// What each sequence's creates and provisions wait for the engine.
const ENGINE_TIMEOUT: &str = "60";

/// When, after its line, the signal goes.
#[derive(Clone, Copy)]
enum After {
    Line,
    Delay(Duration),
    /// Once this pattern (`pgrep -f`) runs on the host, plus a delay.
    HostRuns(&'static str, Duration),
}

#[derive(Clone, Copy)]
struct Point {
    line: &'static str,
    after: After,
}

const fn at(line: &'static str) -> Point {
    Point { line, after: After::Line }
}

const fn into(line: &'static str, milliseconds: u64) -> Point {
    Point { line, after: After::Delay(Duration::from_millis(milliseconds)) }
}

/// During `apt-get install docker.io` itself (before it, apt-get update runs, and an orphaned
/// update dies printing into the closed channel).
const DURING_APT_INSTALL: Point = Point {
    line: "installing docker.io",
    after: After::HostRuns("^apt-get .* install -y docker[.]io", Duration::from_secs(3)),
};
const WAITING_FOR_APT: Point = at("waiting for another package manager run");

/// The points after the engine is installed, each with every signal.
const CONFIGURATION_POINTS: [Point; 5] = [
    at("writing /etc/docker"),
    at("restarting docker"),
    into("restarting docker", 400),
    at("waiting for the engine"),
    at("checking what the engine runs"),
];

/// One sequence of attempts against one host, with what survived.
struct Sequence {
    store: PathBuf,
    key: PathBuf,
    host: TestHost,
    tried: usize,
    failures: Vec<String>,
    graceful_stops: Vec<Duration>,
    /// Stops that left the new files on the host with the engine still on the old ones.
    pending_restarts_reached: usize,
}

impl Sequence {
    fn new(folder: &Path, host_name: &str, ip: &str) -> Sequence {
        let (key, public_key) = ssh_keypair(&folder.join("keys"));
        let host = TestHost::start(host_name, ip, &public_key, false);
        Sequence {
            store: folder.join("store"),
            key,
            host,
            tried: 0,
            failures: Vec::new(),
            graceful_stops: Vec::new(),
            pending_restarts_reached: 0,
        }
    }

    fn record(&mut self, label: &str, result: Result<(), String>) {
        self.tried += 1;
        match result {
            Ok(()) => eprintln!("crash point survived: {label}"),
            Err(problem) => {
                eprintln!("crash point FAILED: {label}: {problem}");
                self.failures.push(format!("{label}: {problem}"));
            }
        }
    }

    /// Runs rmachine with `arguments`, stops it with `kill` at `point`, and checks what every
    /// stop must leave: a clean exit for a graceful stop, no half-written file, a clean `ls`.
    fn stop_at(&mut self, arguments: &[String], point: Point, kill: Stop, name: &str) -> Result<(), String> {
        let words: Vec<&str> = arguments.iter().map(String::as_str).collect();
        let mut run = Watched::start(&self.store, &words);
        if !run.wait_for_line(point.line, LINE_LIMIT) {
            let ended = run.finish(Duration::from_secs(30));
            return Err(format!("it never printed {:?}:\n{}", point.line, ended.stderr()));
        }
        match point.after {
            After::Line => {}
            After::Delay(delay) => std::thread::sleep(delay),
            After::HostRuns(pattern, delay) => {
                let started = Instant::now();
                while on_host(&self.host, &format!("pgrep -f '{pattern}' || true")).trim().is_empty() {
                    ensure(started.elapsed() < Duration::from_secs(120), || {
                        format!("{pattern} never ran on the host")
                    })?;
                    std::thread::sleep(Duration::from_millis(100));
                }
                std::thread::sleep(delay);
            }
        }
        run.signal(kill);
        let ended = run.finish(Duration::from_secs(30));
        if let Some(code) = kill.graceful_exit_code() {
            let stderr = ended.stderr();
            ensure(ended.status.code() == Some(code), || format!("exit {:?}, not {code}:\n{stderr}", ended.status))?;
            ensure(ended.took < GRACEFUL_STOP, || format!("it took {:?} to stop:\n{stderr}", ended.took))?;
            self.graceful_stops.push(ended.took);
            let signal = if kill == Stop::Interrupt { "SIGINT (Ctrl-C)" } else { "SIGTERM" };
            ensure(stderr.contains(&format!("was interrupted by {signal} while ")), || {
                format!("no 'was interrupted by {signal}':\n{stderr}")
            })?;
            let resumable = stderr.contains(&format!("'rmachine provision {name}' goes on from here"))
                && stderr.contains(&format!("'rmachine rm {name}' removes the machine"));
            ensure(resumable || stderr.contains("nothing was left behind"), || format!("no way on given:\n{stderr}"))?;
        }
        wait_for_remote_scripts(&self.host, Duration::from_secs(120))?;
        files_are_whole(&self.host)?;
        let listed = rmachine(&self.store, &["ls", "--format", "{{.Name}} {{.State}} {{.Error}}"]);
        ensure(listed.status.success(), || format!("ls failed: {}", text(&listed.stderr)))?;
        Ok(())
    }

    /// `rm -f -y NAME` and the machine is gone from the store; a create stopped before it
    /// touched the host removed it itself ("nothing was left behind"): it must be gone already.
    fn remove(&self, name: &str) -> Result<(), String> {
        let listed = text(&rmachine(&self.store, &["ls", "-q"]).stdout);
        if !listed.lines().any(|line| line == name) {
            return ensure(!self.store.join("machines").join(name).exists(), || {
                format!("{name} is not listed but its folder is left in the store")
            });
        }
        let removed = rmachine(&self.store, &["rm", "-f", "-y", name]);
        ensure(removed.status.success(), || format!("rm -f failed: {}", text(&removed.stderr)))?;
        let listed = text(&rmachine(&self.store, &["ls", "-q"]).stdout);
        ensure(!listed.lines().any(|line| line == name), || format!("rm -f left {name} listed"))?;
        ensure(!self.store.join("machines").join(name).exists(), || format!("rm -f left the folder of {name}"))
    }

    /// The engine answers over TLS as the store's client and runs with userns-remap and `label`.
    fn engine_verified(&self, name: &str, label: &str) -> Result<(), String> {
        let info = with_env(&self.store, name, "docker info --format '{{json .Labels}}|{{json .SecurityOptions}}'");
        let shown = text(&info.stdout);
        ensure(info.status.success(), || format!("docker info over TLS failed: {}", text(&info.stderr)))?;
        ensure(shown.contains("name=userns"), || format!("no userns-remap: {shown}"))?;
        ensure(shown.contains(label), || format!("the engine does not run {label}: {shown}"))
    }

    fn converges(&self, arguments: &[String], name: &str, label: &str) -> Result<(), String> {
        let words: Vec<&str> = arguments.iter().map(String::as_str).collect();
        let done = rmachine(&self.store, &words);
        ensure(done.status.success(), || format!("the recovery {} failed: {}", words[0], text(&done.stderr)))?;
        self.engine_verified(name, label)
    }
}

/// Kills creates (a new machine name each time, so every create goes through every phase) and
/// removes each with `rm -f`; from the install on, a converging create follows every kill.
fn create_sequence(folder: &Path) -> Sequence {
    let mut sequence = Sequence::new(folder, "c-crash-create", "10.211.0.221");
    let mut number = 0;
    let mut next_name = || {
        number += 1;
        format!("crash-{number}")
    };
    let mut points = Vec::new();
    for line in ["creating the host", "waiting for SSH", "detecting the OS", "setting the hostname"] {
        points.extend(Stop::all().map(|kill| (at(line), kill)));
    }
    points.push((DURING_APT_INSTALL, Stop::Kill));
    points.push((WAITING_FOR_APT, Stop::Interrupt));
    points.push((WAITING_FOR_APT, Stop::Terminate));
    for (point, kill) in points {
        let name = next_name();
        let label = format!("create {name} {} at {:?}", kill.name(), point.line);
        let arguments = generic_create_arguments(&sequence.host.ip, &sequence.key, ENGINE_TIMEOUT, &name);
        let result = sequence.stop_at(&arguments, point, kill, &name).and_then(|()| sequence.remove(&name));
        sequence.record(&label, result);
    }
    for point in CONFIGURATION_POINTS {
        for kill in Stop::all() {
            let name = next_name();
            let label = format!("create {name} {} at {:?}{}", kill.name(), point.line, delay_text(point));
            let arguments = generic_create_arguments(&sequence.host.ip, &sequence.key, ENGINE_TIMEOUT, &name);
            let result = sequence.stop_at(&arguments, point, kill, &name).and_then(|()| sequence.remove(&name));
            let recovered = next_name();
            let result = result.and_then(|()| {
                let arguments = generic_create_arguments(&sequence.host.ip, &sequence.key, ENGINE_TIMEOUT, &recovered);
                sequence.converges(&arguments, &recovered, "provider=generic")?;
                succeeds("rm", rmachine(&sequence.store, &["rm", "-y", &recovered]));
                Ok(())
            });
            sequence.record(&label, result);
        }
    }
    sequence
}

fn delay_text(point: Point) -> String {
    match point.after {
        After::Delay(delay) => format!(" + {} ms", delay.as_millis()),
        _ => String::new(),
    }
}

/// Kills provisions of one machine whose create was stopped before the engine was installed;
/// from the install on, every kill is followed by a converging provision, each with a new label.
fn provision_sequence(folder: &Path) -> Sequence {
    let mut sequence = Sequence::new(folder, "c-crash-provision", "10.211.0.222");
    let name = "crashed";
    let create = generic_create_arguments(&sequence.host.ip, &sequence.key, ENGINE_TIMEOUT, name);
    let result = sequence.stop_at(&create, at("detecting the OS"), Stop::Terminate, name);
    sequence.record("create TERM at \"detecting the OS\" (the machine is kept)", result);
    let provision: Vec<String> =
        ["provision", "--engine-timeout", ENGINE_TIMEOUT, name].iter().map(|word| word.to_string()).collect();

    let mut points: Vec<(Point, Stop)> = Stop::all().map(|kill| (at("detecting the OS"), kill)).to_vec();
    points.push((DURING_APT_INSTALL, Stop::Kill));
    points.push((WAITING_FOR_APT, Stop::Interrupt));
    points.push((WAITING_FOR_APT, Stop::Terminate));
    for (point, kill) in points {
        let result = sequence.stop_at(&provision, point, kill, name);
        sequence.record(&format!("provision {} at {:?}", kill.name(), point.line), result);
    }
    let mut generation = 0;
    for point in CONFIGURATION_POINTS {
        for kill in Stop::all() {
            generation += 1;
            let label = format!("generation={generation}");
            set_engine_labels(&sequence.store, name, &[&label]);
            let title = format!("provision {} at {:?}{} ({label})", kill.name(), point.line, delay_text(point));
            let result = sequence.stop_at(&provision, point, kill, name).and_then(|()| {
                let written = on_host(&sequence.host, "cat /etc/docker/daemon.json 2>/dev/null").contains(&label);
                let running = engine_state(&sequence.host).contains(&label);
                if written && !running {
                    // The files are new, the engine still runs the old ones: the pending restart.
                    sequence.pending_restarts_reached += 1;
                    eprintln!("{title}: the new files are on the host, the engine runs the old ones");
                }
                sequence.converges(&provision, name, &label)
            });
            sequence.record(&title, result);
        }
    }
    sequence
}

#[test]
fn rmachine_stopped_at_every_phase_leaves_hosts_that_converge() {
    let folder = tempfile::tempdir().unwrap();
    let (create_folder, provision_folder) = (folder.path().join("create"), folder.path().join("provision"));
    let provisioning = std::thread::spawn(move || provision_sequence(&provision_folder));
    let creating = create_sequence(&create_folder);
    let provisioning = provisioning.join().expect("the provision sequence ran");

    let sequences = [&creating, &provisioning];
    let tried: usize = sequences.iter().map(|sequence| sequence.tried).sum();
    let failures: Vec<&String> = sequences.iter().flat_map(|sequence| &sequence.failures).collect();
    let stops: Vec<Duration> = sequences.iter().flat_map(|sequence| sequence.graceful_stops.clone()).collect();
    println!("figure: crash-points survived {} of {tried}", tried - failures.len());
    println!("figure: crash-points create {} of {}", creating.tried - creating.failures.len(), creating.tried);
    println!(
        "figure: crash-points provision {} of {}",
        provisioning.tried - provisioning.failures.len(),
        provisioning.tried
    );
    if let Some(slowest) = stops.iter().max() {
        println!("figure: slowest graceful stop {} ms of {} stops", slowest.as_millis(), stops.len());
    }
    println!("figure: pending restarts reached and recovered {}", provisioning.pending_restarts_reached);
    assert!(failures.is_empty(), "{} of {tried} crash points failed:\n{}", failures.len(), {
        let lines: Vec<&str> = failures.iter().map(|failure| failure.as_str()).collect();
        lines.join("\n")
    });
    assert!(
        provisioning.pending_restarts_reached > 0,
        "no stop left new files with the engine on the old ones: the pending restart was not tested"
    );
}
