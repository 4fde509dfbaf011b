//! The shell-env quoting property with the real shells: what `rmachine env` renders for any
//! bytes (a value and the command line of the hint), evaluated by bash, dash, zsh and fish as
//! the hint says (`eval "$(...)"`, fish `eval (...)`), sets exactly that value; a value with a NUL
//! is refused instead. The shells run once each, as coprocesses fed one evaluation per input
//! (fish through a `read -z` loop, as it reads a whole piped script before running it),
//! with a PATH holding only `cat` and `printenv` (whatever the output ran could do little).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmachine_fuzz::shell_env::{Shell, quote_command_line, render};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

struct Coprocess {
    name: &'static str,
    shell: Shell,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    _child: Child,
}

struct Shells {
    folder: PathBuf,
    coprocesses: Vec<Coprocess>,
}

fn start() -> Shells {
    let folder = std::env::temp_dir().join(format!("rmachine-fuzz-shell-env-{}", std::process::id()));
    let bin = folder.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["cat", "printenv"] {
        let _ = std::os::unix::fs::symlink(format!("/usr/bin/{tool}"), bin.join(tool));
    }
    let coprocesses = [("bash", Shell::Bash), ("dash", Shell::Bash), ("zsh", Shell::Zsh), ("fish", Shell::Fish)]
        .into_iter()
        .map(|(name, shell)| {
            let mut command = Command::new(format!("/usr/bin/{name}"));
            if name == "fish" {
                // fish reads a whole script from a pipe before it runs any of it: run a loop that
                // reads one NUL-terminated command at a time instead.
                command.args(["-c", "while read -lz command; eval $command; end"]);
            }
            let mut child = command
                .env_clear()
                .env("PATH", &bin)
                .env("LANG", "C.UTF-8")
                .env("HOME", &folder)
                .current_dir(&folder)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|error| panic!("/usr/bin/{name}: {error}: apt-get install -y zsh fish"));
            let input = child.stdin.take().unwrap();
            let output = BufReader::new(child.stdout.take().unwrap());
            Coprocess { name, shell, input, output, _child: child }
        })
        .collect();
    Shells { folder, coprocesses }
}

static SHELLS: OnceLock<Mutex<Shells>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let value = data.to_vec();
    let words: Vec<String> = ["rmachine", "-s", &String::from_utf8_lossy(data), "env", "node1"]
        .iter()
        .map(|word| word.to_string())
        .collect();
    let hint = quote_command_line(&words);
    let mut shells = SHELLS.get_or_init(|| Mutex::new(start())).lock().unwrap();
    let file = shells.folder.join("output");
    for coprocess in &mut shells.coprocesses {
        let assignments = [("RMACHINE_FUZZ", Some(value.clone())), ("DOCKER_TLS_VERIFY", Some(b"1".to_vec()))];
        let rendered = match render(coprocess.shell, &assignments, &hint) {
            Ok(rendered) => rendered,
            Err(error) => {
                assert!(value.contains(&0), "{}: refused a value without NUL: {error}", coprocess.name);
                continue;
            }
        };
        assert!(!value.contains(&0), "{}: a NUL was printed", coprocess.name);
        std::fs::write(&file, &rendered).unwrap();
        let eval = match coprocess.shell {
            Shell::Fish => "eval (cat output)",
            _ => "eval \"$(cat output)\"",
        };
        // The value as a child process sees it, then a NUL (which no value holds) to end it.
        let end = if coprocess.shell == Shell::Fish { "\0" } else { "\n" };
        write!(coprocess.input, "{eval}; printenv RMACHINE_FUZZ; printf '\\000'{end}").unwrap();
        coprocess.input.flush().unwrap();
        let mut seen = Vec::new();
        let read = coprocess.output.read_until(0, &mut seen).unwrap();
        assert!(
            read > 0 && seen.pop() == Some(0),
            "{} exited while evaluating {:?}",
            coprocess.name,
            String::from_utf8_lossy(&rendered)
        );
        let expected = [value.as_slice(), b"\n"].concat();
        assert!(
            seen == expected,
            "{} set {:?} from {:?}, not {:?}",
            coprocess.name,
            String::from_utf8_lossy(&seen),
            String::from_utf8_lossy(&rendered),
            String::from_utf8_lossy(&value)
        );
    }
});
