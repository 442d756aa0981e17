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
/// Works on bytes: any content, valid UTF-8 or not, gives an answer, never a panic.
pub fn verify(path: &Path) -> Result<std::result::Result<TrailSummary, Broken>> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    verify_reader(BufReader::new(f)).map_err(|e| Error::io(path, e))
}

/// [`verify`] of any reader.
pub fn verify_reader(mut r: impl BufRead) -> std::io::Result<std::result::Result<TrailSummary, Broken>> {
    const HASH_KEY: &[u8] = b",\"hash\":\"";
    const TAIL: usize = HASH_KEY.len() + 64 + 2;
    let mut whole = Sha256::new();
    let mut prev = [0u8; 64];
    prev.copy_from_slice(GENESIS.as_bytes());
    let mut n = 0u64;
    let mut buf = Vec::new();
    let broken = |line: u64, why: &str| Ok(Err(Broken { line, why: why.to_string() }));
    loop {
        buf.clear();
        if r.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        n += 1;
        whole.update(&buf);
        let Some(line) = buf.strip_suffix(b"\n") else {
            return broken(n, "last line is incomplete (no newline)");
        };
        let ok_shape = line.len() > TAIL && line.ends_with(b"\"}") && line[line.len() - TAIL..].starts_with(HASH_KEY);
        if !ok_shape {
            return broken(n, "no hash field at the end of the line (or the line does not end in a bare newline)");
        }
        let stated = &line[line.len() - 66..line.len() - 2];
        let body = &line[..line.len() - TAIL];
        let mut h = Sha256::new();
        h.update(prev);
        h.update(body);
        h.update(b"}");
        let mut want = [0u8; 64];
        hex_into(&h.finalize(), &mut want);
        if stated != want {
            return broken(
                n,
                "hash does not match the line's content and the previous line's hash (edited, inserted, deleted or reordered)",
            );
        }
        if n == 1 && !body.windows(FORMAT.len() + 11).any(|w| w == format!("\"format\":\"{FORMAT}\"").as_bytes()) {
            return broken(1, &format!("first line is not an {FORMAT} header"));
        }
        prev = want;
    }
    if n == 0 {
        return broken(1, "empty trail");
    }
    Ok(Ok(TrailSummary { lines: n, final_hash: String::from_utf8_lossy(&prev).into_owned(), sha256: hex(&whole.finalize()) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_bytes_get_an_answer_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), cut in 0usize..400) {
            let _ = verify_reader(&bytes[..]);
            // Around a valid header too, where the shape checks pass and the slicing starts.
            let d = tempfile::tempdir().unwrap();
            let good = std::fs::read(make(d.path())).unwrap();
            let mut v = good.clone();
            let at = cut.min(v.len());
            v.splice(at..at, bytes.iter().copied());
            let r = verify_reader(&v[..]).unwrap();
            prop_assert!(bytes.is_empty() || r.is_err() || v == good);
        }
    }

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
        // Line endings: CRLF, or no final newline.
        check(good.replace('\n', "\r\n"), 1);
        check(good.trim_end().to_string(), 4);
        // A tampered line ending in a multi-byte character: an answer, not a panic.
        check(format!("{}\n{}é\n", lines[0], &lines[1][..lines[1].len() - 2]), 2);
        check(format!("{}\n{{\"x\":\"{}\"}}\n", lines[0], "é".repeat(40)), 2);
        // Cut short: still a valid chain, but fewer lines than the manifest says.
        std::fs::write(&dest, format!("{}\n{}\n", lines[0], lines[1])).unwrap();
        assert_eq!(verify(&dest).unwrap().unwrap().lines, 2);
    }
}
