//! Hostile and broken input across every command, without a host: one table of cases (machine
//! names, flags and their values, URLs, cluster files, `ls`/`inspect` templates and filters,
//! shells, store paths, a closed stderr). Each case must fail with a non-zero exit code and a
//! message that names the problem, and leave the store exactly as it was (every file, byte for
//! byte). Prints `figure: hostile inputs tried N`. The cases that need a host (engine options with
//! shell syntax reaching daemon.json as data, noisy sudo, slow SSH) are in
//! `tests/e2e_hostile_input.rs`; os-release and daemon.json contents in `provision/`.

mod common;

use common::{rmachine_command, text};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// One bad input: the command line, the environment it adds, and what the message must say.
struct Case {
    what: String,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    says: String,
    /// The exit code, when a specific one is promised (2: clap's usage error, 3: pre-create check).
    code: Option<i32>,
}

fn case(what: &str, args: &[&str], says: &str) -> Case {
    Case {
        what: what.to_string(),
        args: args.iter().map(|word| word.to_string()).collect(),
        env: Vec::new(),
        says: says.to_string(),
        code: None,
    }
}

impl Case {
    fn code(mut self, code: i32) -> Case {
        self.code = Some(code);
        self
    }

    fn env(mut self, name: &'static str, value: &str) -> Case {
        self.env.push((name, value.to_string()));
        self
    }
}

