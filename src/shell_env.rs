//! What `env` prints: variable assignments in the syntax of each shell, and the hint that says how
//! to apply them. Pure functions of their inputs.

use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Cmd,
    Tcsh,
    Emacs,
}

pub const SHELL_NAMES: &str = "bash, zsh, sh, fish, powershell (pwsh), cmd, tcsh (csh), emacs";

impl Shell {
    /// A shell named by `--shell`.
    pub fn from_name(name: &str) -> Option<Shell> {
        Some(match name.to_ascii_lowercase().as_str() {
            "bash" | "sh" | "dash" | "ksh" | "ash" => Shell::Bash,
            "zsh" => Shell::Zsh,
            "fish" => Shell::Fish,
            "powershell" | "pwsh" | "powershell.exe" | "pwsh.exe" => Shell::Powershell,
            "cmd" | "cmd.exe" => Shell::Cmd,
            "tcsh" | "csh" => Shell::Tcsh,
            "emacs" => Shell::Emacs,
            _ => return None,
        })
    }

    /// The shell `$SHELL` names (its last path part), or a POSIX shell when it names none we know.
    pub fn detect(shell_variable: Option<&str>) -> Shell {
        shell_variable
            .and_then(|path| path.rsplit(['/', '\\']).next())
            .and_then(Shell::from_name)
            .unwrap_or(Shell::Bash)
    }
}

/// Renders `assignments` (a `None` value unsets the variable), then the hint for `command`.
pub fn render(shell: Shell, assignments: &[(&str, Option<String>)], command: &str) -> String {
    let mut output = String::new();
    for (name, value) in assignments {
        let line = match (shell, value) {
            (Shell::Bash | Shell::Zsh, Some(value)) => format!("export {name}=\"{}\"", escape_posix(value)),
            (Shell::Bash | Shell::Zsh, None) => format!("unset {name}"),
            (Shell::Fish, Some(value)) => format!("set -gx {name} \"{}\";", escape_fish(value)),
            (Shell::Fish, None) => format!("set -e {name};"),
            (Shell::Powershell, Some(value)) => format!("$Env:{name} = \"{}\"", escape_powershell(value)),
            (Shell::Powershell, None) => format!("Remove-Item Env:\\\\{name}"),
            (Shell::Cmd, Some(value)) => format!("SET {name}={value}"),
            (Shell::Cmd, None) => format!("SET {name}="),
            (Shell::Tcsh, Some(value)) => format!("setenv {name} \"{}\";", escape_tcsh(value)),
            (Shell::Tcsh, None) => format!("unsetenv {name};"),
            (Shell::Emacs, Some(value)) => format!("(setenv \"{name}\" \"{}\")", escape_lisp(value)),
            (Shell::Emacs, None) => format!("(setenv \"{name}\" nil)"),
        };
        output.push_str(&line);
        output.push('\n');
    }
    let hint = match shell {
        Shell::Bash | Shell::Zsh => format!("# Run this command to configure your shell:\n# eval \"$({command})\""),
        Shell::Fish => format!("# Run this command to configure your shell:\n# eval ({command})"),
        Shell::Powershell => format!("# Run this command to configure your shell:\n# & {command} | Invoke-Expression"),
        Shell::Cmd => format!(
            "REM Run this command to configure your shell:\nREM \t@FOR /f \"tokens=*\" %i IN ('{command}') DO @%i"
        ),
        Shell::Tcsh => format!("# Run this command to configure your shell:\n# eval `{command}`"),
        Shell::Emacs => format!(
            ";; Run this command to configure your shell:\n;; (with-temp-buffer (shell-command \"{}\" (current-buffer)) (eval-buffer))",
            escape_lisp(command)
        ),
    };
    let _ = writeln!(output, "{hint}");
    output
}

/// The no-proxy list with `address` added once.
pub fn no_proxy_with(current: &str, address: &str) -> String {
    if current.split(',').any(|entry| entry.trim() == address) {
        current.to_string()
    } else if current.trim().is_empty() {
        address.to_string()
    } else {
        format!("{current},{address}")
    }
}

/// The command line quoted for a POSIX shell, as the hint shows it.
pub fn quote_command_line(words: &[String]) -> String {
    words.iter().map(|word| quote_word(word)).collect::<Vec<_>>().join(" ")
}

fn quote_word(word: &str) -> String {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', "'\\''")) }
}

fn escape_posix(value: &str) -> String {
    escape_with(value, &['\\', '"', '$', '`'], '\\')
}

fn escape_fish(value: &str) -> String {
    escape_with(value, &['\\', '"', '$'], '\\')
}

fn escape_powershell(value: &str) -> String {
    escape_with(value, &['`', '"', '$'], '`')
}

fn escape_tcsh(value: &str) -> String {
    escape_with(value, &['"', '$', '`'], '\\')
}

fn escape_lisp(value: &str) -> String {
    escape_with(value, &['\\', '"'], '\\')
}

