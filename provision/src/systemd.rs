//! Reading systemd units: the docker unit's ExecStart (split into words that keep their
//! quoting), its -H/--host flags, socket activation, and foreign drop-ins that set ExecStart.

/// rmachine's drop-in for docker.service.
pub(crate) const DROP_IN_PATH: &str = "/etc/systemd/system/docker.service.d/10-rmachine.conf";
pub(crate) const DROP_IN_NAME: &str = "10-rmachine.conf";

/// docker-machine's drop-in for docker.service: `-H` flags and TLS on dockerd's command line,
/// which clash with rmachine's daemon.json (dockerd refuses a setting given both ways).
pub(crate) const DOCKER_MACHINE_DROP_IN_NAME: &str = "10-machine.conf";

/// What docker-machine's drop-in becomes once rmachine configures the engine: comments only, so
/// systemd applies nothing of it (its original is kept beside it as `.rmachine-bak`).
pub(crate) const NEUTRALISED_DOCKER_MACHINE_DROP_IN: &str = "\
# Written by rmachine. This was docker-machine's drop-in for docker.service; rmachine configures
# the engine in /etc/docker/daemon.json and 10-rmachine.conf instead, so nothing is set here
# (dockerd refuses -H or TLS flags that daemon.json also sets). docker-machine's version is kept
# as 10-machine.conf.rmachine-bak until the next change to this file.
";

/// The command of the last `ExecStart=` in the `[Service]` section of `unit_text`; None when
/// there is none or the last one resets it (`ExecStart=`).
pub(crate) fn exec_start(unit_text: &str) -> Option<String> {
    let mut in_service = false;
    let mut found = None;
    for line in logical_lines(unit_text) {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            in_service = line == "[Service]";
            continue;
        }
        if !in_service {
            continue;
        }
        if let Some((key, value)) = line.split_once('=')
            && key.trim() == "ExecStart"
        {
            let value = value.trim();
            found = (!value.is_empty()).then(|| value.to_string());
        }
    }
    found
}

/// Whether a drop-in's text assigns a (non-empty) ExecStart.
pub(crate) fn sets_exec_start(unit_text: &str) -> bool {
    exec_start(unit_text).is_some()
}

/// Lines with backslash continuations joined, as systemd reads them.
fn logical_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        if let Some(continued) = line.strip_suffix('\\') {
            pending.push_str(continued);
            pending.push(' ');
        } else {
            pending.push_str(line);
            lines.push(std::mem::take(&mut pending));
        }
    }
    if !pending.is_empty() {
        lines.push(pending);
    }
    lines
}

