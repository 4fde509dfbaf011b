//! Every file a remote script writes goes to a temporary name first and is renamed into place,
//! so that a killed rmachine (or a dropped connection) never leaves a half-written file on the
//! host. This test reads every script in `provision/scripts/` and lists where it writes: the
//! targets of `>`/`>>` redirections and of `cp`/`install`; each must be a temporary name, or
//! be here with the reason it may be written in place.

use std::collections::BTreeSet;

/// (script, target) pairs that are written in place, with why that is fine.
const ALLOWED: &[(&str, &str, &str)] = &[
    ("ensure-remap-user.sh", "\"$staged\"", "FILE.rmachine-new, renamed over /etc/subuid or /etc/subgid"),
    ("ensure-remap-user.sh", "cp \"$staged\"", "the copy FILE.rmachine-new that the range is appended to"),
    ("facts.sh", "0", "an awk comparison, not a redirection"),
    ("packages.sh", "1", "an awk comparison, not a redirection"),
    ("packages.sh", "2", "an awk comparison, not a redirection"),
    ("runtime-wrapper.sh", "@LOG@", "an append-only log of the runtime's errors"),
    ("set-hostname.sh", "/proc/sys/kernel/hostname", "procfs: sets the running hostname"),
    ("set-hostname.sh", "\"$staged\"", "DEST.rmachine-new, renamed over /etc/hostname or /etc/hosts"),
    ("set-hostname.sh", "cp \"$staged\"", "DEST.rmachine-new, renamed over /etc/hostname or /etc/hosts"),
    ("set-hostname.sh", "\"$2\"", "the in-place fallback for a bind-mounted /etc/hostname or /etc/hosts"),
    ("set-hostname.sh", "\"$hostname_new\"", "a mktemp file"),
    ("set-hostname.sh", "\"$hosts_new\"", "a mktemp file"),
    ("verify-engine.sh", "cp \"$root$file\"", "the smoke image's root, a mktemp -d directory"),
    ("verify-engine.sh", "cp \"$root/bin/$program\"", "the smoke image's root, a mktemp -d directory"),
    ("download-runtime.sh", "install \"$destination.rmachine-new\"", "renamed over the runtime's binary"),
    ("write-files.sh", "\"$input\"", "a mktemp file"),
    ("write-files.sh", "\"$staged\"", "DEST.rmachine-new, renamed over DEST"),
    ("write-files.sh", "\"$marker.rmachine-new\"", "renamed over the marker"),
    ("write-files.sh", "cp \"$1.rmachine-bak-new\"", "renamed over DEST.rmachine-bak"),
];

/// The targets of redirections in `line` (not counting /dev/null and descriptor copies).
fn redirection_targets(line: &str) -> Vec<String> {
    let bytes = line.as_bytes();
    let mut targets = Vec::new();
    let mut index = 0;
    while let Some(offset) = line[index..].find('>') {
        let at = index + offset;
        let mut start = at + 1;
        if bytes.get(start) == Some(&b'>') {
            start += 1;
        }
        let previous = if at == 0 { b' ' } else { bytes[at - 1] };
        if matches!(bytes.get(start), Some(b'&' | b'=')) || matches!(previous, b'-' | b'=' | b'<') {
            index = start;
            continue;
        }
        let rest = line[start..].trim_start();
        let target: String = rest.chars().take_while(|character| !" ;|&)\n".contains(*character)).collect();
        if target != "/dev/null" {
            targets.push(target);
        }
        index = start;
    }
    targets
}

/// The destinations of `cp` and `install` commands in `line`: their last argument.
fn copy_targets(line: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for command in line.split(['&', ';', '|', '{', '}']) {
        let words: Vec<&str> = command.split_whitespace().collect();
        if let Some(program @ ("cp" | "install")) = words.first().copied()
            && let Some(last) = words.last().filter(|_| words.len() > 2)
        {
            targets.push(format!("{program} {last}"));
        }
    }
    targets
}

#[test]
fn every_file_a_script_writes_goes_to_a_temporary_name_first() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let script = path.file_name().unwrap().to_string_lossy().into_owned();
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            for target in redirection_targets(line).into_iter().chain(copy_targets(line)) {
                found.insert((script.clone(), target));
            }
        }
    }
    let allowed: BTreeSet<(String, String)> =
        ALLOWED.iter().map(|(script, target, _)| (script.to_string(), target.to_string())).collect();
    let unexpected: Vec<_> = found.difference(&allowed).collect();
    assert!(
        unexpected.is_empty(),
        "scripts write these in place: write each to a temporary name and rename it (then list it here): {unexpected:?}"
    );
    let stale: Vec<_> = allowed.difference(&found).collect();
    assert!(stale.is_empty(), "listed but no longer written: {stale:?}");
}

#[test]
fn the_scanner_finds_redirections_and_copies() {
    assert_eq!(redirection_targets("printf x >\"$a\" 2>/dev/null; cat y >> /etc/hosts"), ["\"$a\"", "/etc/hosts"]);
    assert!(redirection_targets("printf x >&2; [ 1 -gt 0 ] && echo a->b").is_empty());
    assert_eq!(copy_targets("cp -p \"$1\" \"$1.new\" && mv -f a b"), ["cp \"$1.new\""]);
    assert_eq!(copy_targets("install -m 0755 \"$found\" \"$d\""), ["install \"$d\""]);
}
