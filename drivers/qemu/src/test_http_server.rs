//! A small HTTP/1.1 file server on 127.0.0.1 for tests (std only; also included by the workspace's
//! end-to-end tests): GET and HEAD of the files in one folder, strong ETags, `Range: bytes=N-`
//! with `If-Range`, 404s, and faults on demand — drop the connection once after N bytes, send
//! slowly, or ignore ranges. It records every request so tests can see what the client asked.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

/// What the server saw and answered.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
    pub if_range: Option<String>,
    pub status: u16,
}

#[derive(Default)]
struct Faults {
    /// The next GET of this path ends the connection after this many body bytes.
    drop_once: Option<(String, u64)>,
    /// Body bytes per second (0: as fast as possible).
    rate: u64,
    /// Answer every request with the whole file (200), as a server without range support.
    ignore_ranges: bool,
}

struct Shared {
    folder: PathBuf,
    seen: Mutex<Vec<SeenRequest>>,
    faults: Mutex<Faults>,
}

pub struct TestServer {
    pub base: String,
    shared: Arc<Shared>,
}

impl TestServer {
    /// Serves the files of `folder` (symbolic links are followed) until the process ends.
    pub fn serve(folder: &Path) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            folder: folder.to_path_buf(),
            seen: Mutex::new(Vec::new()),
            faults: Mutex::new(Faults::default()),
        });
        let serving = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = serving.clone();
                std::thread::spawn(move || {
                    let _ = handle(stream, &shared);
                });
            }
        });
        TestServer { base, shared }
    }

    pub fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    pub fn drop_once(&self, name: &str, after_bytes: u64) {
        self.shared.faults.lock().unwrap().drop_once = Some((format!("/{name}"), after_bytes));
    }

    pub fn set_rate(&self, bytes_per_second: u64) {
        self.shared.faults.lock().unwrap().rate = bytes_per_second;
    }

    pub fn ignore_ranges(&self, ignore: bool) {
        self.shared.faults.lock().unwrap().ignore_ranges = ignore;
    }

    pub fn requests(&self) -> Vec<SeenRequest> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// The requests for one file.
    pub fn requests_for(&self, name: &str) -> Vec<SeenRequest> {
        self.requests().into_iter().filter(|request| request.path == format!("/{name}")).collect()
    }
}

/// A strong validator that changes whenever the file does.
pub fn etag_of(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?.as_nanos();
    Some(format!("\"{:x}-{modified:x}\"", meta.len()))
}

fn handle(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or_default().to_string(), parts.next().unwrap_or_default().to_string());
    let (mut range, mut if_range) = (None, None);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "range" => range = Some(value.trim().to_string()),
                "if-range" => if_range = Some(value.trim().to_string()),
                _ => {}
            }
        }
    }
    let file = shared.folder.join(path.trim_start_matches('/'));
    let mut stream = stream;
    let record = |status: u16| {
        shared.seen.lock().unwrap().push(SeenRequest {
            method: method.clone(),
            path: path.clone(),
            range: range.clone(),
            if_range: if_range.clone(),
            status,
        })
    };
    let (Some(etag), false) = (etag_of(&file), path.contains("..")) else {
        record(404);
        return stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    };
    let length = std::fs::metadata(&file)?.len();
    let (ignore_ranges, rate) = {
        let faults = shared.faults.lock().unwrap();
        (faults.ignore_ranges, faults.rate)
    };
    let validator_matches = if_range.as_deref().is_none_or(|value| value == etag);
    let start = match (&range, ignore_ranges, validator_matches) {
        (Some(range), false, true) => {
            range.strip_prefix("bytes=").and_then(|r| r.split('-').next()).and_then(|n| n.parse::<u64>().ok())
        }
        _ => None,
    };
    if start.is_some_and(|start| start >= length) {
        record(416);
        let head = format!(
            "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{length}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return stream.write_all(head.as_bytes());
    }
    let (status, head) = match start {
        Some(start) => (
            206,
            format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{}/{length}\r\nContent-Length: {}\r\n",
                length - 1,
                length - start
            ),
        ),
        None => (200, format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n")),
    };
    record(status);
    stream.write_all(format!("{head}ETag: {etag}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n").as_bytes())?;
    if method == "HEAD" {
        return Ok(());
    }
    let drop_after = {
        let mut faults = shared.faults.lock().unwrap();
        match &faults.drop_once {
            Some((once, after)) if *once == path => {
                let after = *after;
                faults.drop_once = None;
                Some(after)
            }
            _ => None,
        }
    };
    let mut body = std::fs::File::open(&file)?;
    body.seek(SeekFrom::Start(start.unwrap_or(0)))?;
    send_body(&mut body, &mut stream, drop_after, rate)
}

fn send_body(
    body: &mut std::fs::File,
    stream: &mut TcpStream,
    drop_after: Option<u64>,
    rate: u64,
) -> std::io::Result<()> {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    let started = std::time::Instant::now();
    loop {
        let mut count = body.read(&mut buffer)?;
        if count == 0 {
            return stream.flush();
        }
        if let Some(after) = drop_after {
            let left = after.saturating_sub(sent);
            if left == 0 {
                // a connection that dies midway: no more bytes, no proper close
                return stream.shutdown(std::net::Shutdown::Both);
            }
            count = count.min(left as usize);
        }
        stream.write_all(&buffer[..count])?;
        sent += count as u64;
        if rate > 0 {
            let due = Duration::from_secs_f64(sent as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
}
