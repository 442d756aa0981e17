//! The event trail of one world, streamed to a file as JSON lines without hashes; the
//! report layer concatenates the worlds in order and adds the hash chain
//! (`report/trail.rs`). The line format is described in [`super::event`]. Writing goes
//! through a `BufWriter` and one reused buffer, so a run with `--audit` allocates
//! nothing per event either.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use super::event::{Event, Observer, write_event_json};
use crate::engine::SimTime;

/// JSON-escapes a string (quotes included).
pub fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Streams one world's events: the [`Observer`] of a run with `--audit`.
#[derive(Debug)]
pub struct TrailWriter {
    w: BufWriter<File>,
    /// `{"rep":..,"strategy":..`, JSON-escaped once.
    prefix: String,
    /// The event being written, reused.
    buf: Vec<u8>,
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
            buf: Vec::with_capacity(256),
            path,
            error: None,
            lines: 0,
        })
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

impl Observer for TrailWriter {
    /// Writes one line: `{"rep":..,"strategy":..,"t":<s>.<9 digits>,"event":..,"task":..,...}`.
    fn event(&mut self, t: SimTime, event: &Event<'_>) {
        if self.error.is_some() {
            return;
        }
        self.buf.clear();
        let secs = t.0 / 1_000_000_000;
        let nanos = t.0 % 1_000_000_000;
        let r = write_event_json(&mut self.buf, event).and_then(|()| {
            // The event's object without its opening brace follows the writer's fields.
            write!(self.w, "{},\"t\":{secs}.{nanos:09},", self.prefix)?;
            self.w.write_all(&self.buf[1..])?;
            self.w.write_all(b"\n")
        });
        if let Err(e) = r {
            self.error = Some(e);
        }
        self.lines += 1;
    }
}
