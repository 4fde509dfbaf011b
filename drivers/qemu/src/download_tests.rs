//! Downloads against the in-test HTTP server: a dropped connection resumed in the same run with
//! `Range` + `If-Range`, a `.part` of an earlier run re-hashed and resumed, a changed file started
//! over, a server without ranges, a 404.

use super::*;
use crate::test_http_server::TestServer;
use rmachine_drivers::SilentLog;
use std::path::PathBuf;

struct Fixture {
    _folder: tempfile::TempDir,
    served: PathBuf,
    work: PathBuf,
    server: TestServer,
    content: Vec<u8>,
}

fn fixture() -> Fixture {
    let folder = tempfile::tempdir().unwrap();
    let served = folder.path().join("served");
    let work = folder.path().join("work");
    std::fs::create_dir_all(&served).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    std::fs::write(served.join("disk.qcow2"), &content).unwrap();
    let server = TestServer::serve(&served);
    Fixture { _folder: folder, served, work, server, content }
}

fn sha512(bytes: &[u8]) -> Checksum {
    let mut hasher = Hasher::new(Algorithm::Sha512);
    hasher.update(bytes);
    hasher.finish()
}

async fn download(fixture: &Fixture) -> Result<Downloaded, DriverError> {
    download_as(fixture, "disk.qcow2", "x", Algorithm::Sha512).await
}

/// Downloads `name` from the fixture's server into WORK/`part_name`.part.
async fn download_as(
    fixture: &Fixture,
    name: &str,
    part_name: &str,
    algorithm: Algorithm,
) -> Result<Downloaded, DriverError> {
    let client = reqwest::Client::new();
    let url = fixture.server.url(name);
    let (part, meta) = (fixture.work.join(format!("{part_name}.part")), fixture.work.join(format!("{part_name}.meta")));
    Download { client: &client, url: &url, part: &part, meta: &meta, algorithm, log: &SilentLog }.run().await
}

#[tokio::test]
async fn a_connection_dropped_midway_is_resumed_with_a_range_request() {
    let fixture = fixture();
    fixture.server.drop_once("disk.qcow2", 1_000_000);
    let done = download(&fixture).await.unwrap();
    assert_eq!(done.checksum, sha512(&fixture.content));
    assert_eq!(done.size, 3_000_000);
    assert_eq!(std::fs::read(fixture.work.join("x.part")).unwrap(), fixture.content);
    let requests = fixture.server.requests_for("disk.qcow2");
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[1].range.as_deref(), Some("bytes=1000000-"));
    assert_eq!(requests[1].status, 206);
    assert!(requests[1].if_range.as_deref().is_some_and(|etag| etag.starts_with('"')), "{requests:?}");
}

#[tokio::test]
async fn a_part_left_by_an_earlier_run_is_rehashed_and_resumed() {
    let fixture = fixture();
    let etag = crate::test_http_server::etag_of(&fixture.served.join("disk.qcow2")).unwrap();
    std::fs::write(fixture.work.join("x.part"), &fixture.content[..1_234_567]).unwrap();
    let meta = serde_json::json!({"url": fixture.server.url("disk.qcow2"), "etag": etag});
    std::fs::write(fixture.work.join("x.meta"), meta.to_string()).unwrap();
    let done = download(&fixture).await.unwrap();
    assert_eq!(done.resumed_from, 1_234_567);
    assert_eq!(done.checksum, sha512(&fixture.content), "the re-hashed part and the rest make the digest");
    let requests = fixture.server.requests_for("disk.qcow2");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].range.as_deref(), Some("bytes=1234567-"));
}

#[tokio::test]
async fn a_file_that_changed_since_the_part_is_fetched_whole() {
    let fixture = fixture();
    std::fs::write(fixture.work.join("x.part"), &fixture.content[..500_000]).unwrap();
    let meta = serde_json::json!({"url": fixture.server.url("disk.qcow2"), "etag": "\"old-version\""});
    std::fs::write(fixture.work.join("x.meta"), meta.to_string()).unwrap();
    let done = download(&fixture).await.unwrap();
    assert_eq!(done.checksum, sha512(&fixture.content));
    assert_eq!(fixture.server.requests_for("disk.qcow2")[0].status, 200, "If-Range did not match: 200");
    assert_eq!(std::fs::read(fixture.work.join("x.part")).unwrap().len(), 3_000_000);
}

#[tokio::test]
async fn a_server_that_ignores_ranges_still_gives_a_correct_file() {
    let fixture = fixture();
    fixture.server.ignore_ranges(true);
    fixture.server.drop_once("disk.qcow2", 700_000);
    let done = download(&fixture).await.unwrap();
    assert_eq!(done.checksum, sha512(&fixture.content));
    let statuses: Vec<u16> = fixture.server.requests_for("disk.qcow2").iter().map(|request| request.status).collect();
    assert_eq!(statuses, [200, 200]);
}

#[tokio::test]
async fn a_missing_file_is_an_error_naming_the_url_and_status() {
    let fixture = fixture();
    let error = download_as(&fixture, "nothing.qcow2", "y", Algorithm::Sha256).await.unwrap_err().to_string();
    assert!(error.contains("nothing.qcow2") && error.contains("404"), "{error}");
}
