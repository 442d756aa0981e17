//! JSON plumbing for trace files: documents with the line of every object, integers
//! too large for 64 bits kept exact, and the number, time and id conversions that the
//! readers share.
//!
//! Two traps drive this module. First, `serde_json::Value` keeps no positions, yet every
//! problem must name its line: [`Doc`] maps each object to the line of its `{` (the k-th
//! object in pre-order is the k-th `{` outside strings, because `preserve_order` keeps
//! keys in document order). Second, the OpenTelemetry Python SDK's `to_json` of some
//! versions writes 128-bit trace ids as bare integers, which `Value` would round to a
//! float: such literals are quoted as `"#int:DIGITS"` before parsing.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::economics::money::Usd;
use crate::error::Diagnostic;

/// The prefix of an integer literal that did not fit 64 bits, quoted before parsing.
pub(crate) const BIG_INT: &str = "#int:";

/// One JSON document of a file, boxed so that the addresses of its objects are stable.
#[derive(Debug)]
pub(crate) struct Doc {
    pub(crate) value: Box<Value>,
    /// Object address -> 1-based line of its `{`; empty when the count did not match.
    lines: HashMap<usize, u32>,
    /// The line where the document starts.
    pub(crate) first_line: u32,
}

impl Doc {
    /// The line of an object of this document, or the document's first line.
    pub(crate) fn line(&self, obj: &Map<String, Value>) -> u32 {
        self.lines.get(&(obj as *const _ as usize)).copied().unwrap_or(self.first_line)
    }
}

/// A problem with a file: its name, line, the field, the value and what was expected.
pub(crate) fn diag(file: &str, line: u32, path: &str, value: &str, expected: impl Into<String>) -> Diagnostic {
    Diagnostic { file: file.to_string(), line: Some(line), path: path.to_string(), value: value.to_string(), expected: expected.into() }
}

/// Short text of a value for messages.
pub(crate) fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 { format!("{}...", s.chars().take(57).collect::<String>()) } else { s }
}

/// Where a byte scan stands relative to JSON strings.
#[derive(Default)]
struct Lexer {
    in_str: bool,
    esc: bool,
}

impl Lexer {
    /// Takes one byte; true when it lies outside every string (quotes included: the
    /// opening quote returns true, the closing one false).
    fn outside(&mut self, c: u8) -> bool {
        if self.in_str {
            match (self.esc, c) {
                (true, _) => self.esc = false,
                (false, b'\\') => self.esc = true,
                (false, b'"') => self.in_str = false,
                _ => {}
            }
            false
        } else {
            self.in_str = c == b'"';
            true
        }
    }
}

/// Quotes integer literals outside strings that fit neither `u64` nor `i64`. Lines are
/// unchanged (no newline is added), so error positions keep their line.
fn quote_big_ints(text: &str) -> std::borrow::Cow<'_, str> {
    let b = text.as_bytes();
    let mut out: Option<String> = None;
    let (mut last, mut i, mut lex) = (0, 0, Lexer::default());
    while i < b.len() {
        let c = b[i];
        if !lex.outside(c) || !(c == b'-' || c.is_ascii_digit()) {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < b.len() && matches!(b[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
            i += 1;
        }
        let tok = &text[start..i];
        let digits = tok.strip_prefix('-').unwrap_or(tok);
        let integral = !digits.is_empty() && digits.bytes().all(|d| d.is_ascii_digit());
        if integral && tok.parse::<u64>().is_err() && tok.parse::<i64>().is_err() {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len() + 64));
            o.push_str(&text[last..start]);
            o.push('"');
            o.push_str(BIG_INT);
            o.push_str(tok);
            o.push('"');
            last = i;
        }
    }
    match out {
        None => std::borrow::Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[last..]);
            std::borrow::Cow::Owned(o)
        }
    }
}

