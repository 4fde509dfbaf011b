//! The shell-env quoting property, with the real shells: what `rmachine env` prints, evaluated as
//! its hint says (`eval "$(rmachine env NAME)"` in bash, zsh and dash, `eval (rmachine env NAME)`
//! in fish), sets exactly the value rmachine meant, for any bytes a variable or a path can hold.
//!
//! Values come from a seeded generator (random bytes, shell metacharacters, UTF-8, invalid UTF-8,
//! newlines, long values) and reach `env` as a user's `NO_PROXY` (`env --no-proxy` appends the
//! machine's IP) and as the store's path (`DOCKER_CERT_PATH`). Each shell reads every output in
//! one process and prints the exported variable as a child process sees it (`printenv`). Runs
//! in two locales (C.UTF-8 and C). Prints `figure: shell_env_roundtrip ...`.
//! Needs bash, dash, zsh and fish (`apt-get install zsh fish`).

mod common;

use common::{rmachine_command, text};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const SHELLS: [&str; 4] = ["bash", "dash", "zsh", "fish"];
const LOCALES: [&str; 2] = ["C.UTF-8", "C"];
const IP: &str = "127.0.0.1";

/// xorshift64*: the same values on every run.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    /// A value of one of several kinds, never with NUL (no variable or path can hold one; the
    /// unit tests of `shell_env` check that rmachine refuses it).
    fn value(&mut self, forbid: &[u8]) -> Vec<u8> {
        const SPECIAL: &[u8] = b"\\\"'$`!{}()[];&|*?~#%^<> \t\n\r=,:@-";
        let length = match self.below(10) {
            0 => 200 + self.below(800),
            _ => 1 + self.below(24),
        };
        let kind = self.below(5);
        let mut value = Vec::with_capacity(length);
        while value.len() < length {
            match kind {
                0 => value.push(1 + self.below(255) as u8),
                1 => value.push(SPECIAL[self.below(SPECIAL.len())]),
                2 => {
                    let pick = ["é", "ß", "€", "日本", "🐳", "\u{f6ff}", "\u{201c}", "\u{feff}", "a", "$(id)", "`id`"];
                    value.extend_from_slice(pick[self.below(pick.len())].as_bytes());
                }
                3 => {
                    let pick: [&[u8]; 6] = [b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\x80", b"x"];
                    value.extend_from_slice(pick[self.below(pick.len())]);
                }
                _ => {
                    let pool = b"\\\"$`\nab";
                    value.push(pool[self.below(pool.len())]);
                }
            }
        }
        value.retain(|byte| *byte != 0 && !forbid.contains(byte));
        if value.is_empty() { b"x".to_vec() } else { value }
    }
}

fn shell_available(shell: &str) {
    let found = Command::new("sh").arg("-c").arg(format!("command -v {shell}")).output().unwrap();
    assert!(found.status.success(), "{shell} is missing: install it with 'apt-get install -y zsh fish' (CI does)");
}

/// The `--shell` name and how the hint applies the output in that shell.
fn eval_line(shell: &str, output_file: &Path, variable: &str) -> Vec<u8> {
    let file = output_file.as_os_str().as_bytes();
    let eval: Vec<u8> = match shell {
        "fish" => [b"eval (cat '", file, b"')"].concat(),
        _ => [b"eval \"$(cat '", file, b"')\""].concat(),
    };
    [eval, format!("; printenv {variable}; printf '\\000'\n").into_bytes()].concat()
}

/// Evaluates every output file in one `shell` process; the values a child process saw.
fn evaluate(shell: &str, locale: &str, outputs: &[PathBuf], variable: &str, scripts: &Path) -> Vec<Vec<u8>> {
    let script: Vec<u8> = outputs.iter().flat_map(|output| eval_line(shell, output, variable)).collect();
    let path = scripts.join(format!("{shell}-{locale}-{variable}.script"));
    std::fs::write(&path, script).unwrap();
    let run = |script: &Path| {
        Command::new(shell)
            .arg(script)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", locale)
            .env("HOME", scripts)
            .output()
            .unwrap()
    };
    let result = run(&path);
    if !result.status.success() {
        // Find the output the shell could not evaluate, to show it.
        for output in outputs {
            std::fs::write(&path, eval_line(shell, output, variable)).unwrap();
            let alone = run(&path);
            assert!(
                alone.status.success(),
                "{shell} ({locale}) cannot evaluate what rmachine printed: {}\n{:?}",
                text(&alone.stderr),
                String::from_utf8_lossy(&std::fs::read(output).unwrap())
            );
        }
        panic!("{shell} ({locale}) failed: {}", text(&result.stderr));
    }
    let mut values: Vec<Vec<u8>> = result.stdout.split(|byte| *byte == 0).map(|value| value.to_vec()).collect();
    assert_eq!(values.pop(), Some(vec![]), "{shell}: the output ends with a separator");
    for value in &mut values {
        assert_eq!(value.pop(), Some(b'\n'), "{shell}: printenv ends each value with a newline");
    }
    values
}