/// Every file under `root` with its bytes (folders as empty entries).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut files = BTreeMap::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(root).unwrap().to_path_buf();
            if path.is_dir() {
                folders.push(path);
                files.insert(relative, None);
            } else {
                files.insert(relative, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    files
}

/// Files the cases read: keys that are not keys, cluster files that are not cluster files.
struct Fixtures {
    folder: PathBuf,
}

impl Fixtures {
    fn new(folder: &Path) -> Fixtures {
        let folder = folder.join("fixtures");
        std::fs::create_dir_all(folder.join("a-folder")).unwrap();
        let files: &[(&str, &[u8])] = &[
            ("garbage.key", b"this is not a key\n"),
            ("id.pub", b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx0 someone@example\n"),
            ("tabs.yaml", b"machines:\n\t- name: a\n"),
            ("unknown.yaml", b"machines:\n  - name: a\n    bogus: 1\n"),
            ("bad-name.yaml", b"machines:\n  - name: \"bad name\"\n    driver: none\n"),
            (
                "duplicate.yaml",
                b"defaults: {driver: none, none: {url: \"tcp://10.0.0.1:2376\"}}\nmachines:\n  - name: a\n  - name: a\n",
            ),
            ("binary.yaml", &[0xff, 0xfe, 0x00, 0x9f, 0x92, 0x96, 0xc3, 0x28, 0x0a]),
            ("empty.yaml", b""),
            ("bad-option.yaml", b"defaults: {driver: none}\nmachines:\n  - name: a\n    none: {url: \"tcp://10.0.0.1:2376\", color: red}\n"),
            ("bad-type.yaml", b"machines:\n  - name: a\n    driver: generic\n    generic: {ip-address: 10.0.0.1}\n    engine: {labels: notalist}\n"),
            (
                "option-injection.yaml",
                b"machines:\n  - name: a\n    driver: generic\n    generic: {ip-address: 10.0.0.1, ssh-user: \"-oProxyCommand=touch /tmp/rmachine-pwned\"}\n",
            ),
            ("not-yaml.yaml", b"{{{{ [[[[ ::::"),
        ];
        for (name, contents) in files {
            std::fs::write(folder.join(name), contents).unwrap();
        }
        // An alias bomb: nine levels of nine aliases (9^9 strings) where one string is expected.
        let mut bomb = String::from(
            "name: bomb\nmachines:\n  - name: a0\n    driver: generic\n    generic: {ip-address: 10.0.0.1, ssh-user: &l0 [x, x, x, x, x, x, x, x, x]}\n",
        );
        for level in 1..9 {
            let aliases = vec![format!("*l{}", level - 1); 9].join(", ");
            bomb.push_str(&format!(
                "  - name: a{level}\n    driver: generic\n    generic: {{ip-address: 10.0.0.1, ssh-user: &l{level} [{aliases}]}}\n"
            ));
        }
        std::fs::write(folder.join("bomb.yaml"), bomb).unwrap();
        Fixtures { folder }
    }

    fn path(&self, name: &str) -> String {
        self.folder.join(name).to_string_lossy().into_owned()
    }
}

const URL: &str = "tcp://10.0.0.1:2376";

/// `create -d none --url URL EXTRA... NAME`.
fn create_none(what: &str, extra: &[&str], name: &str, says: &str) -> Case {
    let mut args = vec!["create", "-d", "none", "--url", URL];
    args.extend_from_slice(extra);
    args.push(name);
    case(what, &args, says)
}

/// `create -d generic --generic-ip-address 10.0.0.1 EXTRA... x` (no host is ever reached).
fn create_generic(what: &str, extra: &[&str], says: &str) -> Case {
    let mut args = vec!["create", "-d", "generic", "--generic-ip-address", "10.0.0.1"];
    args.extend_from_slice(extra);
    args.push("x");
    case(what, &args, says)
}

fn name_cases() -> Vec<Case> {
    let long = "n".repeat(300);
    let mut cases = vec![
        create_none("a name with a space", &[], "bad name", "invalid machine name 'bad name'"),
        create_none("a name with a path", &[], "../escape", "it contains a path separator"),
        create_none("an empty name", &[], "", "it is empty"),
        create_none("a 300-character name", &[], &long, "it is longer than 63 characters"),
        create_none("a name like a flag", &["--"], "-dash", "it must start with a letter or digit"),
        create_none("a name with a newline", &[], "a\nb", "invalid machine name 'a\\nb'"),
        create_none("a name with shell syntax", &[], "$(touch /tmp/rmachine-pwned)", "invalid machine name"),
        create_none("a name with a NUL-like escape", &[], "a\\0b", "invalid machine name"),
        create_none("the name of a machine that exists", &[], "keep", "machine 'keep' already exists"),
        case("rm of a machine that does not exist", &["rm", "-y", "nosuch"], "machine 'nosuch' does not exist"),
        case("inspect of a path", &["inspect", "../../etc/passwd"], "it contains a path separator"),
    ];
    let commands: &[&[&str]] = &[
        &["ip"],
        &["url"],
        &["status"],
        &["config"],
        &["version"],
        &["inspect"],
        &["env"],
        &["ssh"],
        &["provision"],
        &["upgrade"],
        &["regenerate-certs", "-y"],
        &["start"],
        &["stop"],
        &["restart"],
        &["kill"],
        &["use"],
        &["rm", "-y"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("x;rm -rf ~");
        let says = if command[0] == "rm" {
            "machine 'x;rm -rf ~' does not exist"
        } else {
            "invalid machine name 'x;rm -rf ~'"
        };
        cases.push(case(&format!("{} of a name with shell syntax", command[0]), &args, says));
    }
    cases
}

fn flag_cases(fixtures: &Fixtures) -> Vec<Case> {
    let (garbage, public, folder) = (fixtures.path("garbage.key"), fixtures.path("id.pub"), fixtures.path("a-folder"));
    vec![
        case("an unknown driver", &["create", "-d", "nosuchdriver", "x"], "unknown driver 'nosuchdriver'"),
        case("an unknown driver in MACHINE_DRIVER", &["create", "x"], "unknown driver 'nosuch'")
            .env("MACHINE_DRIVER", "nosuch"),
        case("generic without an address", &["create", "-d", "generic", "x"], "--generic-ip-address: is required")
            .code(3),
        create_generic("a port out of range", &["--generic-ssh-port", "99999"], "99999 is not a port number").code(2),
        create_generic("port 0", &["--generic-engine-port", "0"], "0 is not a port number").code(2),
        create_generic("a port that is a word", &["--generic-ssh-port", "abc"], "'abc' is not an integer").code(2),
        case(
            "an address with shell syntax",
            &["create", "-d", "generic", "--generic-ip-address", "1.2.3.4;id", "x"],
            "'1.2.3.4;id' is neither an IP address nor a host name",
        ),
        case(
            "an address that is an ssh option",
            &["create", "-d", "generic", "--generic-ip-address=-oProxyCommand=id", "x"],
            "'-oProxyCommand=id' is neither an IP address nor a host name",
        ),
        create_generic(
            "a user that is an ssh option",
            &["--generic-ssh-user=-oProxyCommand=id"],
            "must not start with '-'",
        ),
        create_generic("a user with shell syntax", &["--generic-ssh-user", "root;id"], "'root;id' is not a user name"),
        create_generic(
            "a key that does not exist",
            &["--generic-ssh-key", "/nonexistent/id"],
            "cannot read SSH key /nonexistent/id",
        )
        .code(3),
        create_generic("a key that is text", &["--generic-ssh-key", &garbage], "is not an SSH private key").code(3),
        create_generic(
            "a public key given as the key",
            &["--generic-ssh-key", &public],
            "give the private key, not the .pub file",
        )
        .code(3),
        create_generic("a folder given as the key", &["--generic-ssh-key", &folder], "is not a file").code(3),
        create_none(
            "a storage driver that is a path",
            &["--engine-storage-driver", "../x"],
            "x",
            "unknown storage driver \"../x\"",
        ),
        create_none(
            "userns-remap with shell syntax",
            &["--engine-userns-remap", "root;id"],
            "x",
            "must be 'default', USER, USER:GROUP or 'off'",
        ),
        create_none("a label without a value", &["--engine-label", "noequals"], "x", "must have the form KEY=VALUE"),
        create_none("a label with a newline", &["--engine-label", "a=b\nc=d"], "x", "must not hold control characters"),
        create_none("an option without a value", &["--engine-opt", "debug"], "x", "must have the form KEY=VALUE"),
        create_none(
            "an option with a newline",
            &["--engine-opt", "debug=true\n\"x\": 1"],
            "x",
            "must not hold control characters",
        ),
        create_none(
            "an environment variable without a value",
            &["--engine-env", "novalue"],
            "x",
            "must have the form KEY=VALUE",
        ),
        create_none(
            "an environment variable with a bad name",
            &["--engine-env", "1A=b"],
            "x",
            "is not a variable name",
        ),
        create_none(
            "an environment variable smuggling a unit line",
            &["--engine-env", "A=1\nExecStartPre=/bin/touch /tmp/rmachine-pwned"],
            "x",
            "must not hold control characters",
        ),
        create_none(
            "a registry mirror that is no URL",
            &["--engine-registry-mirror", "not a url"],
            "x",
            "must be a URL starting with https:// or http://",
        ),
        create_none(
            "an insecure registry with a space",
            &["--engine-insecure-registry", "a b"],
            "x",
            "must be HOST[:PORT] or a CIDR",
        ),
        create_none(
            "an engine version with shell syntax",
            &["--engine-version", "$(id)"],
            "x",
            "must look like 20.10.24 or 27.3",
        ),
        create_none(
            "an install URL that is no URL",
            &["--engine-install-url", "not a url"],
            "x",
            "must start with https:// or http://, or be 'none'",
        ),
        create_none(
            "a runtime with shell syntax",
            &["--engine-runtime", "evil;id"],
            "x",
            "is not one rmachine installs",
        ),
        create_none(
            "a runtime checksum that is no SHA-256",
            &[
                "--engine-runtime",
                "youki",
                "--engine-runtime-url",
                "https://example.com/y.tgz",
                "--engine-runtime-sha256",
                "xyz",
            ],
            "x",
            "must be 64 hex digits",
        ),
        create_generic(
            "a runtime binary that does not exist",
            &["--engine-runtime", "youki", "--engine-runtime-binary", "/nonexistent/youki"],
            "cannot read the runtime binary /nonexistent/youki",
        ),
        create_none(
            "a transport that does not exist",
            &["--engine-transport", "pigeon"],
            "x",
            "invalid value 'pigeon'",
        )
        .code(2),
        create_none("a negative engine timeout", &["--engine-timeout", "-5"], "x", "unexpected argument '-5'").code(2),
        create_none("an SSH timeout that is a word", &["--ssh-timeout", "abc"], "x", "invalid value 'abc'").code(2),
        create_none("a certificate name with a space", &["--tls-san", "a b"], "x", "invalid --tls-san 'a b'"),
        create_none("a certificate name with shell syntax", &["--tls-san", "$(id)"], "x", "invalid --tls-san '$(id)'"),
        case("--parallel 0", &["provision", "--parallel", "0", "keep"], "'0' is not a number from 1 to 64").code(2),
        case("--parallel 65", &["provision", "--parallel", "65", "keep"], "'65' is not a number from 1 to 64").code(2),
        case("an ls timeout that is a word", &["ls", "-t", "abc"], "invalid value 'abc'").code(2),
    ]
}

fn url_cases() -> Vec<Case> {
    let url =
        |what: &str, url: &str, says: &str| case(what, &["create", "-d", "none", "--url", url, "x"], says).code(3);
    vec![
        url("a URL without a scheme", "not-a-url", "must look like tcp://HOST:PORT"),
        url("an http URL", "http://10.0.0.1:2376", "must look like tcp://HOST:PORT"),
        url("a port out of range", "tcp://10.0.0.1:99999", "'99999' in 'tcp://10.0.0.1:99999' is not a port number"),
        url("no host and no port", "tcp://", "has no port"),
        url("a host with a space", "tcp://a b:2376", "'a b' is neither an IP address nor a host name"),
        url("a host with shell syntax", "tcp://$(id):2376", "is neither an IP address nor a host name"),
        url("a path and a query", "tcp://10.0.0.1:2376/path?q", "is not a port number"),
    ]
}

fn cluster_cases(fixtures: &Fixtures) -> Vec<Case> {
    let apply =
        |what: &str, file: &str, says: &str| case(what, &["apply", "--dry-run", "-f", &fixtures.path(file)], says);
    vec![
        apply("a cluster file with tabs", "tabs.yaml", "tabs.yaml:2:1: found character that cannot start any token"),
        apply(
            "a cluster file with an unknown key",
            "unknown.yaml",
            "unknown.yaml:3:5: machines[0]: unknown field `bogus`",
        ),
        apply("a cluster file with a bad name", "bad-name.yaml", "invalid machine name 'bad name'"),
        apply("a cluster file declaring a machine twice", "duplicate.yaml", "machine 'a' is declared twice"),
        apply("a cluster file that is not UTF-8", "binary.yaml", "stream did not contain valid UTF-8"),
        apply("an empty cluster file", "empty.yaml", "missing field `machines`"),
        apply("a cluster file that is not YAML", "not-yaml.yaml", "not-yaml.yaml:1:"),
        apply("an alias bomb", "bomb.yaml", "invalid type: sequence, expected a string"),
        apply("an unknown driver option", "bad-option.yaml", "machines[0].none: unknown field `color`"),
        apply("a value of the wrong type", "bad-type.yaml", "invalid type: string \"notalist\", expected a sequence"),
        apply("an ssh option as the user", "option-injection.yaml", "must not start with '-'"),
        apply("a cluster file that does not exist", "missing.yaml", "cannot read the cluster file"),
        apply("a folder as the cluster file", "a-folder", "Is a directory"),
        case(
            "destroy with a broken file",
            &["destroy", "-f", &fixtures.path("tabs.yaml")],
            "found character that cannot start any token",
        ),
    ]
}

fn template_and_other_cases() -> Vec<Case> {
    vec![
        case("an unclosed ls template", &["ls", "--format", "{{.Name"], "does not parse: 1:8: unclosed action"),
        case(
            "an ls template with an undefined function",
            &["ls", "--format", "{{nosuchfunc .}}"],
            "failed: undefined function: nosuchfunc",
        ),
        case("an ls template with an empty if", &["ls", "--format", "{{if}}"], "does not parse: 1:7: empty command"),
        case("an ls template naming no template", &["ls", "--format", "{{template \"x\"}}"], "undefined template: x"),
        case("an ls template with an unknown field", &["ls", "--format", "{{.NoSuchField}}"], "no field .NoSuchField"),
        case(
            "an ls template opening at the end",
            &["ls", "--format", "{{.Name}}{{"],
            "does not parse: 1:12: unclosed action",
        ),
        case("a filter without a value", &["ls", "--filter", "nokey"], "invalid filter 'nokey': write KEY=VALUE"),
        case("a filter on an unknown key", &["ls", "--filter", "color=red"], "Unsupported filter key 'color'"),
        case("a name filter that is no regex", &["ls", "--filter", "name=["], "invalid name filter '['"),
        case(
            "an unclosed inspect template",
            &["inspect", "-f", "{{.x", "keep"],
            "does not parse: 1:5: unclosed action",
        ),
        case(
            "an inspect template calling a function",
            &["inspect", "-f", "{{call .}}", "keep"],
            "execution error: call: non-function value",
        ),
        case(
            "an inspect template with an unknown field",
            &["inspect", "-f", "{{.engine.nosuch}}", "keep"],
            "no field .engine.nosuch",
        ),
        case("an unknown shell", &["env", "--shell", "klingon", "keep"], "unknown shell 'klingon'"),
        case("completion for an unknown shell", &["completion", "klingon"], "invalid value 'klingon'").code(2),
        case("an unknown transport for use", &["use", "--transport", "carrier", "keep"], "invalid value 'carrier'")
            .code(2),
        case("regenerate-certs of a none machine", &["regenerate-certs", "-y", "keep"], "uses the none driver"),
        case("provision of a none machine", &["provision", "keep"], "rmachine does not provision it"),
        case("start of a none machine", &["start", "keep"], "the none driver cannot start"),
        case(
            "scp from a none machine",
            &["scp", "keep:/etc/hostname", "/tmp/x"],
            "which rmachine does not reach over SSH",
        ),
        case("a store path that is a file", &["-s", "/etc/hostname", "ls"], "cannot create store folder /etc/hostname"),
        case(
            "a store path in RMACHINE_STORAGE_PATH that is a file",
            &["ls"],
            "cannot create store folder /etc/hostname",
        )
        .env("RMACHINE_STORAGE_PATH", "/etc/hostname"),
    ]
}

/// rmachine with the test store (unless the case names its own with -s or the environment).
fn run_case(store: &Path, case: &Case) -> Output {
    let mut command = if case.args.first().map(String::as_str) == Some("-s") || !case.env.is_empty() {
        let mut bare = std::process::Command::new(env!("CARGO_BIN_EXE_rmachine"));
        bare.env_remove("RMACHINE_STORAGE_PATH").env_remove("DOCKER_HOST").env_remove("SSH_AUTH_SOCK");
        if case.args.first().map(String::as_str) != Some("-s")
            && !case.env.iter().any(|(name, _)| *name == "RMACHINE_STORAGE_PATH")
        {
            bare.arg("-s").arg(store);
        }
        bare
    } else {
        rmachine_command(store)
    };
    for (name, value) in &case.env {
        command.env(name, value);
    }
    command.args(&case.args).stdin(Stdio::null()).output().expect("rmachine runs")
}

#[test]
fn every_hostile_input_gets_a_clear_error_a_non_zero_exit_and_loses_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path().join("store");
    let kept = rmachine_command(&store).args(["create", "-d", "none", "--url", URL, "keep"]).output().unwrap();
    assert!(kept.status.success(), "{}", text(&kept.stderr));
    let fixtures = Fixtures::new(folder.path());
    let hostname_before = std::fs::read("/etc/hostname").ok();
    let at_start = snapshot(&store);

    let mut cases = name_cases();
    cases.extend(flag_cases(&fixtures));
    cases.extend(url_cases());
    cases.extend(cluster_cases(&fixtures));
    cases.extend(template_and_other_cases());
    let mut failures = Vec::new();
    for case in &cases {
        let before = snapshot(&store);
        let started = Instant::now();
        let output = run_case(&store, case);
        let stderr = text(&output.stderr);
        let mut problems = Vec::new();
        if output.status.success() {
            problems.push("it succeeded".to_string());
        }
        if output.status.code() == Some(101) || stderr.contains("panicked") {
            problems.push("it panicked".to_string());
        }
        if let Some(code) = case.code
            && output.status.code() != Some(code)
        {
            problems.push(format!("exit {:?}, not {code}", output.status.code()));
        }
        if !stderr.contains(&case.says) {
            problems.push(format!("the message does not say {:?}", case.says));
        }
        if started.elapsed() > Duration::from_secs(10) {
            problems.push(format!("it took {:?}", started.elapsed()));
        }
        let after = snapshot(&store);
        if after != before {
            let changed: Vec<&PathBuf> = after
                .iter()
                .filter(|(path, contents)| before.get(*path) != Some(contents))
                .map(|(path, _)| path)
                .chain(before.keys().filter(|path| !after.contains_key(*path)))
                .collect();
            problems.push(format!("the store changed: {changed:?}"));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n  args: {:?}\n  stderr: {stderr}",
                case.what,
                problems.join("; "),
                case.args
            ));
        }
    }
    assert_eq!(std::fs::read("/etc/hostname").ok(), hostname_before, "a store path that is a file was written to");
    assert!(!Path::new("/tmp/rmachine-pwned").exists(), "an input ran as a command");
    println!("figure: hostile inputs tried {}", cases.len() + 2);
    assert!(
        failures.is_empty(),
        "{} of {} hostile inputs were mishandled:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    let after: Vec<PathBuf> = snapshot(&store).into_keys().collect();
    assert_eq!(after, at_start.into_keys().collect::<Vec<_>>(), "the store's files changed over the cases");
    closed_streams_do_not_crash_rmachine(&store);
}

/// stderr closed (`2>&1 | head -0`) and stdout closed: the exit code is rmachine's own, not a
/// panic's (101), and the store is unchanged. (Counted as two inputs.)
fn closed_streams_do_not_crash_rmachine(store: &Path) {
    let before = snapshot(store);
    let mut failing = rmachine_command(store)
        .args(["inspect", "nosuch"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    drop(failing.stderr.take());
    assert_eq!(failing.wait().unwrap().code(), Some(1), "an error printed into a closed stderr");
    let mut listing = rmachine_command(store).args(["ls"]).stdout(Stdio::piped()).spawn().unwrap();
    drop(listing.stdout.take());
    assert_eq!(listing.wait().unwrap().code(), Some(0), "a listing printed into a closed stdout");
    assert_eq!(snapshot(store), before);
}