/// Byte offset and line of every `{` outside strings.
fn object_starts(text: &str) -> Vec<(usize, u32)> {
    let mut v = Vec::new();
    let (mut line, mut lex) = (1u32, Lexer::default());
    for (i, c) in text.bytes().enumerate() {
        if c == b'\n' {
            line += 1;
        }
        if lex.outside(c) && c == b'{' {
            v.push((i, line));
        }
    }
    v
}

fn preorder<'a>(v: &'a Value, out: &mut Vec<&'a Map<String, Value>>) {
    match v {
        Value::Object(m) => {
            out.push(m);
            for x in m.values() {
                preorder(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| preorder(x, out)),
        _ => {}
    }
}

fn line_of(text: &str, offset: usize) -> u32 {
    1 + text.as_bytes()[..offset.min(text.len())].iter().filter(|&&c| c == b'\n').count() as u32
}

/// Parses every JSON document of a file (one, or several one after another, as in JSON
/// Lines). A syntax error is a diagnostic with its line.
pub(crate) fn documents(file: &str, raw: &str) -> Result<Vec<Doc>, Diagnostic> {
    let text = quote_big_ints(raw);
    let starts = object_starts(&text);
    let mut docs = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
    let mut begin = 0usize;
    loop {
        let item = stream.next();
        let end = stream.byte_offset();
        match item {
            None => break,
            Some(Err(e)) => {
                let msg = e.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                return Err(diag(file, e.line() as u32, "", "", format!("invalid JSON: {msg}")));
            }
            Some(Ok(value)) => {
                let value = Box::new(value);
                let skip = text[begin..end].len() - text[begin..end].trim_start().len();
                let first_line = line_of(&text, begin + skip);
                let mut objs = Vec::new();
                preorder(&value, &mut objs);
                let here: Vec<u32> = starts.iter().filter(|(o, _)| *o >= begin && *o < end).map(|&(_, l)| l).collect();
                // A duplicate key drops an object from the tree: then lines are unknown.
                let lines = if here.len() == objs.len() {
                    objs.iter().zip(here).map(|(m, l)| (*m as *const _ as usize, l)).collect()
                } else {
                    HashMap::new()
                };
                docs.push(Doc { value, lines, first_line });
                begin = end;
            }
        }
    }
    Ok(docs)
}

/// A non-negative integer count: a JSON integer, an integral float, or a string of
/// digits (OTLP writes 64-bit integers as strings).
pub(crate) fn count(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < 9.007e15).map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A signed integer: JSON integer or string of digits.
pub(crate) fn int(v: &Value) -> Option<i128> {
    match v {
        Value::Number(n) => n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)),
        Value::String(s) => s.strip_prefix(BIG_INT).unwrap_or(s).trim().parse().ok(),
        _ => None,
    }
}

/// A decimal amount of dollars, rounded once to the nearest pico-dollar. The number's
/// shortest decimal form is parsed, not multiplied as a float, so `4.8e-05` is exactly
/// 48,000,000 pico-dollars.
pub(crate) fn usd(v: &Value) -> Option<Usd> {
    let s = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    crate::model::catalog::decimal::scaled(&s, 12).map(|(pico, _)| Usd(pico))
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An RFC 3339 time (`2025-06-06T11:31:33.965Z`, `...+02:00`) as unix nanoseconds.
/// A time without a zone is refused rather than assumed to be UTC.
pub(crate) fn rfc3339_ns(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).filter(|x| x.bytes().all(|c| c.is_ascii_digit())).and_then(|x| x.parse::<i64>().ok());
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos: i128 = 0;
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let frac = &r[..n];
        let kept = &frac[..n.min(9)];
        nanos = format!("{kept:0<9}").parse().ok()?;
        rest = &r[n..];
    }
    let offset_s: i64 = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) && &rest[3..4] == ":" => {
            let hh: i64 = rest[1..3].parse().ok()?;
            let mm: i64 = rest[4..6].parse().ok()?;
            let o = hh * 3600 + mm * 60;
            if rest.starts_with('-') { -o } else { o }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + se - offset_s;
    Some(secs as i128 * 1_000_000_000 + nanos)
}

