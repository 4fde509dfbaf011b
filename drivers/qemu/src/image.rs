//! Base images: where one comes from (a URL or a local file), the digest it must have (given with
//! `--qemu-image-checksum`, else read from the `SHA512SUMS`/`SHA256SUMS` beside it; an image that
//! cannot be checked is refused unless `--qemu-image-insecure`), and the content-addressed cache
//! in `CACHE/images/`: `ALGORITHM-HEX.img` files, read-only, renamed in only after verification.
//! One lock per source makes parallel creates download once; downloads resume (`download.rs`).
//! Offline, a cached image is used when its sums cannot be fetched, and a local file needs no
//! network at all.

use crate::checksum::{Algorithm, Checksum, Hasher, find_in_sums};
use crate::download::{Download, mebibytes};
use rmachine_drivers::{DriverError, DriverLog};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The newest official Debian 12 cloud image; `SHA512SUMS` sits beside it.
pub const DEFAULT_IMAGE: &str =
    "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageSource {
    Url(String),
    Path(PathBuf),
}

impl ImageSource {
    /// `http(s)://...` is a URL; anything else a file, made absolute against `current_folder`.
    pub fn parse(text: &str, current_folder: &Path) -> ImageSource {
        if text.starts_with("http://") || text.starts_with("https://") {
            ImageSource::Url(text.to_string())
        } else {
            let path = Path::new(text);
            ImageSource::Path(if path.is_absolute() { path.to_path_buf() } else { current_folder.join(path) })
        }
    }

    fn describe(&self) -> String {
        match self {
            ImageSource::Url(url) => url.clone(),
            ImageSource::Path(path) => path.display().to_string(),
        }
    }

    /// A short key for this source's download files and index entry.
    fn key(&self) -> String {
        hex::encode(&Sha256::digest(self.describe().as_bytes())[..16])
    }

    /// The file name (last path segment) the sums files list.
    fn file_name(&self) -> String {
        let text = self.describe();
        let without_query = text.split(['?', '#']).next().unwrap_or_default();
        without_query.rsplit('/').next().unwrap_or_default().to_string()
    }
}

/// What rmachine expects of an image's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// This digest, given or read from a sums file.
    Known(Checksum),
    /// The sums could not be fetched (offline), but this digest was verified for the source before.
    Cached(Checksum),
    /// Nothing: `--qemu-image-insecure`.
    Unchecked,
}

pub struct ImageCache {
    root: PathBuf,
}

/// What the cache remembers about a source: the digest it last verified.
#[derive(Debug, Serialize, Deserialize)]
struct IndexEntry {
    source: ImageSource,
    checksum: Checksum,
}

impl ImageCache {
    pub fn new(cache_dir: &Path) -> ImageCache {
        ImageCache { root: cache_dir.join("images") }
    }

    pub fn file(&self, checksum: &Checksum) -> PathBuf {
        self.root.join(format!("{}.img", checksum.file_name()))
    }

    fn downloads(&self) -> PathBuf {
        self.root.join("downloads")
    }

    fn index_file(&self, source: &ImageSource) -> PathBuf {
        self.root.join("by-source").join(format!("{}.json", source.key()))
    }

    fn remembered(&self, source: &ImageSource) -> Option<Checksum> {
        let entry: IndexEntry = serde_json::from_slice(&std::fs::read(self.index_file(source)).ok()?).ok()?;
        (entry.source == *source && self.file(&entry.checksum).is_file()).then_some(entry.checksum)
    }

    fn remember(&self, source: &ImageSource, checksum: &Checksum) {
        let path = self.index_file(source);
        let entry = IndexEntry { source: source.clone(), checksum: checksum.clone() };
        if let Some(folder) = path.parent() {
            let _ = std::fs::create_dir_all(folder);
        }
        let temporary = path.with_extension("json.partial");
        if std::fs::write(&temporary, serde_json::to_vec(&entry).expect("an index entry serialises")).is_ok() {
            let _ = std::fs::rename(&temporary, &path);
        }
    }
}