fn compare(shell: &str, locale: &str, what: &str, expected: &[Vec<u8>], seen: &[Vec<u8>], outputs: &[PathBuf]) {
    assert_eq!(seen.len(), expected.len(), "{shell} ({locale}): {what}: one value per output");
    for ((expected, seen), output) in expected.iter().zip(seen).zip(outputs) {
        assert!(
            expected == seen,
            "{shell} ({locale}) set {what} wrong:\n expected {:?}\n got      {:?}\n rmachine printed {:?}",
            String::from_utf8_lossy(expected),
            String::from_utf8_lossy(seen),
            String::from_utf8_lossy(&std::fs::read(output).unwrap())
        );
    }
}

/// `rmachine env --shell SHELL --no-proxy NAME` with `NO_PROXY` set; its output saved to a file.
fn env_output(store: &Path, shell: &str, name: &str, no_proxy: Option<&[u8]>, file: PathBuf) -> PathBuf {
    let mut command = rmachine_command(store);
    command.args(["env", "--shell", if shell == "dash" { "sh" } else { shell }]);
    if let Some(value) = no_proxy {
        command.arg("--no-proxy").env("NO_PROXY", OsString::from_vec(value.to_vec())).env_remove("no_proxy");
    }
    let output = command.arg(name).output().unwrap();
    assert!(output.status.success(), "env --shell {shell}: {}", text(&output.stderr));
    std::fs::write(&file, &output.stdout).unwrap();
    file
}

fn create_none(store: &Path, name: &str) {
    let output = rmachine_command(store)
        .args(["create", "-d", "none", "--url", &format!("tcp://{IP}:1"), name])
        .output()
        .unwrap();
    assert!(output.status.success(), "create in {:?}: {}", store, text(&output.stderr));
}

#[test]
fn env_output_evaluated_by_bash_dash_zsh_and_fish_gives_back_every_value() {
    SHELLS.iter().for_each(|shell| shell_available(shell));
    let folder = tempfile::tempdir().unwrap();
    let scripts = folder.path().join("scripts");
    std::fs::create_dir(&scripts).unwrap();
    let mut generator = Generator(0x005e_ed13);

    let store = folder.path().join("store");
    create_none(&store, "node1");
    let no_proxy_values: Vec<Vec<u8>> = (0..300).map(|_| generator.value(b"")).collect();
    let expected_no_proxy: Vec<Vec<u8>> = no_proxy_values
        .iter()
        .map(|value| {
            let listed = value.split(|byte| *byte == b',').any(|entry| entry.trim_ascii() == IP.as_bytes());
            if listed {
                value.clone()
            } else if value.trim_ascii().is_empty() {
                IP.as_bytes().to_vec()
            } else {
                [value.as_slice(), b",", IP.as_bytes()].concat()
            }
        })
        .collect();

    // Store paths: a folder name of any bytes but '/' and NUL, holding a store with one machine.
    let paths = folder.path().join("paths");
    std::fs::create_dir(&paths).unwrap();
    let stores: Vec<PathBuf> = (0..40)
        .map(|index| {
            let mut name = generator.value(b"/");
            name.truncate(200);
            let store = paths.join(format!("{index}-")).into_os_string().into_vec();
            let store = PathBuf::from(OsString::from_vec([store, name].concat()));
            create_none(&store, "m");
            store
        })
        .collect();
    let expected_paths: Vec<Vec<u8>> =
        stores.iter().map(|store| store.join("machines/m").into_os_string().into_vec()).collect();

    let mut evaluations = 0;
    for shell in SHELLS {
        let outputs: Vec<PathBuf> = no_proxy_values
            .iter()
            .enumerate()
            .map(|(index, value)| {
                env_output(&store, shell, "node1", Some(value), scripts.join(format!("{shell}-np-{index}")))
            })
            .collect();
        let path_outputs: Vec<PathBuf> = stores
            .iter()
            .enumerate()
            .map(|(index, store)| env_output(store, shell, "m", None, scripts.join(format!("{shell}-path-{index}"))))
            .collect();
        for locale in LOCALES {
            let seen = evaluate(shell, locale, &outputs, "NO_PROXY", &scripts);
            compare(shell, locale, "NO_PROXY", &expected_no_proxy, &seen, &outputs);
            let seen = evaluate(shell, locale, &path_outputs, "DOCKER_CERT_PATH", &scripts);
            compare(shell, locale, "DOCKER_CERT_PATH", &expected_paths, &seen, &path_outputs);
            evaluations += outputs.len() + path_outputs.len();
        }
    }
    println!("figure: shell_env_roundtrip values {} values", no_proxy_values.len() + stores.len());
    println!("figure: shell_env_roundtrip evaluations {evaluations} evaluations");
}
