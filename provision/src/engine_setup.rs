//! The pipeline's steps around the engine's configuration: installing the engine (with a
//! version pin), the userns-remap user, and the extra runtime's binary.

use crate::engine_options::EngineOptions;
use crate::error::ProvisionError;
use crate::facts::HostFacts;
use crate::family::OsFamily;
use crate::install::{self, InstallRefusal};
use crate::managed_files::ManagedFile;
use crate::plan;
use crate::remote::Remote;
use crate::runtime;
use crate::session::{Session, text_of};
use crate::userns;

/// How many subordinate ids a userns-remap user gets.
const REMAP_RANGE_COUNT: u64 = 65_536;

/// The local runtime binary to upload, read before anything touches the host.
pub(crate) fn read_runtime_binary(options: &EngineOptions) -> Result<Option<Vec<u8>>, ProvisionError> {
    let Some(path) = &options.runtime_binary else {
        return Ok(None);
    };
    std::fs::read(path).map(Some).map_err(|error| ProvisionError::InvalidEngineOptions {
        problems: vec![format!("cannot read the runtime binary {path}: {error}")],
    })
}

/// The runtime's files: the wrapper Docker calls and, when uploaded, the binary.
pub(crate) fn runtime_files(options: &EngineOptions, binary: Option<Vec<u8>>) -> Vec<ManagedFile> {
    let Some(runtime) = &options.runtime else {
        return Vec::new();
    };
    let mut files = Vec::new();
    if let Some(binary) = binary {
        files.push(ManagedFile::new(&runtime::binary_path(runtime), 0o755, binary));
    }
    files.push(runtime::wrapper_file(runtime));
    files
}

/// Downloads the runtime's release when it is to come from a URL and the host lacks it.
pub(crate) async fn download_runtime<R: Remote>(
    session: &mut Session<'_, R>,
    facts: &HostFacts,
    options: &EngineOptions,
    on_phase: &(dyn Fn(&str) + Sync),
) -> Result<(), ProvisionError> {
    let Some(runtime) = &options.runtime else {
        return Ok(());
    };
    let destination = runtime::binary_path(runtime);
    if options.runtime_binary.is_some() || facts.file_state(&destination).is_some() {
        return Ok(());
    }
    let url = options.runtime_url.as_deref().unwrap_or(runtime::YOUKI_RELEASE_URL);
    let sha256 = options.runtime_sha256.as_deref().unwrap_or_default();
    on_phase(&format!("downloading {runtime} from {url}"));
    session.run_checked(&plan::download_runtime(url, sha256, runtime, &destination)).await.map(drop)
}

/// Creates a named userns-remap user and its ranges when the host lacks them.
pub(crate) async fn prepare_remap_user<R: Remote>(
    session: &mut Session<'_, R>,
    facts: &HostFacts,
    options: &EngineOptions,
    on_phase: &(dyn Fn(&str) + Sync),
) -> Result<(), ProvisionError> {
    let Some(remap) = options.effective_userns_remap() else {
        return Ok(());
    };
    if !userns::needs_setup(remap, facts) {
        return Ok(());
    }
    let (user, group) = userns::user_and_group(remap);
    let start = userns::free_range_start(&[
        facts.file("/etc/subuid").unwrap_or_default(),
        facts.file("/etc/subgid").unwrap_or_default(),
    ]);
    on_phase(&format!("creating the userns-remap user {user}"));
    session.run_checked(&plan::ensure_remap_user(&user, &group, start, REMAP_RANGE_COUNT)).await.map(drop)
}

/// Installs the engine the way the options say: the family's packages (pinned when asked, and
/// refused when the packages cannot honour the pin) or an install script (with VERSION=).
pub(crate) async fn install_engine<R: Remote>(
    session: &mut Session<'_, R>,
    facts: &HostFacts,
    family: &OsFamily,
    options: &EngineOptions,
    on_phase: &(dyn Fn(&str) + Sync),
) -> Result<(), ProvisionError> {
    let refused = |session: &Session<'_, R>, refusal: InstallRefusal| match refusal {
        InstallRefusal::NotAllowed | InstallRefusal::Preinstalled { .. } => {
            ProvisionError::EngineMissing { host: session.host.clone(), reason: refusal.describe() }
        }
        InstallRefusal::PinUnavailable { .. } => {
            ProvisionError::InstallRefused { host: session.host.clone(), reason: refusal.describe() }
        }
    };
    let packages = if options.install_url.is_none() {
        pinned_packages(session, family, options.engine_version.as_deref(), on_phase)
            .await?
            .map_err(|refusal| refused(session, refusal))?
    } else {
        install::unpinned_packages(family)
    };
    let has_downloader = facts.program("curl").is_some() || facts.program("wget").is_some();
    let commands = install::install_plan(
        family,
        options.install_url.as_deref(),
        &packages,
        has_downloader,
        options.engine_version.as_deref(),
    )
    .map_err(|refusal| refused(session, refusal))?;
    for command in commands {
        let phase = command
            .description
            .split_once(" install ")
            .map_or_else(|| command.description.clone(), |(_, what)| format!("installing {what}"));
        on_phase(&phase);
        session.run_checked(&command).await?;
    }
    Ok(())
}

/// The engine packages, pinned to `pin` when given (asking the host which versions it offers).
pub(crate) async fn pinned_packages<R: Remote>(
    session: &mut Session<'_, R>,
    family: &OsFamily,
    pin: Option<&str>,
    on_phase: &(dyn Fn(&str) + Sync),
) -> Result<Result<Vec<String>, InstallRefusal>, ProvisionError> {
    let (Some(pin), Some(command)) = (pin, install::versions_command(family)) else {
        return Ok(Ok(install::unpinned_packages(family)));
    };
    on_phase(&format!("looking up the versions of {} the host offers", family.engine_packages().join(", ")));
    let output = session.run_checked(&command).await?;
    Ok(install::resolve_pin(family, pin, &text_of(&output.stdout)))
}
