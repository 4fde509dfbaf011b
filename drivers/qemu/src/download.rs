//! Resumable downloads: the bytes go to a `.part` file beside a `.meta` file (URL, ETag or
//! Last-Modified), hashed as they arrive. A dropped connection is resumed in the same run with
//! `Range` + `If-Range`; a `.part` left by an earlier run is re-hashed first, then resumed the same
//! way. A server that answers 200 instead of 206 (the file changed, or no range support) starts
//! the file over. Progress goes to the create's transfer log (a bar on a terminal).

use crate::checksum::{Algorithm, Checksum, Hasher, hash_file};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE};
use rmachine_drivers::{DriverError, DriverLog, TransferLog};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// Tries per download: each one resumes where the last stopped.
const ATTEMPTS: u32 = 6;

pub struct Download<'a> {
    pub client: &'a reqwest::Client,
    pub url: &'a str,
    pub part: &'a Path,
    pub meta: &'a Path,
    pub algorithm: Algorithm,
    pub log: &'a dyn DriverLog,
}

/// What a finished download holds.
#[derive(Debug)]
pub struct Downloaded {
    pub checksum: Checksum,
    pub size: u64,
    /// How many bytes an earlier run had already fetched.
    pub resumed_from: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PartMeta {
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
}

impl PartMeta {
    /// What `If-Range` may carry: a strong ETag, else the date.
    fn validator(&self) -> Option<&str> {
        self.etag.as_deref().filter(|etag| !etag.starts_with("W/")).or(self.last_modified.as_deref())
    }
}

/// The state of a download in progress.
struct Progress {
    hasher: Hasher,
    offset: u64,
    meta: PartMeta,
    bar: Option<Box<dyn TransferLog>>,
}

enum Failure {
    /// Worth another try from where it stopped.
    Transient(String),
    Fatal(DriverError),
}

impl Download<'_> {
    fn failed(&self, reason: impl Into<String>) -> DriverError {
        DriverError::failed(format!("downloading {}", self.url), reason)
    }

