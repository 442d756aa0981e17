//! `events.jsonl`: the worlds' event files joined in (replication, strategy) order
//! under a header line, each line carrying a SHA-256 hash chained to the line before.
//!
//! A line is its JSON content with `,"hash":"<64 hex>"` inserted before the final `}`,
//! where hash = SHA-256(previous line's hash in hex ‖ content). The header's previous
//! hash is 64 zeros. Editing, inserting, deleting or reordering any line breaks the
//! chain at that line; cutting the file short is caught by the line count and final
//! hash recorded in `manifest.json`.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::scenario::hex;

/// The format tag of the header line.
pub const FORMAT: &str = "orchsim-trail/1";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Digest and size of a trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrailSummary {
    /// Lines, header included.
    pub lines: u64,
    /// Hash of the last line.
    pub final_hash: String,
    /// SHA-256 of the whole file.
    pub sha256: String,
}

fn chain(prev: &str, content: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(content.as_bytes());
    hex(&h.finalize())
}

/// Lowercase hex into a fixed buffer (no allocation per line).
fn hex_into(bytes: &[u8], out: &mut [u8; 64]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[(b >> 4) as usize];
        out[2 * i + 1] = DIGITS[(b & 15) as usize];
    }
}

/// Writes the chained trail to `dest` from a header (a JSON object without `hash`)
/// and the worlds' part files, in order; removes the parts.
pub fn assemble(dest: &Path, header: &serde_json::Value, parts: &[&Path]) -> Result<TrailSummary> {
    let file = File::create(dest).map_err(|e| Error::io(dest, e))?;
    let mut out = BufWriter::with_capacity(1 << 16, file);
    let mut whole = Sha256::new();
    let mut prev = [0u8; 64];
    prev.copy_from_slice(GENESIS.as_bytes());
    let mut lines = 0u64;
    // One line: content without its closing brace, then `,"hash":"<hex>"}` and a newline.
    let mut emit = |content: &[u8], prev: &mut [u8; 64], out: &mut BufWriter<File>| -> std::io::Result<()> {
        let mut h = Sha256::new();
        h.update(&prev[..]);
        h.update(content);
        hex_into(&h.finalize(), prev);
        let body = content.strip_suffix(b"}").unwrap_or(content);
        for piece in [body, b",\"hash\":\"", &prev[..], b"\"}\n"] {
            whole.update(piece);
            out.write_all(piece)?;
        }
        lines += 1;
        Ok(())
    };
    let head = serde_json::to_string(header).map_err(|e| Error::Other(e.to_string()))?;
    emit(head.as_bytes(), &mut prev, &mut out).map_err(|e| Error::io(dest, e))?;
    let mut buf = Vec::with_capacity(512);
    for p in parts {
        let f = File::open(p).map_err(|e| Error::io(p, e))?;
        let mut r = BufReader::with_capacity(1 << 16, f);
        loop {
            buf.clear();
            if r.read_until(b'\n', &mut buf).map_err(|e| Error::io(p, e))? == 0 {
                break;
            }
            let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
            emit(line, &mut prev, &mut out).map_err(|e| Error::io(dest, e))?;
        }
    }
    out.flush().map_err(|e| Error::io(dest, e))?;
    out.get_ref().sync_all().map_err(|e| Error::io(dest, e))?;
    drop(out);
    for p in parts {
        let _ = std::fs::remove_file(p);
    }
    Ok(TrailSummary { lines, final_hash: String::from_utf8_lossy(&prev).into_owned(), sha256: hex(&whole.finalize()) })
}

/// Where and why a trail fails verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub why: String,
}