fn escape_with(value: &str, special: &[char], escape: char) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if special.contains(&c) {
            escaped.push(escape);
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<(&'static str, Option<String>)> {
        vec![
            ("DOCKER_TLS_VERIFY", Some("1".into())),
            ("DOCKER_HOST", Some("tcp://10.0.0.5:2376".into())),
            ("DOCKER_CERT_PATH", Some("/home/u/.local/share/rmachine/machines/node1".into())),
            ("DOCKER_MACHINE_NAME", Some("node1".into())),
        ]
    }

    #[test]
    fn bash_and_zsh() {
        let expected = "export DOCKER_TLS_VERIFY=\"1\"\nexport DOCKER_HOST=\"tcp://10.0.0.5:2376\"\nexport DOCKER_CERT_PATH=\"/home/u/.local/share/rmachine/machines/node1\"\nexport DOCKER_MACHINE_NAME=\"node1\"\n# Run this command to configure your shell:\n# eval \"$(rmachine env node1)\"\n";
        assert_eq!(render(Shell::Bash, &sample(), "rmachine env node1"), expected);
        assert_eq!(render(Shell::Zsh, &sample(), "rmachine env node1"), expected);
    }

    #[test]
    fn fish() {
        let output = render(Shell::Fish, &sample(), "rmachine env node1");
        assert!(output.starts_with("set -gx DOCKER_TLS_VERIFY \"1\";\nset -gx DOCKER_HOST \"tcp://10.0.0.5:2376\";\n"));
        assert!(output.ends_with("# eval (rmachine env node1)\n"));
    }

    #[test]
    fn powershell() {
        let output = render(Shell::Powershell, &sample(), "rmachine env node1");
        assert!(output.starts_with("$Env:DOCKER_TLS_VERIFY = \"1\"\n$Env:DOCKER_HOST = \"tcp://10.0.0.5:2376\"\n"));
        assert!(output.ends_with("# & rmachine env node1 | Invoke-Expression\n"));
    }

    #[test]
    fn cmd() {
        let output = render(Shell::Cmd, &sample(), "rmachine env node1");
        assert!(output.starts_with("SET DOCKER_TLS_VERIFY=1\nSET DOCKER_HOST=tcp://10.0.0.5:2376\n"));
        assert!(output.ends_with("REM \t@FOR /f \"tokens=*\" %i IN ('rmachine env node1') DO @%i\n"));
    }

    #[test]
    fn tcsh() {
        let output = render(Shell::Tcsh, &sample(), "rmachine env node1");
        assert!(output.starts_with("setenv DOCKER_TLS_VERIFY \"1\";\n"));
        assert!(output.ends_with("# eval `rmachine env node1`\n"));
    }

    #[test]
    fn emacs() {
        let output = render(Shell::Emacs, &sample(), "rmachine env node1");
        assert!(output.starts_with("(setenv \"DOCKER_TLS_VERIFY\" \"1\")\n"));
        assert!(output.ends_with(
            ";; (with-temp-buffer (shell-command \"rmachine env node1\" (current-buffer)) (eval-buffer))\n"
        ));
    }

    #[test]
    fn unsetting_in_every_shell() {
        let unset = [("DOCKER_HOST", None)];
        let cases = [
            (Shell::Bash, "unset DOCKER_HOST\n"),
            (Shell::Fish, "set -e DOCKER_HOST;\n"),
            (Shell::Powershell, "Remove-Item Env:\\\\DOCKER_HOST\n"),
            (Shell::Cmd, "SET DOCKER_HOST=\n"),
            (Shell::Tcsh, "unsetenv DOCKER_HOST;\n"),
            (Shell::Emacs, "(setenv \"DOCKER_HOST\" nil)\n"),
        ];
        for (shell, expected) in cases {
            assert!(render(shell, &unset, "rmachine env -u").starts_with(expected), "{shell:?}");
        }
    }

    #[test]
    fn values_are_escaped_for_the_shell() {
        let tricky = [("DOCKER_CERT_PATH", Some("/tmp/a \"b\" $c".to_string()))];
        assert!(render(Shell::Bash, &tricky, "x").starts_with("export DOCKER_CERT_PATH=\"/tmp/a \\\"b\\\" \\$c\"\n"));
        assert!(
            render(Shell::Powershell, &tricky, "x").starts_with("$Env:DOCKER_CERT_PATH = \"/tmp/a `\"b`\" `$c\"\n")
        );
    }

    #[test]
    fn the_shell_is_detected_from_its_path() {
        assert_eq!(Shell::detect(Some("/usr/bin/fish")), Shell::Fish);
        assert_eq!(Shell::detect(Some("/bin/zsh")), Shell::Zsh);
        assert_eq!(
            Shell::detect(Some("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe")),
            Shell::Powershell
        );
        assert_eq!(Shell::detect(None), Shell::Bash);
        assert_eq!(Shell::detect(Some("/usr/bin/unknown")), Shell::Bash);
    }

    #[test]
    fn no_proxy_gains_the_address_once() {
        assert_eq!(no_proxy_with("", "10.0.0.5"), "10.0.0.5");
        assert_eq!(no_proxy_with("localhost", "10.0.0.5"), "localhost,10.0.0.5");
        assert_eq!(no_proxy_with("localhost,10.0.0.5", "10.0.0.5"), "localhost,10.0.0.5");
    }

    #[test]
    fn the_hint_quotes_what_needs_it() {
        let words: Vec<String> =
            ["rmachine", "-s", "/tmp/my store", "env", "node1"].iter().map(|w| w.to_string()).collect();
        assert_eq!(quote_command_line(&words), "rmachine -s '/tmp/my store' env node1");
    }
}
