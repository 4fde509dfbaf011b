//! Copying files and folders between this machine and machines, over rmachine's own SSH
//! session (pinned host key). Files go through `cat`/`dd` on the host, folders through `tar`;
//! files larger than one chunk travel in chunks so that a progress bar can follow them.

use crate::output::TransferProgress;
use crate::ssh::Session;
use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};
use tokio::process::Command;

/// Files larger than this move in chunks of this size (with a progress bar on a terminal).
pub const CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// One side of a copy: `[USER@]MACHINE:PATH` or a local path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    /// `user`: another login than the machine's SSH user (docker-machine's `user@machine:`).
    Remote {
        machine: String,
        path: String,
        user: Option<String>,
    },
}

impl Location {
    /// `[USER@]MACHINE:PATH` is remote when MACHINE is a machine (`is_machine`); `localhost:PATH`
    /// and anything else is local (use ./a:b for a local file with a colon).
    pub fn parse(text: &str, is_machine: &dyn Fn(&str) -> bool) -> Location {
        if let Some((prefix, path)) = text.split_once(':')
            && !prefix.contains('/')
        {
            let (user, machine) = match prefix.split_once('@') {
                Some((user, machine)) if !user.is_empty() => (Some(user.to_string()), machine),
                _ => (None, prefix),
            };
            if !machine.is_empty() && is_machine(machine) {
                let path = if path.is_empty() { "." } else { path };
                return Location::Remote { machine: machine.to_string(), path: path.to_string(), user };
            }
            // docker-machine's `localhost:PATH` is a local path (unless a machine has that name).
            if prefix == "localhost" {
                return Location::Local(PathBuf::from(path));
            }
        }
        Location::Local(PathBuf::from(text))
    }
}

/// A remote path quoted for the shell, with a leading `~/` kept as the home folder.
pub fn remote_quote(path: &str) -> String {
    let quote = |text: &str| format!("'{}'", text.replace('\'', r"'\''"));
    match path.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
        None if path == "~" => "\"$HOME\"".to_string(),
        None => quote(path),
    }
}

