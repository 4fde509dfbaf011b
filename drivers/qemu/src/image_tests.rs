//! The image cache against the in-test HTTP server and local files: sums beside the image, the
//! refusal of an image nobody can check, a wrong digest deleted, parallel creates fetching once,
//! and offline use of what was verified before.

use super::*;
use crate::test_http_server::TestServer;
use rmachine_drivers::SilentLog;

struct Fixture {
    folder: tempfile::TempDir,
    served: PathBuf,
    cache: ImageCache,
    digest: Checksum,
}

fn fixture() -> Fixture {
    let folder = tempfile::tempdir().unwrap();
    let served = folder.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let content = vec![7u8; 2_000_000];
    std::fs::write(served.join("img.qcow2"), &content).unwrap();
    let mut hasher = Hasher::new(Algorithm::Sha512);
    hasher.update(&content);
    let digest = hasher.finish();
    std::fs::write(served.join("SHA512SUMS"), format!("{}  img.qcow2\n", digest.hex)).unwrap();
    let cache = ImageCache::new(&folder.path().join("cache"));
    Fixture { folder, served, cache, digest }
}

#[tokio::test]
async fn a_url_is_checked_against_the_sums_beside_it_and_cached_by_digest() {
    let fixture = fixture();
    let server = TestServer::serve(&fixture.served);
    let source = ImageSource::Url(server.url("img.qcow2"));
    let client = reqwest::Client::new();
    let expected = expected(&source, None, false, &fixture.cache, &client).await.unwrap();
    assert_eq!(expected, Expected::Known(fixture.digest.clone()));
    let (path, checksum) = ensure_cached(&source, &expected, &fixture.cache, &client, &SilentLog).await.unwrap();
    assert_eq!(checksum, fixture.digest);
    assert_eq!(path, fixture.cache.file(&fixture.digest));
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o444, "cached images are read-only");
    // again: no second download
    ensure_cached(&source, &expected, &fixture.cache, &client, &SilentLog).await.unwrap();
    assert_eq!(server.requests_for("img.qcow2").len(), 1);
}

#[tokio::test]
async fn parallel_creates_download_once() {
    let fixture = fixture();
    let server = TestServer::serve(&fixture.served);
    server.set_rate(4_000_000);
    let source = ImageSource::Url(server.url("img.qcow2"));
    let client = reqwest::Client::new();
    let expected = Expected::Known(fixture.digest.clone());
    let (one, two) = tokio::join!(
        ensure_cached(&source, &expected, &fixture.cache, &client, &SilentLog),
        ensure_cached(&source, &expected, &fixture.cache, &client, &SilentLog),
    );
    assert_eq!(one.unwrap().0, two.unwrap().0);
    assert_eq!(server.requests_for("img.qcow2").len(), 1, "{:?}", server.requests());
}

#[tokio::test]
async fn a_wrong_digest_is_refused_and_nothing_is_kept() {
    let fixture = fixture();
    let server = TestServer::serve(&fixture.served);
    let source = ImageSource::Url(server.url("img.qcow2"));
    let wrong = Checksum::parse(&format!("sha512:{}", "ab".repeat(64))).unwrap();
    let client = reqwest::Client::new();
    let expected = expected(&source, Some(&wrong), false, &fixture.cache, &client).await.unwrap();
    let error = ensure_cached(&source, &expected, &fixture.cache, &client, &SilentLog).await.unwrap_err().to_string();
    assert!(error.contains(&fixture.digest.hex) && error.contains(&wrong.hex) && error.contains("deleted"), "{error}");
    let images = fixture.folder.path().join("cache/images");
    let left: Vec<_> = walk(&images).into_iter().filter(|path| !path.ends_with(".lock")).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[tokio::test]
async fn an_image_nobody_can_check_is_refused_unless_insecure() {
    let fixture = fixture();
    std::fs::remove_file(fixture.served.join("SHA512SUMS")).unwrap();
    let local = ImageSource::Path(fixture.served.join("img.qcow2"));
    let client = reqwest::Client::new();
    let error = expected(&local, None, false, &fixture.cache, &client).await.unwrap_err().to_string();
    assert!(error.contains("--qemu-image-checksum") && error.contains("--qemu-image-insecure"), "{error}");
    assert_eq!(expected(&local, None, true, &fixture.cache, &client).await.unwrap(), Expected::Unchecked);
    let (path, checksum) =
        ensure_cached(&local, &Expected::Unchecked, &fixture.cache, &client, &SilentLog).await.unwrap();
    assert_eq!(checksum, fixture.digest, "an unchecked image is still cached by its digest");
    assert!(path.is_file());
}

#[tokio::test]
async fn ubuntu_sha256sums_beside_a_local_file_are_used() {
    let fixture = fixture();
    std::fs::remove_file(fixture.served.join("SHA512SUMS")).unwrap();
    let mut hasher = Hasher::new(Algorithm::Sha256);
    hasher.update(&vec![7u8; 2_000_000]);
    let sha256 = hasher.finish();
    std::fs::write(fixture.served.join("SHA256SUMS"), format!("{} *img.qcow2\n", sha256.hex)).unwrap();
    let local = ImageSource::Path(fixture.served.join("img.qcow2"));
    let client = reqwest::Client::new();
    assert_eq!(expected(&local, None, false, &fixture.cache, &client).await.unwrap(), Expected::Known(sha256));
}

#[tokio::test]
async fn offline_the_copy_verified_before_is_used() {
    let fixture = fixture();
    let client = reqwest::Client::new();
    let url = {
        let server = TestServer::serve(&fixture.served);
        let source = ImageSource::Url(server.url("img.qcow2"));
        let expected = expected(&source, None, false, &fixture.cache, &client).await.unwrap();
        ensure_cached(&source, &expected, &fixture.cache, &client, &SilentLog).await.unwrap();
        server.url("img.qcow2")
    };
    // the same URL on a port nothing listens on any more: point the source at a dead server
    let dead =
        url.replace(url.split('/').nth(2).unwrap(), &format!("127.0.0.1:{}", crate::ports::pick_free_port().unwrap()));
    let source = ImageSource::Url(dead.clone());
    let error = expected(&source, None, false, &fixture.cache, &client).await.unwrap_err().to_string();
    assert!(error.contains("no copy of it is cached"), "an unknown source offline is an error: {error}");
    fixture.cache.remember(&source, &fixture.digest);
    let offline = expected(&source, None, false, &fixture.cache, &client).await.unwrap();
    assert_eq!(offline, Expected::Cached(fixture.digest.clone()));
    let (path, _) = ensure_cached(&source, &offline, &fixture.cache, &client, &SilentLog).await.unwrap();
    assert_eq!(path, fixture.cache.file(&fixture.digest));
}

fn walk(folder: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path.display().to_string());
        }
    }
    found
}