/// The digest `source` must have: `given`, else its sums file, else (offline) the digest the cache
/// verified for it before, else nothing when `insecure` — or an error saying what to do.
pub async fn expected(
    source: &ImageSource,
    given: Option<&Checksum>,
    insecure: bool,
    cache: &ImageCache,
    client: &reqwest::Client,
) -> Result<Expected, DriverError> {
    if let Some(checksum) = given {
        return Ok(Expected::Known(checksum.clone()));
    }
    let file_name = source.file_name();
    let mut unreachable = None;
    for algorithm in [Algorithm::Sha512, Algorithm::Sha256] {
        match read_sums(source, algorithm, client).await {
            Ok(Some(sums)) => {
                if let Some(checksum) = find_in_sums(&sums, algorithm, &file_name) {
                    return Ok(Expected::Known(checksum));
                }
            }
            Ok(None) => {}
            Err(problem) => {
                unreachable = Some(problem);
                break;
            }
        }
    }
    if let Some(problem) = unreachable {
        return match cache.remembered(source) {
            Some(checksum) => Ok(Expected::Cached(checksum)),
            None if insecure => Ok(Expected::Unchecked),
            None => Err(DriverError::failed(
                format!("checking the image {}", source.describe()),
                format!(
                    "{problem}; no copy of it is cached. Connect to the network, or use a local image: --qemu-image PATH (with a SHA512SUMS beside it, or --qemu-image-checksum sha512:HEX)"
                ),
            )),
        };
    }
    if insecure {
        return Ok(Expected::Unchecked);
    }
    Err(DriverError::invalid(
        "--qemu-image",
        format!(
            "cannot check {}: no SHA512SUMS or SHA256SUMS beside it lists '{file_name}'. Give its digest with --qemu-image-checksum sha512:HEX (or sha256:HEX), or accept it unchecked with --qemu-image-insecure",
            source.describe()
        ),
    ))
}

/// The sums file beside the source; `Ok(None)` when there is none, `Err` when it cannot be asked.
async fn read_sums(
    source: &ImageSource,
    algorithm: Algorithm,
    client: &reqwest::Client,
) -> Result<Option<String>, String> {
    match source {
        ImageSource::Path(path) => {
            Ok(path.parent().and_then(|folder| std::fs::read_to_string(folder.join(algorithm.sums_file())).ok()))
        }
        ImageSource::Url(url) => {
            let base = reqwest::Url::parse(url).map_err(|error| format!("'{url}' is not a URL: {error}"))?;
            let sums_url = base.join(algorithm.sums_file()).map_err(|error| error.to_string())?;
            let response = client
                .get(sums_url.clone())
                .timeout(std::time::Duration::from_secs(30))
                .send()
                .await
                .map_err(|error| format!("cannot fetch {sums_url}: {}", crate::download::describe(&error)))?;
            match response.status() {
                status if status.is_success() => {
                    response.text().await.map(Some).map_err(|error| format!("reading {sums_url}: {error}"))
                }
                reqwest::StatusCode::NOT_FOUND | reqwest::StatusCode::FORBIDDEN => Ok(None),
                status => Err(format!("{sums_url} answered HTTP {status}")),
            }
        }
    }
}

