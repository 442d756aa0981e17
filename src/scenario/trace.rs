//! Trace arrivals: a CSV column of arrival times, read once per process.
//!
//! A sweep validates its scenario once per point; without a cache each point would read
//! and hold its own copy of the trace (a 40-point grid over a 150 MB trace took 4 GB).
//! Here a parsed trace is kept behind an [`Arc`], keyed by the file's canonical path,
//! size and modification time and by the column, so every point shares one copy and an
//! edited file is read again. The cache holds at most [`CACHE_ENTRIES`] traces.
//!
//! Only a regular file is read: a FIFO would block and a device such as `/dev/zero`
//! never ends. The file is streamed (hashed and parsed as it is read), so memory holds
//! the parsed times (8 bytes each), never the text.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::model::limits;

/// A parsed trace.
#[derive(Debug)]
pub(crate) struct Trace {
    /// Arrival times, seconds, non-decreasing.
    pub(crate) times_s: Arc<[f64]>,
    /// SHA-256 of the file, hex.
    pub(crate) sha256: String,
}

/// Why a trace cannot be used: `(key at fault, value shown, expectation)`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TraceError {
    pub(crate) key: &'static str,
    pub(crate) value: String,
    pub(crate) expected: String,
}

/// Traces kept at once (older ones are dropped; scenarios still holding them keep them
/// alive until they are done).
pub(crate) const CACHE_ENTRIES: usize = 4;

#[derive(Clone, PartialEq, Eq)]
struct Key {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
    column: String,
}

static CACHE: Mutex<Vec<(Key, Arc<Trace>)>> = Mutex::new(Vec::new());

/// Reads column `column` of the CSV file `path` (`shown` names it in messages), or
/// returns the copy already read.
pub(crate) fn load(path: &Path, shown: &str, column: &str) -> Result<Arc<Trace>, TraceError> {
    let file_err = |e: String| TraceError { key: "file", value: format!("{shown:?}"), expected: e };
    let meta = std::fs::metadata(path).map_err(|e| file_err(format!("cannot be read: {e}")))?;
    if !meta.is_file() {
        return Err(file_err("is not a regular file (a folder, FIFO or device cannot be a trace)".into()));
    }
    let canonical = path.canonicalize().map_err(|e| file_err(format!("cannot be read: {e}")))?;
    let key = Key { path: canonical, len: meta.len(), modified: meta.modified().ok(), column: column.to_string() };
    // The lock is held while reading, so points of a sweep that start together wait for
    // one read instead of each reading the file.
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(i) = cache.iter().position(|(k, _)| *k == key) {
        let hit = cache.remove(i);
        let t = Arc::clone(&hit.1);
        cache.push(hit);
        return Ok(t);
    }
    let file = File::open(path).map_err(|e| file_err(format!("cannot be read: {e}")))?;
    let trace = Arc::new(parse(file, shown, column)?);
    if cache.len() >= CACHE_ENTRIES {
        cache.remove(0);
    }
    cache.push((key, Arc::clone(&trace)));
    Ok(trace)
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

fn parse(reader: impl Read, shown: &str, column: &str) -> Result<Trace, TraceError> {
    let mut rdr = csv::Reader::from_reader(Hashing { inner: reader, hash: Sha256::new() });
    let col = rdr.headers().ok().and_then(|h| h.iter().position(|c| c == column));
    let Some(col) = col else {
        return Err(TraceError { key: "column", value: format!("{column:?}"), expected: format!("no such column in {shown}") });
    };
    let mut times: Vec<f64> = Vec::new();
    let mut rec = csv::StringRecord::new();
    let mut row = 1u64;
    loop {
        row += 1;
        let bad = |why: &str| TraceError {
            key: "file",
            value: format!("{shown}:{row}"),
            expected: format!(
                "expected non-negative, non-decreasing arrival times in seconds, at most {}{why}",
                limits::MAX_ARRIVAL_SPAN_S
            ),
        };
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => return Err(bad("")),
        }
        let v = rec.get(col).and_then(|s| s.trim().parse::<f64>().ok());
        match v {
            Some(t) if (0.0..=limits::MAX_ARRIVAL_SPAN_S).contains(&t) && times.last().is_none_or(|&p| t >= p) => {
                if times.len() as u64 >= limits::MAX_TASKS {
                    return Err(bad(&format!(" (and at most {} rows)", limits::MAX_TASKS)));
                }
                times.push(t)
            }
            _ => return Err(bad("")),
        }
    }
    // Read to the end so that the hash covers the whole file.
    let mut inner = rdr.into_inner();
    io::copy(&mut inner, &mut io::sink()).map_err(|e| TraceError {
        key: "file",
        value: format!("{shown:?}"),
        expected: format!("cannot be read: {e}"),
    })?;
    Ok(Trace { times_s: times.into(), sha256: crate::scenario::hex(&inner.hash.finalize()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("orchsim-trace-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn parses_hashes_and_shares_one_copy() {
        let d = dir("share");
        let p = d.join("t.csv");
        let text = "at,x\n0,a\n2.5,b\n2.5,c\n";
        std::fs::write(&p, text).unwrap();
        let a = load(&p, "t.csv", "at").unwrap();
        assert_eq!(a.times_s[..], [0.0, 2.5, 2.5]);
        assert_eq!(a.sha256, crate::report::sha256_hex(text.as_bytes()));
        // The second load is the same allocation, not a second read.
        let b = load(&p, "t.csv", "at").unwrap();
        assert!(Arc::ptr_eq(&a.times_s, &b.times_s));
        // Another column is another entry.
        assert_eq!(load(&p, "t.csv", "x").unwrap_err().value, "t.csv:2");
        // An edited file (another size) is read again.
        std::fs::write(&p, "at\n1\n").unwrap();
        assert_eq!(load(&p, "t.csv", "at").unwrap().times_s[..], [1.0]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let d = dir("kinds");
        let e = load(&d, "d", "t").unwrap_err();
        assert_eq!((e.key, e.expected.as_str()), ("file", "is not a regular file (a folder, FIFO or device cannot be a trace)"));
        #[cfg(unix)]
        {
            let e = load(Path::new("/dev/zero"), "/dev/zero", "t").unwrap_err();
            assert_eq!(e.expected, "is not a regular file (a folder, FIFO or device cannot be a trace)");
        }
        assert!(load(&d.join("missing.csv"), "missing.csv", "t").unwrap_err().expected.starts_with("cannot be read: "));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn refuses_bad_rows_with_their_line() {
        let bad = |text: &str| parse(text.as_bytes(), "f.csv", "t").unwrap_err();
        assert_eq!(bad("t\n1\n0\n").value, "f.csv:3");
        assert_eq!(bad("t\n1\n-1\n").value, "f.csv:3");
        assert_eq!(bad("t\nx\n").value, "f.csv:2");
        assert_eq!(bad("t\n2e9\n").value, "f.csv:2");
        assert_eq!(bad("u\n1\n").key, "column");
        assert_eq!(parse("t\n".as_bytes(), "f.csv", "t").unwrap().times_s.len(), 0);
    }
}