/// Splits an ExecStart command into words on unquoted whitespace; each word keeps its quotes
/// and escapes as written, so it can go back into a unit file unchanged.
pub(crate) fn split_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut characters = command.chars();
    while let Some(character) = characters.next() {
        match (quote, character) {
            (_, '\\') => {
                word.push(character);
                if let Some(escaped) = characters.next() {
                    word.push(escaped);
                }
            }
            (None, '"' | '\'') => {
                quote = Some(character);
                word.push(character);
            }
            (Some(open), _) if character == open => {
                quote = None;
                word.push(character);
            }
            (None, _) if character.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(character),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The arguments of an ExecStart command (its words after the program, the program's special
/// prefixes `-@+!:` understood), and the hosts its -H/--host flags named.
pub(crate) fn arguments_and_hosts(command: &str) -> (Vec<String>, Vec<String>) {
    let words = split_words(command);
    let Some(program) = words.first() else {
        return (Vec::new(), Vec::new());
    };
    let prefixes = &program[..program.len() - program.trim_start_matches(['-', '@', '+', '!', ':']).len()];
    // With '@', the word after the program is argv[0], not an argument.
    let skip = if prefixes.contains('@') { 2 } else { 1 };
    let mut arguments = Vec::new();
    let mut hosts = Vec::new();
    let mut rest = words.into_iter().skip(skip);
    while let Some(word) = rest.next() {
        let bare = unquote_simple(&word);
        if bare == "-H" || bare == "--host" {
            hosts.extend(rest.next());
        } else if let Some(host) =
            bare.strip_prefix("--host=").or_else(|| word.strip_prefix("-H=")).or_else(|| word.strip_prefix("-H"))
        {
            hosts.push(host.to_string());
        } else {
            arguments.push(word);
        }
    }
    let hosts = hosts.into_iter().map(|host| unquote_simple(&host)).collect();
    (arguments, hosts)
}

/// Drops the surrounding quotes of a word written as `"x"` or `'x'`.
fn unquote_simple(word: &str) -> String {
    for quote in ['"', '\''] {
        if let Some(inner) = word.strip_prefix(quote).and_then(|rest| rest.strip_suffix(quote)) {
            return inner.to_string();
        }
    }
    word.to_string()
}

/// The file name of a path.
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN_UNIT: &str = "[Service]\nType=notify\nEnvironmentFile=-/etc/default/docker\n\
        ExecStart=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS\n\
        ExecReload=/bin/kill -s HUP $MAINPID\n";

    #[test]
    fn reads_debian_docker_io_exec_start() {
        let command = exec_start(DEBIAN_UNIT).unwrap();
        let (arguments, hosts) = arguments_and_hosts(&command);
        assert_eq!(arguments, ["--containerd=/run/containerd/containerd.sock", "$DOCKER_OPTS"]);
        assert_eq!(hosts, ["fd://"]);
    }

    #[test]
    fn last_exec_start_wins_and_a_reset_clears_it() {
        let unit = "[Unit]\nExecStart=/not/service\n[Service]\nExecStart=/a\nExecStart=\nExecStart=/b -x\n";
        assert_eq!(exec_start(unit).as_deref(), Some("/b -x"));
        assert_eq!(exec_start("[Service]\nExecStart=/a\nExecStart=\n"), None);
        assert_eq!(exec_start("[Unit]\nExecStart=/a\n"), None);
        assert!(!sets_exec_start("[Service]\nEnvironment=A=B\n"));
        assert!(sets_exec_start("[Service]\nExecStart=\nExecStart=/x\n"));
    }

    #[test]
    fn continuations_and_comments() {
        let unit = "[Service]\n# ExecStart=/commented\nExecStart=/usr/bin/dockerd \\\n  -H unix:// \\\n  --debug\n";
        let (arguments, hosts) = arguments_and_hosts(&exec_start(unit).unwrap());
        assert_eq!(arguments, ["--debug"]);
        assert_eq!(hosts, ["unix://"]);
    }

    #[test]
    fn every_host_flag_spelling_is_removed() {
        let (arguments, hosts) = arguments_and_hosts(
            "-/usr/bin/dockerd -H fd:// --host tcp://0.0.0.0:2375 --host=unix:///a.sock -H=tcp://b:1 -Htcp://c:2 \"-H\" unix:///d.sock --containerd=/run/containerd/containerd.sock --label 'a b'",
        );
        assert_eq!(arguments, ["--containerd=/run/containerd/containerd.sock", "--label", "'a b'"]);
        assert_eq!(
            hosts,
            ["fd://", "tcp://0.0.0.0:2375", "unix:///a.sock", "tcp://b:1", "tcp://c:2", "unix:///d.sock"]
        );
        let (arguments, _) = arguments_and_hosts("@/usr/bin/dockerd dockerd --debug");
        assert_eq!(arguments, ["--debug"]);
    }

    #[test]
    fn words_keep_their_quoting() {
        assert_eq!(
            split_words(r#"/bin/x "a b" 'c d' e\ f "g\"h"  "#),
            [r"/bin/x", r#""a b""#, "'c d'", r"e\ f", r#""g\"h""#]
        );
    }

    #[test]
    fn file_names() {
        assert_eq!(file_name(DROP_IN_PATH), DROP_IN_NAME);
        assert_eq!(file_name("override.conf"), "override.conf");
    }
}
