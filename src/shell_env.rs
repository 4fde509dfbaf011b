//! What `env` prints: variable assignments in the syntax of each shell, and the hint that says how
//! to apply them. Pure functions of their inputs.

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

/// A value the chosen shell cannot carry: printing it would set something else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} cannot be set for {shell}: its value {problem}")]
pub struct Unrepresentable {
    pub name: String,
    pub shell: &'static str,
    pub problem: &'static str,
}

impl Shell {
    fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash/sh",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Powershell => "powershell",
            Shell::Cmd => "cmd",
            Shell::Tcsh => "tcsh",
            Shell::Emacs => "emacs",
        }
    }

    /// Why `value` cannot be written in this shell's syntax, if it cannot. POSIX shells and fish
    /// take any bytes but NUL (which no environment variable holds); the others need UTF-8, and
    /// those that read one line per assignment (powershell's pipe, cmd, tcsh) no line breaks.
    fn cannot_carry(self, value: &[u8]) -> Option<&'static str> {
        if value.contains(&0) {
            return Some("contains a NUL byte, which no environment variable can hold");
        }
        let text_only = matches!(self, Shell::Powershell | Shell::Cmd | Shell::Tcsh | Shell::Emacs);
        if text_only && std::str::from_utf8(value).is_err() {
            return Some("is not valid UTF-8");
        }
        let line_based = matches!(self, Shell::Powershell | Shell::Cmd | Shell::Tcsh);
        if line_based && value.iter().any(|byte| matches!(byte, b'\n' | b'\r')) {
            return Some("contains a line break");
        }
        if self == Shell::Cmd && value.iter().any(|byte| b"&|<>^%".contains(byte)) {
            return Some("contains one of & | < > ^ %, which cmd would interpret");
        }
        None
    }
}

/// Renders `assignments` (a `None` value unsets the variable; values are bytes, as paths and
/// the environment are), then the hint for `command`. A value the shell cannot carry is an error,
/// never printed wrong.
pub fn render(
    shell: Shell,
    assignments: &[(&str, Option<Vec<u8>>)],
    command: &str,
) -> Result<Vec<u8>, Unrepresentable> {
    let mut output = Vec::new();
    for (name, value) in assignments {
        if let Some(problem) = value.as_deref().and_then(|value| shell.cannot_carry(value)) {
            return Err(Unrepresentable { name: name.to_string(), shell: shell.name(), problem });
        }
        let text = |value: &[u8]| String::from_utf8_lossy(value).into_owned();
        let line: Vec<u8> = match (shell, value.as_deref()) {
            (Shell::Bash | Shell::Zsh, Some(value)) => {
                [format!("export {name}=\"").as_bytes(), &escape_posix(value), b"\""].concat()
            }
            (Shell::Bash | Shell::Zsh, None) => format!("unset {name}").into_bytes(),
            (Shell::Fish, Some(value)) => {
                [format!("set -gx {name} \"").as_bytes(), &escape_fish(value), b"\";"].concat()
            }
            (Shell::Fish, None) => format!("set -e {name};").into_bytes(),
            (Shell::Powershell, Some(value)) => {
                format!("$Env:{name} = \"{}\"", escape_powershell(&text(value))).into_bytes()
            }
            (Shell::Powershell, None) => format!("Remove-Item Env:\\\\{name}").into_bytes(),
            (Shell::Cmd, Some(value)) => format!("SET {name}={}", text(value)).into_bytes(),
            (Shell::Cmd, None) => format!("SET {name}=").into_bytes(),
            (Shell::Tcsh, Some(value)) => format!("setenv {name} \"{}\";", escape_tcsh(&text(value))).into_bytes(),
            (Shell::Tcsh, None) => format!("unsetenv {name};").into_bytes(),
            (Shell::Emacs, Some(value)) => {
                format!("(setenv \"{name}\" \"{}\")", escape_lisp(&text(value))).into_bytes()
            }
            (Shell::Emacs, None) => format!("(setenv \"{name}\" nil)").into_bytes(),
        };
        output.extend_from_slice(&line);
        output.push(b'\n');
    }
    output.extend_from_slice(hint(shell, command).as_bytes());
    Ok(output)
}

/// How to apply what `env` printed, as comment lines.
fn hint(shell: Shell, command: &str) -> String {
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
    format!("{hint}\n")
}

/// The no-proxy list with `address` added once.
pub fn no_proxy_with(current: &[u8], address: &str) -> Vec<u8> {
    if current.split(|byte| *byte == b',').any(|entry| entry.trim_ascii() == address.as_bytes()) {
        current.to_vec()
    } else if current.trim_ascii().is_empty() {
        address.as_bytes().to_vec()
    } else {
        [current, b",", address.as_bytes()].concat()
    }
}

/// The command line quoted for a POSIX shell, as the hint shows it.
pub fn quote_command_line(words: &[String]) -> String {
    words.iter().map(|word| quote_word(word)).collect::<Vec<_>>().join(" ")
}

/// A word as a POSIX shell reads it back. A word with control characters (a newline in a store
/// path) is written in `$'...'` form, so the hint stays one comment line: a raw newline would end
/// the comment and the rest of the line would run when the output is evaluated.
fn quote_word(word: &str) -> String {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c));
    if plain {
        return word.to_string();
    }
    if !word.chars().any(char::is_control) {
        return format!("'{}'", word.replace('\'', "'\\''"));
    }
    let mut quoted = String::from("$'");
    for c in word.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '\'' => quoted.push_str("\\'"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04x}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('\'');
    quoted
}