fn base_name(path: &str) -> String {
    Path::new(path.trim_end_matches('/'))
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

async fn run_checked(session: &Session, command: &str, stdin: Option<&[u8]>) -> anyhow::Result<Vec<u8>> {
    let output = session.run(command, stdin).await?;
    if output.exit_status != 0 {
        bail!(
            "'{command}' on {} failed with status {}: {}",
            session.describe(),
            output.exit_status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output.stdout)
}

/// Where a copy of `source_name` lands on the host: inside `destination` when that is a folder.
async fn remote_target(session: &Session, destination: &str, source_name: &str) -> anyhow::Result<String> {
    let is_folder = session.run(&format!("test -d {}", remote_quote(destination)), None).await?.exit_status == 0;
    Ok(if is_folder { format!("{}/{source_name}", destination.trim_end_matches('/')) } else { destination.to_string() })
}

/// Copies a local file or (with `recursive`) folder to the host.
pub async fn upload(
    session: &Session,
    source: &Path,
    destination: &str,
    recursive: bool,
    on_terminal: bool,
) -> anyhow::Result<()> {
    let metadata = std::fs::metadata(source).with_context(|| format!("cannot read {}", source.display()))?;
    let name = base_name(&source.to_string_lossy());
    if metadata.is_dir() {
        if !recursive {
            bail!("{} is a folder: pass -r to copy it", source.display());
        }
        let parent = source.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let archive = local_tar_create(parent, &name).await?;
        let target_is_folder =
            session.run(&format!("test -d {}", remote_quote(destination)), None).await?.exit_status == 0;
        // Into an existing folder: keep the name; else the folder becomes `destination`.
        let command = if target_is_folder {
            format!("tar -C {} -xf -", remote_quote(destination))
        } else {
            format!("mkdir -p {dest} && tar -C {dest} --strip-components=1 -xf -", dest = remote_quote(destination))
        };
        run_checked(session, &command, Some(&archive)).await?;
        return Ok(());
    }
    let contents = std::fs::read(source).with_context(|| format!("cannot read {}", source.display()))?;
    let mode = std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o777;
    let target = remote_target(session, destination, &name).await?;
    if contents.len() <= CHUNK_BYTES {
        session.upload(&target, &contents, mode).await?;
        return Ok(());
    }
    let progress = TransferProgress::new(&name, contents.len() as u64, on_terminal);
    let temporary = format!("{target}.rmachine-scp-{}", std::process::id());
    run_checked(session, &format!("umask 077; : > {}", remote_quote(&temporary)), None).await?;
    for chunk in contents.chunks(CHUNK_BYTES) {
        run_checked(session, &format!("cat >> {}", remote_quote(&temporary)), Some(chunk)).await?;
        progress.advance(chunk.len() as u64);
    }
    run_checked(
        session,
        &format!(
            "chmod {mode:o} {temporary} && mv -f {temporary} {target}",
            temporary = remote_quote(&temporary),
            target = remote_quote(&target)
        ),
        None,
    )
    .await?;
    Ok(())
}

/// Copies a file or (with `recursive`) folder from the host to `destination` here.
pub async fn download(
    session: &Session,
    source: &str,
    destination: &Path,
    recursive: bool,
    on_terminal: bool,
) -> anyhow::Result<()> {
    let quoted = remote_quote(source);
    let kind = run_checked(session, &format!("if [ -d {quoted} ]; then echo folder; elif [ -e {quoted} ]; then stat -c %s {quoted}; else echo missing; fi"), None).await?;
    let kind = String::from_utf8_lossy(&kind).trim().to_string();
    let name = base_name(source);
    let target = if destination.is_dir() { destination.join(&name) } else { destination.to_path_buf() };
    match kind.as_str() {
        "missing" => bail!("{source} does not exist on {}", session.describe()),
        "folder" => {
            if !recursive {
                bail!("{source} is a folder on {}: pass -r to copy it", session.describe());
            }
            let parent = base_parent(source);
            let archive =
                run_checked(session, &format!("tar -C {} -cf - {}", remote_quote(&parent), remote_quote(&name)), None)
                    .await?;
            let (into, strip) = if destination.is_dir() {
                (destination.to_path_buf(), false)
            } else {
                (destination.to_path_buf(), true)
            };
            std::fs::create_dir_all(&into).with_context(|| format!("cannot create {}", into.display()))?;
            local_tar_extract(&into, strip, &archive).await
        }
        size => {
            let size: u64 = size.parse().with_context(|| format!("unexpected answer '{size}' about {source}"))?;
            let contents = if size as usize <= CHUNK_BYTES {
                run_checked(session, &format!("cat -- {quoted}"), None).await?
            } else {
                let progress = TransferProgress::new(&name, size, on_terminal);
                let mut contents = Vec::with_capacity(size as usize);
                let chunks = (size as usize).div_ceil(CHUNK_BYTES);
                for index in 0..chunks {
                    let chunk = run_checked(
                        session,
                        &format!("dd if={quoted} bs={CHUNK_BYTES} skip={index} count=1 status=none"),
                        None,
                    )
                    .await?;
                    progress.advance(chunk.len() as u64);
                    contents.extend_from_slice(&chunk);
                }
                contents
            };
            std::fs::write(&target, contents).with_context(|| format!("cannot write {}", target.display()))
        }
    }
}

fn base_parent(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some(("", _)) => "/".to_string(),
        Some((parent, _)) => parent.to_string(),
        None => ".".to_string(),
    }
}

async fn local_tar_create(parent: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let output =
        Command::new("tar").arg("-C").arg(parent).args(["-cf", "-", name]).output().await.context("cannot run tar")?;
    if !output.status.success() {
        bail!("tar of {}/{name} failed: {}", parent.display(), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(output.stdout)
}

async fn local_tar_extract(into: &Path, strip: bool, archive: &[u8]) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut command = Command::new("tar");
    command.arg("-C").arg(into).args(["-xf", "-"]);
    if strip {
        command.arg("--strip-components=1");
    }
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("cannot run tar")?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin.write_all(archive).await.context("cannot feed tar")?;
    drop(stdin);
    let output = child.wait_with_output().await?;
    if !output.status.success() {
        bail!("extracting into {} failed: {}", into.display(), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_prefixes_make_remote_locations() {
        let known = |name: &str| name == "node1";
        assert_eq!(
            Location::parse("node1:/etc/hosts", &known),
            Location::Remote { machine: "node1".into(), path: "/etc/hosts".into(), user: None }
        );
        assert_eq!(
            Location::parse("node1:", &known),
            Location::Remote { machine: "node1".into(), path: ".".into(), user: None }
        );
        assert_eq!(
            Location::parse("tester@node1:x", &known),
            Location::Remote { machine: "node1".into(), path: "x".into(), user: Some("tester".into()) }
        );
        assert_eq!(Location::parse("tester@other:x", &known), Location::Local("tester@other:x".into()));
        assert_eq!(Location::parse("localhost:/tmp/x", &known), Location::Local("/tmp/x".into()));
        assert_eq!(Location::parse("other:x", &known), Location::Local("other:x".into()));
        assert_eq!(Location::parse("./node1:x", &known), Location::Local("./node1:x".into()));
    }

    #[test]
    fn remote_paths_are_quoted_and_keep_home() {
        assert_eq!(remote_quote("/tmp/it's"), r"'/tmp/it'\''s'");
        assert_eq!(remote_quote("~/a b"), "\"$HOME\"/'a b'");
        assert_eq!(base_parent("/var/log/"), "/var");
        assert_eq!(base_parent("dir"), ".");
    }
}
