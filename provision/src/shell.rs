//! Shell quoting and remote command lines. Everything the provisioner sends to a host passes
//! through [`quote`] and [`command_line`]: a script runs as `sh -c SCRIPT NAME ARGUMENTS…`,
//! behind `sudo -n` when the login user is not root and the command needs root.

/// A POSIX shell script embedded from `provision/scripts/`, and the name it runs under (`$0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Script {
    pub name: &'static str,
    pub text: &'static str,
}

pub(crate) const FACTS: Script = Script { name: "rmachine-facts", text: include_str!("../scripts/facts.sh") };
pub(crate) const SET_HOSTNAME: Script =
    Script { name: "rmachine-set-hostname", text: include_str!("../scripts/set-hostname.sh") };
pub(crate) const INSTALL_PACKAGES_APT: Script =
    Script { name: "rmachine-install-packages", text: include_str!("../scripts/install-packages-apt.sh") };
pub(crate) const INSTALL_FROM_URL: Script =
    Script { name: "rmachine-install-from-url", text: include_str!("../scripts/install-from-url.sh") };
pub(crate) const WRITE_FILES: Script =
    Script { name: "rmachine-write-files", text: include_str!("../scripts/write-files.sh") };
pub(crate) const RESTORE_FILES: Script =
    Script { name: "rmachine-restore-files", text: include_str!("../scripts/restore-files.sh") };
pub(crate) const RESTART_DOCKER_SYSTEMD: Script =
    Script { name: "rmachine-restart-docker", text: include_str!("../scripts/restart-docker-systemd.sh") };
pub(crate) const PACKAGES: Script = Script { name: "rmachine-packages", text: include_str!("../scripts/packages.sh") };
pub(crate) const PACKAGE_MANAGER: Script =
    Script { name: "rmachine-package-manager", text: include_str!("../scripts/package-manager.sh") };
pub(crate) const ENSURE_REMAP_USER: Script =
    Script { name: "rmachine-ensure-remap-user", text: include_str!("../scripts/ensure-remap-user.sh") };
pub(crate) const VERIFY_ENGINE: Script =
    Script { name: "rmachine-verify-engine", text: include_str!("../scripts/verify-engine.sh") };
pub(crate) const DOWNLOAD_RUNTIME: Script =
    Script { name: "rmachine-download-runtime", text: include_str!("../scripts/download-runtime.sh") };
pub(crate) const RESTART_DOCKER_INIT: Script =
    Script { name: "rmachine-restart-docker", text: include_str!("../scripts/restart-docker-init.sh") };
/// The engine's log under an init system without a journal.
pub(crate) const LOG_FILE_TAIL: Script =
    Script { name: "rmachine-journal", text: "tail -n \"${1:-30}\" /var/log/docker.log 2>&1\n" };
pub(crate) const JOURNAL_SYSTEMD: Script =
    Script { name: "rmachine-journal", text: "journalctl -u docker.service -n \"${1:-30}\" --no-pager 2>&1\n" };

/// How privileged commands are run on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Privilege {
    /// The login user is root: commands run as they are.
    Root,
    /// The login user has passwordless sudo: commands run behind `sudo -n`.
    Sudo,
}

/// Quotes `word` for a POSIX shell: left as it is when it holds only characters no shell treats
/// specially, otherwise put in single quotes (each `'` written as `'\''`).
pub(crate) fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|character| character.is_ascii_alphanumeric() || "_-./:=@%+,".contains(character))
        && !word.starts_with('=');
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

/// The command line that runs `script` with `arguments`: `sh -c SCRIPT NAME ARGUMENTS…`, prefixed
/// with `sudo -n` when `privilege` says so (None: run as the login user).
pub(crate) fn command_line(script: &Script, arguments: &[String], privilege: Option<Privilege>) -> String {
    let mut line = String::new();
    if privilege == Some(Privilege::Sudo) {
        line.push_str("sudo -n ");
    }
    line.push_str("sh -c ");
    line.push_str(&quote(script.text));
    line.push(' ');
    line.push_str(&quote(script.name));
    for argument in arguments {
        line.push(' ');
        line.push_str(&quote(argument));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs `line` with the local /bin/sh and returns its stdout.
    fn run_locally(line: &str) -> String {
        let output = Command::new("sh").arg("-c").arg(line).output().expect("sh runs");
        assert!(output.status.success(), "{line}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    }

    #[test]
    fn plain_words_stay_as_they_are() {
        assert_eq!(quote("docker.io"), "docker.io");
        assert_eq!(quote("/etc/docker/daemon.json"), "/etc/docker/daemon.json");
        assert_eq!(quote("https://get.docker.com"), "https://get.docker.com");
        assert_eq!(quote("0644"), "0644");
    }

    #[test]
    fn special_words_are_single_quoted() {
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$HOME"), "'$HOME'");
        assert_eq!(quote("=x"), "'=x'");
        assert_eq!(quote("~root"), "'~root'");
    }

    #[test]
    fn quoted_words_reach_the_shell_unchanged() {
        let words = [
            "",
            "plain",
            "two words",
            "it's",
            "''",
            "\"double\"",
            "$(touch /tmp/rmachine-quote-test-should-not-exist) `id` $HOME ${X:-y}",
            "back\\slash\\",
            "new\nline\n",
            "tab\there",
            "*?[a]{b,c}~!#;&|<>()",
            "ünïcödé ✓",
            "-n",
            "'",
        ];
        for word in words {
            let line = format!("printf '%s' {}", quote(word));
            assert_eq!(run_locally(&line), word, "quoting {word:?}");
        }
        assert!(!std::path::Path::new("/tmp/rmachine-quote-test-should-not-exist").exists());
    }

    #[test]
    fn command_line_passes_script_and_arguments() {
        let script = Script { name: "rmachine-test", text: "printf '%s|' \"$0\" \"$@\"\n" };
        let arguments = vec!["one".to_string(), "two words".to_string(), "it's".to_string()];
        let line = command_line(&script, &arguments, None);
        assert!(line.starts_with("sh -c '"));
        assert_eq!(run_locally(&line), "rmachine-test|one|two words|it's|");
        assert_eq!(command_line(&script, &arguments, Some(Privilege::Root)), line);
        assert_eq!(command_line(&script, &arguments, Some(Privilege::Sudo)), format!("sudo -n {line}"));
    }

    #[test]
    fn every_script_is_valid_posix_shell() {
        for script in [
            FACTS,
            SET_HOSTNAME,
            INSTALL_PACKAGES_APT,
            INSTALL_FROM_URL,
            WRITE_FILES,
            RESTORE_FILES,
            RESTART_DOCKER_SYSTEMD,
            JOURNAL_SYSTEMD,
            PACKAGES,
            ENSURE_REMAP_USER,
            VERIFY_ENGINE,
            DOWNLOAD_RUNTIME,
            RESTART_DOCKER_INIT,
            LOG_FILE_TAIL,
        ] {
            let output = Command::new("sh").arg("-n").arg("-c").arg(script.text).output().expect("sh runs");
            assert!(output.status.success(), "{}: {output:?}", script.name);
        }
    }
}

#[cfg(test)]
#[path = "shell_writes_tests.rs"]
mod writes_tests;
