//! Hostile and broken host contents through the whole pipeline (`fake_host`), one table each:
//! os-release files (garbage, shell syntax, odd quoting and line endings) are either read as the
//! family they name or refused with a message that shows what the host said, before anything
//! changes; a daemon.json someone else left (invalid JSON, comments, keys rmachine sets itself, not
//! an object) is replaced by rmachine's, with a warning, and kept byte for byte as the backup; a
//! host whose login shell or sudo prints a banner is provisioned as any other, with a warning.
//! Prints `figure: hostile host contents tried N`.

mod fake_host;

use fake_host::{FakeCheck, FakeHost, run};
use rmachine_provision::EngineOptions;

const DAEMON_JSON: &str = "/etc/docker/daemon.json";

/// What provisioning must make of an os-release file.
enum Verdict {
    Family(&'static str),
    Refused(&'static str),
}

const OS_RELEASES: &[(&str, &str, Verdict)] = &[
    ("an empty file", "", Verdict::Refused("runs Linux (ID=none, ID_LIKE=none)")),
    ("binary garbage", "\u{0}\u{1}\u{fffd}\u{7f}ID\u{0}=debian\n", Verdict::Refused("ID=none")),
    (
        "an ID with shell syntax",
        "ID=$(reboot)\nPRETTY_NAME=\"`reboot`\"\n",
        Verdict::Refused("runs `reboot` (ID=$(reboot)"),
    ),
    ("an ID with a command after it", "ID=\"debian; rm -rf /\"\n", Verdict::Refused("ID=debian; rm -rf /")),
    ("an unclosed quote", "ID=\"debian\nVERSION_ID=12\n", Verdict::Family("debian")),
    ("CRLF line endings", "ID=debian\r\nVERSION_ID=\"12\"\r\nPRETTY_NAME=\"Debian 12\"\r\n", Verdict::Family("debian")),
    ("a repeated key: the last one counts", "ID=fedora\nID=debian\n", Verdict::Family("debian")),
    ("a capitalised ID", "ID=Debian\n", Verdict::Family("debian")),
    (
        "leading spaces, comments and junk lines",
        "  # comment\n\njunk without equals\n  ID=debian  \n",
        Verdict::Family("debian"),
    ),
    ("an unknown ID like a known family", "ID=myco\nID_LIKE=\"foo bar debian\"\n", Verdict::Family("debian")),
    ("a very long line", "", Verdict::Refused("ID=none")),
    ("a key with spaces", "I D=debian\n", Verdict::Refused("ID=none")),
];

#[tokio::test]
async fn os_release_files_are_read_as_data_or_refused_before_anything_changes() {
    for (what, text, verdict) in OS_RELEASES {
        let text = if *what == "a very long line" {
            format!("PRETTY_NAME={}\n", "x".repeat(1 << 20))
        } else {
            text.to_string()
        };
        let host = FakeHost::debian().with(|state| state.os_release = text.clone());
        let (result, _) = run(&host, &FakeCheck::ready(), &EngineOptions::default()).await;
        match (verdict, result) {
            (Verdict::Family(family), Ok(report)) => assert_eq!(report.family, *family, "{what}"),
            (Verdict::Refused(says), Err(error)) => {
                let message = error.to_string();
                assert!(message.contains(says), "{what}: {message}");
                assert!(message.contains("which rmachine cannot provision yet; supported:"), "{what}: {message}");
                assert_eq!(host.command_names(), ["rmachine-facts"], "{what}: the host was changed");
            }
            (Verdict::Family(family), Err(error)) => panic!("{what}: expected {family}, got {error}"),
            (Verdict::Refused(says), Ok(report)) => {
                panic!("{what}: expected a refusal ({says}), got {}", report.family)
            }
        }
    }
}

/// A daemon.json rmachine finds, and what its warning must say.
const FOREIGN_DAEMON_JSONS: &[(&str, &str, &str)] = &[
    ("invalid JSON", "{\"debug\": true,,}", "was not a JSON object; it was replaced"),
    ("JSON with comments", "{\n  // added by ops\n  \"debug\": true\n}\n", "was not a JSON object; it was replaced"),
    ("a JSON array", "[\"debug\"]\n", "was not a JSON object; it was replaced"),
    ("binary garbage", "\u{0}\u{1}\u{2}PK\u{3}\u{4}", "was not a JSON object; it was replaced"),
    (
        "keys rmachine sets itself",
        "{\"hosts\": [\"tcp://0.0.0.0:2375\"], \"tls\": false, \"labels\": [\"team=ops\"], \"debug\": true}\n",
        "set debug which the new one does not",
    ),
    ("a huge object", "", "set k0, k1, k10, k100, k1000, k10000, k10001, k10002, k10003, k10004 and 19990 more"),
];

#[tokio::test]
async fn a_daemon_json_someone_else_left_is_replaced_with_a_warning_and_kept_as_the_backup() {
    for (what, text, says) in FOREIGN_DAEMON_JSONS {
        let text = if *what == "a huge object" {
            let keys: Vec<String> = (0..20_000).map(|index| format!("\"k{index}\": \"{}\"", "v".repeat(50))).collect();
            format!("{{{}}}", keys.join(", "))
        } else {
            text.to_string()
        };
        let host = FakeHost::debian_with_docker()
            .with(|state| drop(state.files.insert(DAEMON_JSON.into(), (text.as_bytes().to_vec(), 0o644))));
        let report = run(&host, &FakeCheck::ready(), &EngineOptions::default()).await.0.unwrap();
        assert!(report.warnings.iter().any(|warning| warning.contains(says)), "{what}: {:?}", report.warnings);
        let written: serde_json::Value = serde_json::from_str(&host.file(DAEMON_JSON).unwrap()).unwrap();
        assert_eq!(written["tls"], true, "{what}: rmachine's settings win");
        assert_eq!(written["hosts"], serde_json::json!(["fd://", "tcp://0.0.0.0:2376"]), "{what}");
        assert_eq!(
            host.state
                .lock()
                .unwrap()
                .files
                .get(&format!("{DAEMON_JSON}.rmachine-bak"))
                .map(|(bytes, _)| bytes.clone()),
            Some(text.as_bytes().to_vec()),
            "{what}: the old file is kept byte for byte"
        );
    }
}

#[tokio::test]
async fn a_host_that_prints_banners_is_provisioned_and_the_banner_set_apart() {
    let banner = "*** AUTHORIZED USE ONLY: activity is logged ***\nWelcome to node1\n";
    let host = FakeHost::debian_with_docker().with(|state| state.banner = Some(banner.into()));
    let engine = EngineOptions { labels: vec!["a=b".into()], ..EngineOptions::default() };
    let report = run(&host, &FakeCheck::ready(), &engine).await.0.unwrap();
    assert!(
        report.warnings.iter().any(|warning| warning.contains("prints text before each command rmachine runs")
            && warning.contains("AUTHORIZED USE ONLY")),
        "{:?}",
        report.warnings
    );
    let written: serde_json::Value = serde_json::from_str(&host.file(DAEMON_JSON).unwrap()).unwrap();
    assert_eq!(written["labels"], serde_json::json!(["a=b", "provider=generic"]));
    host.clear_commands();
    let again = run(&host, &FakeCheck::ready(), &engine).await.0.unwrap();
    assert!(!again.changed, "the banner does not make the host look changed");
    println!("figure: hostile host contents tried {}", OS_RELEASES.len() + FOREIGN_DAEMON_JSONS.len() + 1);
}