/// Inside POSIX double quotes only `\ " $` and the backquote are special; anything else (newlines, any
/// byte) is literal.
fn escape_posix(value: &[u8]) -> Vec<u8> {
    let mut escaped = Vec::with_capacity(value.len());
    for byte in value {
        if b"\\\"$`".contains(byte) {
            escaped.push(b'\\');
        }
        escaped.push(*byte);
    }
    escaped
}

/// Inside fish double quotes `\ " $` are special. A newline is written as `\n` outside the
/// quotes: `eval (rmachine env)` joins the lines of the output with spaces.
fn escape_fish(value: &[u8]) -> Vec<u8> {
    let mut escaped = Vec::with_capacity(value.len());
    for byte in value {
        match byte {
            b'\n' => escaped.extend_from_slice(b"\"\\n\""),
            b'\\' | b'"' | b'$' => escaped.extend_from_slice(&[b'\\', *byte]),
            _ => escaped.push(*byte),
        }
    }
    escaped
}

/// PowerShell also ends a double-quoted string at typographic double quotes.
fn escape_powershell(value: &str) -> String {
    escape_with(value, &['`', '"', '$', '\u{201C}', '\u{201D}', '\u{201E}'], '`')
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

    fn sample() -> Vec<(&'static str, Option<Vec<u8>>)> {
        vec![
            ("DOCKER_TLS_VERIFY", Some(b"1".to_vec())),
            ("DOCKER_HOST", Some(b"tcp://10.0.0.5:2376".to_vec())),
            ("DOCKER_CERT_PATH", Some(b"/home/u/.local/share/rmachine/machines/node1".to_vec())),
            ("DOCKER_MACHINE_NAME", Some(b"node1".to_vec())),
        ]
    }

    fn render(shell: Shell, assignments: &[(&str, Option<Vec<u8>>)], command: &str) -> String {
        String::from_utf8(super::render(shell, assignments, command).unwrap()).unwrap()
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
        let tricky = [("DOCKER_CERT_PATH", Some(b"/tmp/a \"b\" $c".to_vec()))];
        assert!(render(Shell::Bash, &tricky, "x").starts_with("export DOCKER_CERT_PATH=\"/tmp/a \\\"b\\\" \\$c\"\n"));
        assert!(
            render(Shell::Powershell, &tricky, "x").starts_with("$Env:DOCKER_CERT_PATH = \"/tmp/a `\"b`\" `$c\"\n")
        );
    }

    #[test]
    fn a_value_a_shell_cannot_carry_is_refused_naming_the_variable() {
        let refused = |shell: Shell, value: &[u8]| {
            super::render(shell, &[("DOCKER_CERT_PATH", Some(value.to_vec()))], "x").unwrap_err().to_string()
        };
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Powershell, Shell::Cmd, Shell::Tcsh, Shell::Emacs] {
            assert!(refused(shell, b"/tmp/a\0b").starts_with("DOCKER_CERT_PATH cannot be set for"), "{shell:?}");
            assert!(refused(shell, b"a\0").contains("NUL byte"), "{shell:?}");
        }
        assert!(refused(Shell::Powershell, b"/tmp/\xff").ends_with("is not valid UTF-8"));
        assert!(refused(Shell::Cmd, b"a\nb").ends_with("contains a line break"));
        assert!(refused(Shell::Cmd, b"a&calc").contains("which cmd would interpret"));
        let bytes = super::render(Shell::Bash, &[("V", Some(b"/tmp/\xff\nx".to_vec()))], "x").unwrap();
        assert!(bytes.starts_with(b"export V=\"/tmp/\xff\nx\"\n"), "{bytes:?}");
    }

    #[test]
    fn fish_writes_newlines_outside_the_quotes_as_eval_joins_lines() {
        assert!(
            render(Shell::Fish, &[("V", Some(b"a\nb$c".to_vec()))], "x").starts_with("set -gx V \"a\"\\n\"b\\$c\";\n")
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
        assert_eq!(no_proxy_with(b"", "10.0.0.5"), b"10.0.0.5");
        assert_eq!(no_proxy_with(b"localhost", "10.0.0.5"), b"localhost,10.0.0.5");
        assert_eq!(no_proxy_with(b"localhost, 10.0.0.5", "10.0.0.5"), b"localhost, 10.0.0.5");
        assert_eq!(no_proxy_with(b"\xff.example", "10.0.0.5"), b"\xff.example,10.0.0.5");
    }

    #[test]
    fn the_hint_quotes_what_needs_it() {
        let words: Vec<String> =
            ["rmachine", "-s", "/tmp/my store", "env", "node1"].iter().map(|w| w.to_string()).collect();
        assert_eq!(quote_command_line(&words), "rmachine -s '/tmp/my store' env node1");
    }

    #[test]
    fn the_hint_stays_one_comment_line_whatever_the_command_line_holds() {
        let words: Vec<String> =
            ["rmachine", "-s", "/tmp/a\nrm -rf ~\n'b\\\u{1b}", "env", "m"].iter().map(|w| w.to_string()).collect();
        let hint = quote_command_line(&words);
        assert_eq!(hint, "rmachine -s $'/tmp/a\\nrm -rf ~\\n\\'b\\\\\\u001b' env m");
        let output = render(Shell::Bash, &[], &hint);
        assert_eq!(output.lines().count(), 2, "{output}");
        assert!(output.lines().all(|line| line.starts_with("# ")), "{output}");
    }
}