/// The cached file of `source` with the `expected` digest, fetched (or copied) and verified first
/// when the cache does not have it yet.
pub async fn ensure_cached(
    source: &ImageSource,
    expected: &Expected,
    cache: &ImageCache,
    client: &reqwest::Client,
    log: &dyn DriverLog,
) -> Result<(PathBuf, Checksum), DriverError> {
    let checksum = match expected {
        Expected::Known(checksum) | Expected::Cached(checksum) => Some(checksum),
        Expected::Unchecked => None,
    };
    if let Some(checksum) = checksum
        && cache.file(checksum).is_file()
    {
        if matches!(expected, Expected::Cached(_)) {
            log.warning(&format!(
                "cannot reach {} now: using the copy verified before ({checksum})",
                source.describe()
            ));
        }
        cache.remember(source, checksum);
        return Ok((cache.file(checksum), checksum.clone()));
    }
    let downloads = cache.downloads();
    std::fs::create_dir_all(&downloads).map_err(|source| DriverError::Write { path: downloads.clone(), source })?;
    let _lock = lock(&downloads.join(format!("{}.lock", source.key())), source, log).await?;
    if let Some(checksum) = checksum
        && cache.file(checksum).is_file()
    {
        // another rmachine fetched it while this one waited for the lock
        return Ok((cache.file(checksum), checksum.clone()));
    }
    let part = downloads.join(format!("{}.part", source.key()));
    let algorithm = checksum.map_or(Algorithm::Sha512, |checksum| checksum.algorithm);
    let got = match source {
        ImageSource::Url(url) => {
            log.phase(&format!("downloading {url}"));
            let meta = downloads.join(format!("{}.meta", source.key()));
            let done = Download { client, url, part: &part, meta: &meta, algorithm, log }.run().await?;
            let resumed = match done.resumed_from {
                0 => String::new(),
                earlier => format!(", {} of them fetched by an earlier run", mebibytes(earlier)),
            };
            log.phase(&format!("downloaded {}{resumed}; verifying it ({})", mebibytes(done.size), algorithm.as_str()));
            done.checksum
        }
        ImageSource::Path(path) => copy_hashing(path, &part, algorithm, log).await?,
    };
    if let Some(wanted) = checksum
        && *wanted != got
    {
        let _ = std::fs::remove_file(&part);
        let _ = std::fs::remove_file(part.with_extension("meta"));
        return Err(DriverError::failed(
            format!("verifying the image {}", source.describe()),
            format!(
                "its digest is {got}, not {wanted}; the file was deleted. Check --qemu-image-checksum (or the SHA512SUMS beside the image)"
            ),
        ));
    }
    if checksum.is_none() {
        log.warning(&format!("the image {} was not verified (--qemu-image-insecure); it is {got}", source.describe()));
    }
    let target = cache.file(&got);
    let _ = std::fs::set_permissions(&part, std::fs::Permissions::from_mode(0o444));
    std::fs::rename(&part, &target).map_err(|error| DriverError::Write { path: target.clone(), source: error })?;
    let _ = std::fs::remove_file(part.with_extension("meta"));
    cache.remember(source, &got);
    Ok((target, got))
}

/// Copies a local image into the cache's download folder, hashing it on the way (yielding
/// between chunks, so that Ctrl-C is not held up).
async fn copy_hashing(
    from: &Path,
    to: &Path,
    algorithm: Algorithm,
    log: &dyn DriverLog,
) -> Result<Checksum, DriverError> {
    use std::io::{Read, Write};
    let unreadable =
        |error: std::io::Error| DriverError::failed(format!("reading the image {}", from.display()), error.to_string());
    let mut input = std::fs::File::open(from).map_err(unreadable)?;
    let total = input.metadata().map_err(unreadable)?.len();
    log.phase(&format!("copying {} ({}) into the image cache", from.display(), mebibytes(total)));
    let bar = log.transfer(&format!("copying {}", from.display()), Some(total));
    let mut output =
        std::fs::File::create(to).map_err(|source| DriverError::Write { path: to.to_path_buf(), source })?;
    let mut hasher = Hasher::new(algorithm);
    let mut buffer = vec![0u8; 1 << 20];
    let mut done = 0;
    loop {
        let count = input.read(&mut buffer).map_err(unreadable)?;
        if count == 0 {
            break;
        }
        output.write_all(&buffer[..count]).map_err(|source| DriverError::Write { path: to.to_path_buf(), source })?;
        hasher.update(&buffer[..count]);
        done += count as u64;
        bar.position(done);
        tokio::task::yield_now().await;
    }
    output.sync_all().map_err(|source| DriverError::Write { path: to.to_path_buf(), source })?;
    Ok(hasher.finish())
}

/// Takes the source's download lock, saying so when another process holds it.
async fn lock(
    path: &Path,
    source: &ImageSource,
    log: &dyn DriverLog,
) -> Result<nix::fcntl::Flock<std::fs::File>, DriverError> {
    use nix::fcntl::{Flock, FlockArg};
    let open = || {
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|error| DriverError::Write { path: path.to_path_buf(), source: error })
    };
    match Flock::lock(open()?, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => return Ok(lock),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => {}
        Err((_, errno)) => return Err(DriverError::Write { path: path.to_path_buf(), source: errno.into() }),
    }
    log.phase(&format!("waiting for another rmachine that is fetching {}", source.describe()));
    let file = open()?;
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || Flock::lock(file, FlockArg::LockExclusive))
        .await
        .map_err(|error| DriverError::failed("waiting for the image lock", error.to_string()))?
        .map_err(|(_, errno)| DriverError::Write { path, source: errno.into() })
}

#[cfg(test)]
#[path = "image_tests.rs"]
mod tests;
