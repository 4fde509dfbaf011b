//! known_hosts lines: `with_pinned_line` on any existing file leaves the pinned line exactly once,
//! no other line for that host, every other line as it was and in order, and is idempotent; a
//! `known_hosts_line` is one line; any text given as a public key line is parsed without panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmachine_fuzz::host_key::{known_hosts_line, with_pinned_line};
use rmachine_fuzz::public_key_fingerprint;

/// A host name or address of the characters the drivers accept (letters, digits, `.-:`).
fn host(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789.-:";
    let host: String = data.iter().take(20).map(|byte| ALPHABET[*byte as usize % ALPHABET.len()] as char).collect();
    if host.is_empty() { "10.0.0.5".into() } else { host }
}

fuzz_target!(|data: &[u8]| {
    let (head, existing) = data.split_at(data.len().min(24));
    let existing = String::from_utf8_lossy(existing).into_owned();
    let _ = public_key_fingerprint(&existing);
    let port = u16::from_le_bytes([*head.first().unwrap_or(&22), *head.get(1).unwrap_or(&0)]);
    let host = host(head.get(2..).unwrap_or_default());
    let line = known_hosts_line(
        &host,
        port,
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK4eFfuyZ7VWOoT1rEVeMDKvyjmFWeKgXIVvxDjd0qVz c",
    );
    assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
    let pattern = line.split_whitespace().next().unwrap().to_string();

    let (updated, _) = with_pinned_line(&existing, &line);
    let lines: Vec<&str> = updated.split_terminator('\n').collect();
    assert_eq!(lines.iter().filter(|current| current.trim() == line).count(), 1, "{updated:?}");
    for current in &lines {
        if current.split_whitespace().next() == Some(pattern.as_str()) {
            assert_eq!(current.trim(), line, "another key for {pattern} is kept: {updated:?}");
        }
    }
    let others: Vec<&str> = existing
        .split_terminator('\n')
        .filter(|current| current.split_whitespace().next() != Some(pattern.as_str()) && current.trim() != line)
        .collect();
    let kept: Vec<&str> = lines.iter().copied().filter(|current| current.trim() != line).collect();
    assert_eq!(kept, others, "lines for other hosts changed");
    assert_eq!(with_pinned_line(&updated, &line), (updated.clone(), false), "not idempotent");
});
