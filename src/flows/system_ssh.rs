//! The system's OpenSSH tools pointed at a machine with rmachine's pinned connection settings:
//! `ssh` (extra options, `--external-ssh`), `sshfs` (`mount`) and `rsync` over `ssh` (`scp -d`).
//! Every one gets the machine's key, the machine's own `known_hosts` file in the store (rewritten
//! for its current address first) and strict host-key checking, so no tool trusts a key on first
//! sight as docker-machine's did. A machine with no pinned key yet is pinned over rmachine's own
//! SSH first. Also which words of `ssh NAME ARGS...` are ssh options and which the command.

use crate::context::Context;
use crate::machine_access::{Machine, connect};
use crate::store::Store;
use anyhow::{Context as _, bail};
use std::path::PathBuf;

/// How the system's tools reach one machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedSsh {
    pub user: String,
    pub host: String,
    pub port: u16,
    /// The machine's key; without one, the tools use the ssh-agent.
    pub private_key: Option<PathBuf>,
    /// `machines/NAME/known_hosts`: the pinned key at the current address.
    pub known_hosts: PathBuf,
}

impl PinnedSsh {
    /// The settings for `machine`, its `known_hosts` file written for where it is now.
    pub async fn for_machine(store: &Store, machine: &mut Machine, context: &Context) -> anyhow::Result<PinnedSsh> {
        let name = machine.name().to_string();
        let Some(endpoint) = machine.driver.ssh_endpoint() else {
            bail!(
                "machine '{name}' uses the {} driver, which rmachine does not reach over SSH",
                machine.record.driver_name()
            )
        };
        if machine.record.host_key.is_none() {
            // Learn the key over rmachine's own connection (trust on first use, as create does).
            let session = connect(store, machine, context).await?;
            let key = session.host_key().to_string();
            session.close().await;
            crate::known_hosts::pin(store, machine, &key)?;
        }
        crate::known_hosts::write_machine_file(store, machine)?;
        Ok(PinnedSsh {
            user: endpoint.user,
            host: endpoint.host,
            port: endpoint.port,
            private_key: endpoint.private_key.as_ref().map(|key| store.resolve(key)),
            known_hosts: store.machine_directory(&name).join("known_hosts"),
        })
    }

    /// `ssh`'s options: the key (and only it), the pinned host key, strict checking, the port.
    pub fn ssh_options(&self) -> Vec<String> {
        let mut options = Vec::new();
        if let Some(key) = &self.private_key {
            options.extend(["-i".to_string(), key.display().to_string(), "-o".into(), "IdentitiesOnly=yes".into()]);
        }
        for option in [
            format!("UserKnownHostsFile={}", self.known_hosts.display()),
            "GlobalKnownHostsFile=/dev/null".to_string(),
            "StrictHostKeyChecking=yes".to_string(),
        ] {
            options.extend(["-o".to_string(), option]);
        }
        options.extend(["-p".to_string(), self.port.to_string()]);
        options
    }

    /// `USER@HOST` for ssh.
    pub fn destination(&self, user: Option<&str>) -> String {
        format!("{}@{}", user.unwrap_or(&self.user), self.host)
    }

    /// `USER@HOST:PATH` for sshfs and rsync (an IPv6 address in brackets).
    pub fn remote_path(&self, user: Option<&str>, path: &str) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        format!("{}@{host}:{path}", user.unwrap_or(&self.user))
    }

    /// sshfs's `-o` list: the same settings as [`PinnedSsh::ssh_options`] (commas in paths escaped).
    pub fn sshfs_options(&self) -> String {
        let escape = |path: &std::path::Path| path.display().to_string().replace('\\', "\\\\").replace(',', "\\,");
        let mut options = Vec::new();
        if let Some(key) = &self.private_key {
            options.push(format!("IdentityFile={}", escape(key)));
            options.push("IdentitiesOnly=yes".to_string());
        }
        options.push(format!("UserKnownHostsFile={}", escape(&self.known_hosts)));
        options.push("GlobalKnownHostsFile=/dev/null".to_string());
        options.push("StrictHostKeyChecking=yes".to_string());
        options.push(format!("port={}", self.port));
        options.join(",")
    }

    /// rsync's `-e` command: `ssh` with [`PinnedSsh::ssh_options`], each quoted for rsync.
    pub fn rsync_shell(&self) -> anyhow::Result<String> {
        let mut words = vec!["ssh".to_string()];
        for option in self.ssh_options() {
            if option.contains('\'') {
                bail!("cannot hand '{option}' to rsync: the path contains a single quote");
            }
            words.push(if option.contains(' ') { format!("'{option}'") } else { option });
        }
        Ok(words.join(" "))
    }
}

