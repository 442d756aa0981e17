//! The event trail of one world, streamed to a file as JSON lines without hashes; the
//! report layer concatenates the worlds in order and adds the hash chain
//! (`report/trail.rs`). Writing goes through a `BufWriter` with preformatted names, so
//! a run with `--audit` allocates nothing per event either.

use std::fmt::Arguments;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use crate::engine::SimTime;

/// JSON-escapes a string (quotes included).
pub fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `,"bu":..` for each business unit, JSON-escaped once per world for its events.
pub fn bu_fields(business_units: &[String]) -> Vec<String> {
    business_units.iter().map(|b| format!(",\"bu\":{}", json_str(b))).collect()
}

/// Streams one world's events.
#[derive(Debug)]
pub struct TrailWriter {
    w: BufWriter<File>,
    prefix: String,
    path: PathBuf,
    error: Option<std::io::Error>,
    lines: u64,
}

impl TrailWriter {
    /// A writer to `path` for replication `rep` of strategy `strategy`.
    pub fn create(path: PathBuf, rep: u32, strategy: &str) -> std::io::Result<TrailWriter> {
        let f = File::create(&path)?;
        Ok(TrailWriter {
            w: BufWriter::with_capacity(1 << 16, f),
            prefix: format!("{{\"rep\":{rep},\"strategy\":{}", json_str(strategy)),
            path,
            error: None,
            lines: 0,
        })
    }

    /// Writes one event: `{"rep":..,"strategy":..,"t":..,"event":"kind","task":N<rest>}`
    /// (`"task":null` for events of no single task).
    /// `rest` must be empty or start with a comma.
    #[inline]
    pub fn event(&mut self, t: SimTime, kind: &str, task: Option<u64>, rest: Arguments<'_>) {
        if self.error.is_some() {
            return;
        }
        let secs = t.0 / 1_000_000_000;
        let nanos = t.0 % 1_000_000_000;
        let r = match task {
            Some(task) => writeln!(self.w, "{},\"t\":{secs}.{nanos:09},\"event\":\"{kind}\",\"task\":{task}{rest}}}", self.prefix),
            None => writeln!(self.w, "{},\"t\":{secs}.{nanos:09},\"event\":\"{kind}\",\"task\":null{rest}}}", self.prefix),
        };
        if let Err(e) = r {
            self.error = Some(e);
        }
        self.lines += 1;
    }

    /// Flushes; returns the file and its number of lines, or the first write error.
    pub fn finish(mut self) -> std::io::Result<(PathBuf, u64)> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.w.flush()?;
        Ok((self.path, self.lines))
    }
}