    pub async fn run(&self) -> Result<Downloaded, DriverError> {
        let mut progress = self.resume_point()?;
        let resumed_from = progress.offset;
        let mut last_problem = String::new();
        for attempt in 1..=ATTEMPTS {
            match self.fetch(&mut progress).await {
                Ok(()) => {
                    return Ok(Downloaded { checksum: progress.hasher.finish(), size: progress.offset, resumed_from });
                }
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Transient(problem)) => {
                    if attempt < ATTEMPTS {
                        self.log.phase(&format!(
                            "the download stopped at {} ({problem}); resuming (try {} of {ATTEMPTS})",
                            mebibytes(progress.offset),
                            attempt + 1
                        ));
                        tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
                    }
                    last_problem = problem;
                }
            }
        }
        Err(self.failed(format!(
            "{last_problem} (gave up after {ATTEMPTS} tries; the {} fetched so far are kept in {} and the next create resumes)",
            mebibytes(progress.offset),
            self.part.display()
        )))
    }

    /// Where to start: after a `.part` of this URL whose server gave a validator (re-hashed
    /// now), else from zero.
    fn resume_point(&self) -> Result<Progress, DriverError> {
        let mut hasher = Hasher::new(self.algorithm);
        let meta: Option<PartMeta> =
            std::fs::read(self.meta).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let resumable = meta.filter(|meta| meta.url == self.url && meta.validator().is_some());
        let length = std::fs::metadata(self.part).map(|meta| meta.len()).unwrap_or(0);
        if let (Some(meta), true) = (resumable, length > 0) {
            self.log.phase(&format!(
                "resuming the download of {} after {} fetched earlier (re-hashing them first)",
                self.url,
                mebibytes(length)
            ));
            let read = hash_file(self.part, &mut hasher, Some(length))
                .map_err(|error| self.failed(format!("cannot read {}: {error}", self.part.display())))?;
            return Ok(Progress { hasher, offset: read, meta, bar: None });
        }
        let _ = std::fs::remove_file(self.part);
        Ok(Progress {
            hasher,
            offset: 0,
            meta: PartMeta { url: self.url.to_string(), ..PartMeta::default() },
            bar: None,
        })
    }

    async fn fetch(&self, progress: &mut Progress) -> Result<(), Failure> {
        let mut request = self.client.get(self.url);
        if progress.offset > 0 {
            match progress.meta.validator() {
                Some(validator) => {
                    request = request.header(RANGE, format!("bytes={}-", progress.offset)).header(IF_RANGE, validator);
                }
                None => self.start_over(progress),
            }
        }
        let response = request.send().await.map_err(|error| Failure::Transient(describe(&error)))?;
        let status = response.status();
        match status {
            StatusCode::PARTIAL_CONTENT => {
                let start =
                    response.headers().get(CONTENT_RANGE).and_then(|value| value.to_str().ok()).and_then(range_start);
                if start != Some(progress.offset) {
                    self.start_over(progress);
                    return Err(Failure::Transient(format!(
                        "the server resumed at {start:?}, not at {}",
                        progress.offset
                    )));
                }
            }
            StatusCode::OK => {
                if progress.offset > 0 {
                    self.log.phase("the server sent the whole file (it changed, or cannot resume): starting over");
                }
                self.start_over(progress);
                let header = |name| {
                    response
                        .headers()
                        .get(name)
                        .and_then(|value: &reqwest::header::HeaderValue| value.to_str().ok())
                        .map(str::to_string)
                };
                progress.meta.etag = header(ETAG);
                progress.meta.last_modified = header(LAST_MODIFIED);
                self.write_meta(&progress.meta).map_err(Failure::Fatal)?;
            }
            StatusCode::RANGE_NOT_SATISFIABLE => {
                self.start_over(progress);
                return Err(Failure::Transient("the server refused to resume (416)".into()));
            }
            other => return Err(Failure::Fatal(self.failed(format!("the server answered HTTP {other}")))),
        }
        let total = response.content_length().map(|length| length + progress.offset);
        self.stream_body(response, progress, total).await
    }

    async fn stream_body(
        &self,
        mut response: reqwest::Response,
        progress: &mut Progress,
        total: Option<u64>,
    ) -> Result<(), Failure> {
        let mut file =
            std::fs::OpenOptions::new().create(true).append(true).open(self.part).map_err(|error| {
                Failure::Fatal(self.failed(format!("cannot write {}: {error}", self.part.display())))
            })?;
        let bar = progress.bar.get_or_insert_with(|| self.log.transfer(&format!("downloading {}", self.url), total));
        bar.position(progress.offset);
        loop {
            match response.chunk().await {
                Ok(Some(bytes)) => {
                    file.write_all(&bytes).map_err(|error| {
                        Failure::Fatal(self.failed(format!("cannot write {}: {error}", self.part.display())))
                    })?;
                    progress.hasher.update(&bytes);
                    progress.offset += bytes.len() as u64;
                    bar.position(progress.offset);
                    // hashing keeps up with the network only just: let Ctrl-C (and others) in
                    tokio::task::yield_now().await;
                }
                Ok(None) => break,
                Err(error) => {
                    let _ = file.flush();
                    return Err(Failure::Transient(describe(&error)));
                }
            }
        }
        file.sync_all()
            .map_err(|error| Failure::Fatal(self.failed(format!("cannot write {}: {error}", self.part.display()))))?;
        match total {
            Some(total) if progress.offset < total => Err(Failure::Transient(format!(
                "the connection ended at {} of {}",
                mebibytes(progress.offset),
                mebibytes(total)
            ))),
            _ => Ok(()),
        }
    }

    fn start_over(&self, progress: &mut Progress) {
        let _ = std::fs::remove_file(self.part);
        progress.hasher = Hasher::new(self.algorithm);
        progress.offset = 0;
    }

    fn write_meta(&self, meta: &PartMeta) -> Result<(), DriverError> {
        let text = serde_json::to_vec(meta).expect("the download's metadata serialises");
        std::fs::write(self.meta, text).map_err(|source| DriverError::Write { path: self.meta.to_path_buf(), source })
    }
}

/// The first byte of `bytes START-END/TOTAL`.
fn range_start(content_range: &str) -> Option<u64> {
    content_range.strip_prefix("bytes ")?.split('-').next()?.trim().parse().ok()
}

/// A reqwest error with its causes (the top level alone says "error sending request").
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1048576.0)
}

#[cfg(test)]
#[path = "download_tests.rs"]
mod tests;