/// OpenSSH's options that take an argument (`ssh -L 8080:localhost:80`).
const OPTIONS_WITH_ARGUMENT: &str = "BbcDEeFIiJLlmOoPpQRSWw";

/// Splits the words after `ssh NAME` into ssh options and the command, as ssh reads them: options
/// until the first word that is not one (or `--`), an option's argument included.
pub fn split_ssh_options(words: &[String]) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let mut options = Vec::new();
    let mut index = 0;
    while let Some(word) = words.get(index) {
        if word == "--" {
            return Ok((options, words[index + 1..].to_vec()));
        }
        if !word.starts_with('-') || word == "-" {
            break;
        }
        if word.starts_with("--") {
            bail!(
                "ssh has no option '{word}': rmachine's own flags go before the machine name (rmachine ssh --external-ssh NAME ...)"
            );
        }
        options.push(word.clone());
        let letters = &word[1..];
        if let Some((position, letter)) =
            letters.char_indices().find(|(_, letter)| OPTIONS_WITH_ARGUMENT.contains(*letter))
            && position + 1 == letters.len()
        {
            let Some(argument) = words.get(index + 1) else { bail!("the ssh option -{letter} needs an argument") };
            options.push(argument.clone());
            index += 1;
        }
        index += 1;
    }
    Ok((options, words[index..].to_vec()))
}

/// Runs a system tool with the terminal handed over; its exit code (255 when a signal ended it).
/// A missing tool is named with the Debian package that has it.
pub async fn run_tool(program: &str, arguments: &[String], package: &str) -> anyhow::Result<i32> {
    let status = match tokio::process::Command::new(program).args(arguments).status().await {
        Ok(status) => status,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            bail!("'{program}' is not installed here: install it (apt-get install {package}) and try again")
        }
        Err(error) => return Err(error).with_context(|| format!("cannot run {program}")),
    };
    Ok(status.code().unwrap_or(255))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn options_end_at_the_first_word_that_is_not_one() {
        let (options, command) = split_ssh_options(&words("-C -L 8080:localhost:80 -tv uname -a")).unwrap();
        assert_eq!(options, words("-C -L 8080:localhost:80 -tv"));
        assert_eq!(command, words("uname -a"));
        let (options, command) = split_ssh_options(&words("-oBatchMode=yes -p2222 -- -weird")).unwrap();
        assert_eq!(options, words("-oBatchMode=yes -p2222"));
        assert_eq!(command, words("-weird"));
        let (options, command) = split_ssh_options(&words("ls -la")).unwrap();
        assert!(options.is_empty());
        assert_eq!(command, words("ls -la"));
        assert!(split_ssh_options(&words("-L")).unwrap_err().to_string().contains("-L needs an argument"));
        assert!(split_ssh_options(&words("--external-ssh")).unwrap_err().to_string().contains("before the machine"));
    }

    #[test]
    fn every_tool_gets_the_key_the_pinned_host_key_and_strict_checking() {
        let pinned = PinnedSsh {
            user: "admin".into(),
            host: "10.0.0.5".into(),
            port: 2222,
            private_key: Some("/s/machines/n1/id_ssh".into()),
            known_hosts: "/my store/machines/n1/known_hosts".into(),
        };
        assert_eq!(
            pinned.ssh_options().join(" "),
            "-i /s/machines/n1/id_ssh -o IdentitiesOnly=yes -o UserKnownHostsFile=/my store/machines/n1/known_hosts \
             -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -p 2222"
        );
        assert_eq!(
            pinned.rsync_shell().unwrap(),
            "ssh -i /s/machines/n1/id_ssh -o IdentitiesOnly=yes -o 'UserKnownHostsFile=/my store/machines/n1/known_hosts' \
             -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -p 2222"
        );
        assert_eq!(
            pinned.sshfs_options(),
            "IdentityFile=/s/machines/n1/id_ssh,IdentitiesOnly=yes,UserKnownHostsFile=/my store/machines/n1/known_hosts,\
             GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=yes,port=2222"
        );
        assert_eq!(pinned.remote_path(None, "/var/log"), "admin@10.0.0.5:/var/log");
        assert_eq!(pinned.destination(Some("root")), "root@10.0.0.5");
        let agent = PinnedSsh { private_key: None, host: "fd00::5".into(), ..pinned };
        assert!(!agent.ssh_options().contains(&"-i".to_string()));
        assert_eq!(agent.remote_path(None, "x"), "admin@[fd00::5]:x");
    }
}
