//! Tests of the pipeline's decisions that need no host; the whole pipeline against a fake
//! remote is tested in `tests/pipeline.rs`.

use super::*;

fn facts_with_hosts(hostname: &str, etc_hostname: &str, hosts: &str) -> HostFacts {
    let text = format!(
        "@@rmachine-section@@ user-id\n0\n@@rmachine-section@@ sudo\nroot\n\n\
         @@rmachine-section@@ hostname\n{hostname}\n\n\
         @@rmachine-section@@ file /etc/hostname\n{etc_hostname}\n\
         @@rmachine-section@@ file /etc/hosts\n{hosts}\n"
    );
    HostFacts::parse(&text).unwrap()
}

#[test]
fn hostname_is_left_alone_when_everything_matches() {
    let facts = facts_with_hosts("node1", "node1\n", "127.0.0.1 localhost\n127.0.1.1\tnode1\n");
    assert!(!needs_hostname(&facts, "node1"));
}

#[test]
fn hostname_is_set_when_anything_differs() {
    let hosts = "127.0.0.1 localhost\n127.0.1.1 node1\n";
    assert!(needs_hostname(&facts_with_hosts("debian", "node1\n", hosts), "node1"));
    assert!(needs_hostname(&facts_with_hosts("node1", "debian\n", hosts), "node1"));
    assert!(needs_hostname(&facts_with_hosts("node1", "node1\n", "127.0.0.1 localhost\n"), "node1"));
    assert!(needs_hostname(&facts_with_hosts("node1", "node1\n", "127.0.1.1 node1 alias\n"), "node1"));
    assert!(needs_hostname(&facts_with_hosts("node1", "node1\n", "127.0.1.1 node1\n127.0.1.1 other\n"), "node1"));
}

#[test]
fn machine_names_must_be_hostnames() {
    for good in ["node1", "my-host", "a.b.c", "x"] {
        assert!(check_hostname(good).is_ok(), "{good}");
    }
    for bad in ["", "-x", "x-", "a..b", "with space", "under_score", "semi;colon", &"a".repeat(64)] {
        assert!(check_hostname(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn sudo_messages_lose_their_prefix() {
    assert_eq!(sudo_said("sudo: a password is required\n"), "a password is required");
    assert_eq!(sudo_said("\nsudo: sorry, you must have a tty to run sudo"), "sorry, you must have a tty to run sudo");
    assert_eq!(sudo_said(""), "no message");
}

#[test]
fn password_sudo_error_names_user_host_and_fix() {
    let mut facts = HostFacts::for_tests();
    facts.user_name = "admin".into();
    facts.sudo = SudoState::Denied("sudo: a password is required".into());
    let error = privilege(&facts, "admin@10.0.0.5:22").unwrap_err().to_string();
    assert_eq!(
        error,
        "user admin on 10.0.0.5:22 needs passwordless sudo: sudo said 'a password is required'; \
         add 'admin ALL=(ALL) NOPASSWD:ALL' to /etc/sudoers.d/ or use root"
    );
}
