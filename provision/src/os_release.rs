//! Parsing of `/etc/os-release` (os-release(5)): `KEY=value` lines whose values may be quoted
//! the shell way. Only reading: choosing an OS family from it is `family`'s job.

use std::collections::BTreeMap;

/// The fields of an os-release file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OsRelease {
    fields: BTreeMap<String, String>,
}

impl OsRelease {
    /// Parses os-release text; lines that are not `KEY=value` are skipped, as os-release(5) says.
    pub(crate) fn parse(text: &str) -> Self {
        let mut fields = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let key = key.trim();
            if key.is_empty() || !key.chars().all(|character| character.is_ascii_alphanumeric() || character == '_') {
                continue;
            }
            fields.insert(key.to_string(), unquote(value.trim()));
        }
        Self { fields }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str).filter(|value| !value.is_empty())
    }

    /// `ID`, lower case; "linux" when missing, as os-release(5) says.
    pub(crate) fn id(&self) -> String {
        self.get("ID").unwrap_or("linux").to_ascii_lowercase()
    }

    /// The words of `ID_LIKE`, lower case, closest relative first.
    pub(crate) fn id_like(&self) -> Vec<String> {
        self.get("ID_LIKE").unwrap_or_default().split_whitespace().map(str::to_ascii_lowercase).collect()
    }

    /// `PRETTY_NAME`, else `NAME VERSION`, else "Linux", as os-release(5) says.
    pub(crate) fn pretty_name(&self) -> String {
        if let Some(pretty_name) = self.get("PRETTY_NAME") {
            return pretty_name.to_string();
        }
        match (self.get("NAME"), self.get("VERSION")) {
            (Some(name), Some(version)) => format!("{name} {version}"),
            (Some(name), None) => name.to_string(),
            _ => "Linux".to_string(),
        }
    }
}

/// Removes shell quoting from an os-release value: `"..."` (with `\"`, `\\`, `\$`, `` \` ``
/// escapes), `'...'`, or a bare word with backslash escapes.
fn unquote(value: &str) -> String {
    let mut result = String::new();
    let mut characters = value.chars();
    let mut quote: Option<char> = None;
    while let Some(character) = characters.next() {
        match (quote, character) {
            (None, '"' | '\'') => quote = Some(character),
            (Some(open), _) if character == open => quote = None,
            (Some('\''), _) => result.push(character),
            (Some(_), '\\') => match characters.next() {
                Some(escaped @ ('"' | '\\' | '$' | '`')) => result.push(escaped),
                Some(other) => {
                    result.push('\\');
                    result.push(other);
                }
                None => result.push('\\'),
            },
            (None, '\\') => {
                if let Some(escaped) = characters.next() {
                    result.push(escaped);
                }
            }
            _ => result.push(character),
        }
    }
    result
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/os-release/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    #[test]
    fn parses_debian_12() {
        let release = OsRelease::parse(&fixture("debian-12"));
        assert_eq!(release.id(), "debian");
        assert!(release.id_like().is_empty());
        assert_eq!(release.pretty_name(), "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(release.get("VERSION_ID"), Some("12"));
        assert_eq!(release.get("VERSION_CODENAME"), Some("bookworm"));
    }

    #[test]
    fn parses_ubuntu() {
        let release = OsRelease::parse(&fixture("ubuntu-24.04"));
        assert_eq!(release.id(), "ubuntu");
        assert_eq!(release.id_like(), vec!["debian"]);
        assert_eq!(release.pretty_name(), "Ubuntu 24.04.1 LTS");
        let release = OsRelease::parse(&fixture("ubuntu-22.04"));
        assert_eq!(release.get("VERSION_ID"), Some("22.04"));
    }

    #[test]
    fn parses_several_id_like_words() {
        let release = OsRelease::parse(&fixture("rocky-9"));
        assert_eq!(release.id(), "rocky");
        assert_eq!(release.id_like(), vec!["rhel", "centos", "fedora"]);
        let release = OsRelease::parse(&fixture("linuxmint-21"));
        assert_eq!(release.id_like(), vec!["ubuntu", "debian"]);
    }

    #[test]
    fn handles_quoting_escapes_and_comments() {
        let release = OsRelease::parse(
            "# comment\n\
             NAME='Single Quoted'\n\
             VERSION=\"1 \\\"quoted\\\" \\$x \\\\ \\n\"\n\
             ID=bare\\ word\n\
             ID_LIKE=\n\
             not a field\n\
             =nokey\n\
             BAD-KEY=x\n",
        );
        assert_eq!(release.get("NAME"), Some("Single Quoted"));
        assert_eq!(release.get("VERSION"), Some("1 \"quoted\" $x \\ \\n"));
        assert_eq!(release.id(), "bare word");
        assert!(release.id_like().is_empty());
        assert_eq!(release.get("BAD-KEY"), None);
        assert_eq!(release.pretty_name(), "Single Quoted 1 \"quoted\" $x \\ \\n");
    }

    #[test]
    fn missing_fields_fall_back_as_os_release_says() {
        let release = OsRelease::parse("");
        assert_eq!(release.id(), "linux");
        assert_eq!(release.pretty_name(), "Linux");
    }
}