/// A trace or span id as lowercase hex of `bytes` bytes: from a hex string (OTLP JSON,
/// with or without `0x`) or an integer (the Python SDK's `to_json` in some versions).
pub(crate) fn hex_id(v: &Value, bytes: usize) -> Option<String> {
    let width = 2 * bytes;
    let from_int = |x: u128| {
        let s = format!("{x:0width$x}");
        (s.len() == width).then_some(s)
    };
    match v {
        Value::Number(n) => n.as_u64().and_then(|x| from_int(x as u128)),
        Value::String(s) => {
            if let Some(d) = s.strip_prefix(BIG_INT) {
                return d.parse::<u128>().ok().and_then(from_int);
            }
            let h = s.strip_prefix("0x").unwrap_or(s);
            (!h.is_empty() && h.len() <= width && h.bytes().all(|c| c.is_ascii_hexdigit()))
                .then(|| format!("{:0>width$}", h.to_ascii_lowercase()))
        }
        _ => None,
    }
}

/// Nanoseconds as exact decimal seconds, trailing zeros trimmed.
pub(crate) fn seconds(ns: i128) -> String {
    let neg = ns < 0;
    let a = ns.unsigned_abs();
    let (w, f) = (a / 1_000_000_000, a % 1_000_000_000);
    let mut s = if neg { format!("-{w}") } else { w.to_string() };
    if f != 0 {
        s.push('.');
        s.push_str(format!("{f:09}").trim_end_matches('0'));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_integers_stay_exact_and_lines_are_known() {
        let text = "{\"a\": 39712373237291850001929057769826244787,\n \"b\": [\n  {\"c\": -1.5e-3}\n ]}\n{\"d\": 12}";
        let docs = documents("f.json", text).unwrap();
        assert_eq!(docs.len(), 2);
        let v = &docs[0].value;
        assert_eq!(v["a"], Value::String(format!("{BIG_INT}39712373237291850001929057769826244787")));
        assert_eq!(hex_id(&v["a"], 16).unwrap(), format!("{:032x}", 39712373237291850001929057769826244787u128));
        let inner = v["b"][0].as_object().unwrap();
        assert_eq!(docs[0].line(inner), 3);
        assert_eq!(docs[1].line(docs[1].value.as_object().unwrap()), 5);
        assert_eq!(docs[1].first_line, 5);
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = documents("bad.json", "{\"a\": 1}\n{\"b\": }\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.expected.starts_with("invalid JSON"), "{e}");
    }

    #[test]
    fn recorded_dollars_are_parsed_not_multiplied() {
        assert_eq!(usd(&serde_json::json!(3.95e-05)), Some(Usd(39_500_000)));
        assert_eq!(usd(&serde_json::json!(4.8299999999999995e-05)), Some(Usd(48_300_000)));
        assert_eq!(usd(&serde_json::json!("0.000234449999")), Some(Usd(234_449_999)));
        assert_eq!(usd(&serde_json::json!("abc")), None);
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(rfc3339_ns("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_ns("1970-01-02T00:00:01.5Z"), Some(86_401_500_000_000));
        // 2025-06-06T11:31:33.965Z = 1749209493.965 s (date -d @1749209493 -u).
        assert_eq!(rfc3339_ns("2025-06-06T11:31:33.965Z"), Some(1_749_209_493_965_000_000));
        assert_eq!(rfc3339_ns("2025-06-06T13:31:33.965+02:00"), Some(1_749_209_493_965_000_000));
        assert_eq!(rfc3339_ns("2025-06-06T11:31:33.965"), None);
        assert_eq!(seconds(1_749_209_493_965_000_000), "1749209493.965");
        assert_eq!(seconds(0), "0");
    }
}