/// Verifies the hash chain of a trail; returns its summary or the first broken line.
pub fn verify(path: &Path) -> Result<std::result::Result<TrailSummary, Broken>> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut r = BufReader::new(f);
    let mut whole = Sha256::new();
    let mut prev = GENESIS.to_string();
    let mut n = 0u64;
    let mut buf = String::new();
    loop {
        buf.clear();
        let read = r.read_line(&mut buf).map_err(|e| Error::io(path, e))?;
        if read == 0 {
            break;
        }
        n += 1;
        whole.update(buf.as_bytes());
        let Some(line) = buf.strip_suffix('\n') else {
            return Ok(Err(Broken { line: n, why: "last line is incomplete (no newline)".into() }));
        };
        const TAIL: usize = ",\"hash\":\"".len() + 64 + "\"}".len();
        let ok_shape = line.len() > TAIL && line.ends_with("\"}") && line[line.len() - TAIL..].starts_with(",\"hash\":\"");
        if !ok_shape {
            return Ok(Err(Broken { line: n, why: "no hash field at the end of the line".into() }));
        }
        let stated = &line[line.len() - 66..line.len() - 2];
        let content = format!("{}}}", &line[..line.len() - TAIL]);
        let want = chain(&prev, &content);
        if stated != want {
            return Ok(Err(Broken {
                line: n,
                why: "hash does not match the line's content and the previous line's hash (edited, inserted, deleted or reordered)".into(),
            }));
        }
        if n == 1 && !content.contains(&format!("\"format\":\"{FORMAT}\"")) {
            return Ok(Err(Broken { line: 1, why: format!("first line is not an {FORMAT} header") }));
        }
        prev = want;
    }
    if n == 0 {
        return Ok(Err(Broken { line: 1, why: "empty trail".into() }));
    }
    Ok(Ok(TrailSummary { lines: n, final_hash: prev, sha256: hex(&whole.finalize()) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(dir: &Path) -> std::path::PathBuf {
        let part = dir.join("p.jsonl");
        std::fs::write(&part, "{\"event\":\"a\",\"x\":1}\n{\"event\":\"b\",\"x\":2}\n{\"event\":\"c\",\"x\":3}\n").unwrap();
        let dest = dir.join("events.jsonl");
        let s = assemble(&dest, &serde_json::json!({"event": "header", "format": FORMAT}), &[&part]).unwrap();
        assert_eq!(s.lines, 4);
        assert!(!part.exists());
        dest
    }

    #[test]
    fn a_fresh_trail_verifies_and_every_kind_of_edit_is_caught_at_its_line() {
        let d = tempfile::tempdir().unwrap();
        let dest = make(d.path());
        let good = std::fs::read_to_string(&dest).unwrap();
        let s = verify(&dest).unwrap().unwrap();
        assert_eq!(s.lines, 4);
        let lines: Vec<&str> = good.lines().collect();
        let check = |text: String, line: u64| {
            std::fs::write(&dest, text).unwrap();
            assert_eq!(verify(&dest).unwrap().unwrap_err().line, line);
        };
        // Any single byte changed.
        for (i, _) in good.char_indices().filter(|(_, c)| *c != '\n') {
            let mut b = good.clone().into_bytes();
            b[i] = if b[i] == b'1' { b'7' } else { b'1' };
            let line = good[..i].matches('\n').count() as u64 + 1;
            std::fs::write(&dest, &b).unwrap();
            assert_eq!(verify(&dest).unwrap().unwrap_err().line, line, "byte {i}");
        }
        check(format!("{}\n{}\n{}\n", lines[0], lines[2], lines[3]), 2); // deleted
        check(format!("{}\n{}\n{}\n{}\n{}\n", lines[0], lines[1], lines[1], lines[2], lines[3]), 3); // duplicated
        check(format!("{}\n{}\n{}\n{}\n", lines[0], lines[2], lines[1], lines[3]), 2); // swapped
        // Cut short: still a valid chain, but fewer lines than the manifest says.
        std::fs::write(&dest, format!("{}\n{}\n", lines[0], lines[1])).unwrap();
        assert_eq!(verify(&dest).unwrap().unwrap().lines, 2);
    }
}
