//! User-namespace remapping: which user and group a `--engine-userns-remap` value names, whether
//! the host still lacks that user or its subordinate ranges (then `scripts/ensure-remap-user.sh`
//! creates them), and the range a container's uid_map must show.

use crate::facts::HostFacts;

/// The user dockerd creates itself for `"userns-remap": "default"`.
pub(crate) const DEFAULT_REMAP_USER: &str = "dockremap";

/// The user and group a remap value names ("default" → dockremap:dockremap; "USER" → USER:USER).
pub(crate) fn user_and_group(remap: &str) -> (String, String) {
    if remap == "default" {
        return (DEFAULT_REMAP_USER.into(), DEFAULT_REMAP_USER.into());
    }
    match remap.split_once(':') {
        Some((user, group)) => (user.to_string(), group.to_string()),
        None => (remap.to_string(), remap.to_string()),
    }
}

/// Whether a named remap user still needs creating, or its /etc/subuid or /etc/subgid range
/// (dockerd creates "default"'s own on start).
pub(crate) fn needs_setup(remap: &str, facts: &HostFacts) -> bool {
    if remap == "default" {
        return false;
    }
    let (user, group) = user_and_group(remap);
    let has_entry = |path: &str, name: &str| {
        facts.file(path).is_some_and(|text| text.lines().any(|line| line.split(':').next() == Some(name)))
    };
    !has_entry("/etc/passwd", &user)
        || !has_entry("/etc/group", &group)
        || !has_entry("/etc/subuid", &user)
        || !has_entry("/etc/subgid", &group)
}

/// The first subordinate range of `name` in a /etc/subuid-style text: (start, count).
pub(crate) fn first_range(text: &str, name: &str) -> Option<(u64, u64)> {
    text.lines().find_map(|line| {
        let mut fields = line.trim().split(':');
        if fields.next() != Some(name) {
            return None;
        }
        let start = fields.next()?.parse().ok()?;
        let count = fields.next()?.parse().ok()?;
        Some((start, count))
    })
}

/// Where a new range of `count` ids goes: after every existing range in `texts` (subuid and
/// subgid together, so the same start suits both), and not below 100000.
pub(crate) fn free_range_start(texts: &[&str]) -> u64 {
    texts
        .iter()
        .flat_map(|text| text.lines())
        .filter_map(|line| {
            let mut fields = line.trim().split(':').skip(1);
            let start: u64 = fields.next()?.parse().ok()?;
            let length: u64 = fields.next()?.parse().ok()?;
            Some(start + length)
        })
        .max()
        .unwrap_or(0)
        .max(100_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_user_and_group() {
        assert_eq!(user_and_group("default"), ("dockremap".into(), "dockremap".into()));
        assert_eq!(user_and_group("remapper"), ("remapper".into(), "remapper".into()));
        assert_eq!(user_and_group("remapper:staff"), ("remapper".into(), "staff".into()));
    }

    #[test]
    fn a_named_user_needs_setup_until_it_has_both_ranges() {
        let mut facts = HostFacts::for_tests();
        assert!(!needs_setup("default", &facts));
        assert!(needs_setup("remapper", &facts));
        facts.set_file("/etc/passwd", "root:x:0:0::/root:/bin/sh\nremapper:x:999:999::/:/usr/sbin/nologin\n");
        facts.set_file("/etc/group", "root:x:0:\nremapper:x:999:\n");
        facts.set_file("/etc/subuid", "remapper:165536:65536\n");
        assert!(needs_setup("remapper", &facts), "no subgid range yet");
        facts.set_file("/etc/subgid", "remapper:165536:65536\n");
        assert!(!needs_setup("remapper", &facts));
    }

    #[test]
    fn reads_the_first_range() {
        let text = "dockremap:100000:65536\nremapper:165536:65536\nremapper:300000:10\n";
        assert_eq!(first_range(text, "remapper"), Some((165_536, 65_536)));
        assert_eq!(first_range(text, "nobody"), None);
    }

    #[test]
    fn a_new_range_does_not_overlap_existing_ones() {
        assert_eq!(free_range_start(&["", ""]), 100_000);
        assert_eq!(free_range_start(&["dockremap:100000:65536\n", "dockremap:100000:65536\n"]), 165_536);
        assert_eq!(free_range_start(&["a:100000:65536\n", "b:231072:1000\n"]), 232_072);
    }
}
