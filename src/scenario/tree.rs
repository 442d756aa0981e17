//! The scenario as an untyped value tree that remembers source lines.
//!
//! A scenario file is parsed into a [`Node`] tree first, overrides (`--set`, sweep
//! points) are applied to that tree, and only then is it turned into typed structs.
//! That way every field can be overridden and every override is validated exactly like
//! a value written in the file.

use std::fmt;

use toml::de::{DeTable, DeValue};

/// A value in the scenario tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A TOML string.
    Str(String),
    /// A TOML integer.
    Int(i64),
    /// A TOML float.
    Float(f64),
    /// A TOML boolean.
    Bool(bool),
    /// A TOML datetime, kept as its text (no scenario field takes one).
    Datetime(String),
    /// A TOML array.
    Array(Vec<Node>),
    /// A TOML table, in source order.
    Table(Vec<(String, Node)>),
}

/// A value plus the 1-based source line it came from (`None` for values set on the
/// command line).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Source line, when the value came from a file.
    pub line: Option<u32>,
}

impl Node {
    /// A node with no source line.
    pub fn new(value: Value) -> Node {
        Node { value, line: None }
    }

    /// An empty table.
    pub fn table() -> Node {
        Node::new(Value::Table(Vec::new()))
    }

    /// The entries of a table, if this is one.
    pub fn as_table(&self) -> Option<&[(String, Node)]> {
        match &self.value {
            Value::Table(t) => Some(t),
            _ => None,
        }
    }

    /// Looks up `key` in a table.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_table()?.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A short description of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Bool(_) => "a boolean",
            Value::Datetime(_) => "a datetime",
            Value::Array(_) => "an array",
            Value::Table(_) => "a table",
        }
    }

    /// Converts to a `toml::Value` (for writing the resolved scenario back as TOML).
    pub fn to_toml(&self) -> toml::Value {
        match &self.value {
            Value::Str(s) => toml::Value::String(s.clone()),
            Value::Int(i) => toml::Value::Integer(*i),
            Value::Float(f) => toml::Value::Float(*f),
            Value::Bool(b) => toml::Value::Boolean(*b),
            Value::Datetime(d) => d.parse().map(toml::Value::Datetime).unwrap_or_else(|_| toml::Value::String(d.clone())),
            Value::Array(a) => toml::Value::Array(a.iter().map(Node::to_toml).collect()),
            Value::Table(t) => toml::Value::Table(t.iter().map(|(k, v)| (k.clone(), v.to_toml())).collect()),
        }
    }

    /// Converts to JSON (for the manifest). Non-finite floats become strings.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Str(s) | Value::Datetime(s) => J::String(s.clone()),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or_else(|| J::String(f.to_string())),
            Value::Bool(b) => J::Bool(*b),
            Value::Array(a) => J::Array(a.iter().map(Node::to_json).collect()),
            Value::Table(t) => J::Object(t.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        }
    }
}

impl fmt::Display for Node {
    /// Renders the value as TOML would write it inline, for error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Int(i) => write!(f, "{i}"),
            // Very large and very small numbers in exponent form, so that a message
            // shows `1e308` rather than 309 digits.
            Value::Float(x) if x.is_finite() && *x != 0.0 && (x.abs() >= 1e16 || x.abs() < 1e-5) => write!(f, "{x:e}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Datetime(d) => write!(f, "{d}"),
            Value::Array(a) => {
                write!(f, "[")?;
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            Value::Table(t) => {
                write!(f, "{{ ")?;
                for (i, (k, v)) in t.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k} = {v}")?;
                }
                write!(f, " }}")
            }
        }
    }
}

/// A TOML syntax error, with the 1-based line where it was found.
#[derive(Clone, Debug)]
pub struct SyntaxError {
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// The parser's message.
    pub message: String,
    /// The text the parser points at (for a duplicate key: the key), when it is short
    /// and on one line.
    pub at: Option<String>,
    /// The dotted key defined on the line at fault, when the line defines one.
    pub key: Option<String>,
}

/// Parses TOML text into a tree whose nodes carry their source lines.
pub fn parse_document(text: &str) -> Result<Node, SyntaxError> {
    let lines = LineIndex::new(text);
    match DeTable::parse(text) {
        Ok(t) => {
            let span = t.span();
            Ok(convert_table(t.get_ref(), Some(lines.line(span.start)), &lines))
        }
        Err(e) => {
            let message = e.message().trim().to_string();
            let at = e.span().and_then(|s| {
                let t = text.get(s.clone())?.trim();
                if t.is_empty() || t.len() > 200 || t.contains('\n') {
                    return None;
                }
                Some(if message == "duplicate key" { key_path(text, s.start).unwrap_or_else(|| t.to_string()) } else { t.to_string() })
            });
            // The key of the line at fault, when the line defines one.
            let key = e.span().and_then(|s| key_path(text, s.start)).filter(|k| k.len() <= 200 && !k.is_empty());
            Err(SyntaxError { line: e.span().map(|s| lines.line(s.start)), message, at, key })
        }
    }
}

/// The dotted path of the key defined on the line holding `offset`: a table header's
/// name, or the key of a `key = value` line prefixed by the table it is in.
fn key_path(text: &str, offset: usize) -> Option<String> {
    let start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?.trim();
    let header = |l: &str| l.strip_prefix('[').map(|h| h.trim_start_matches('[').split(']').next().unwrap_or("").trim().to_string());
    if let Some(h) = header(line) {
        return Some(h);
    }
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let table = text[..start].lines().rev().map(str::trim).find(|l| l.starts_with('[')).and_then(header);
    Some(match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key.to_string(),
    })
}

/// Parses one TOML value (the right-hand side of `--set PATH=VALUE`). A bare word that
/// is not valid TOML is taken as a string, so `--set workload.arrivals.process=batch`
/// works without shell-quoted quotes.
pub fn parse_value(text: &str) -> Node {
    let lines = LineIndex::new(text);
    match DeValue::parse(text) {
        Ok(v) => {
            let mut n = convert(v.get_ref(), None, &lines);
            clear_lines(&mut n);
            n
        }
        Err(_) => Node::new(Value::Str(text.to_string())),
    }
}

fn clear_lines(n: &mut Node) {
    n.line = None;
    match &mut n.value {
        Value::Array(a) => a.iter_mut().for_each(clear_lines),
        Value::Table(t) => t.iter_mut().for_each(|(_, v)| clear_lines(v)),
        _ => {}
    }
}

struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }
    fn line(&self, offset: usize) -> u32 {
        (self.starts.partition_point(|&s| s <= offset)) as u32
    }
}

fn convert_table(t: &DeTable<'_>, line: Option<u32>, lines: &LineIndex) -> Node {
    let entries = t
        .iter()
        .map(|(k, v)| {
            let kl = lines.line(k.span().start);
            (k.get_ref().to_string(), convert(v.get_ref(), Some(kl), lines))
        })
        .collect();
    Node { value: Value::Table(entries), line }
}

fn convert(v: &DeValue<'_>, line: Option<u32>, lines: &LineIndex) -> Node {
    let value = match v {
        DeValue::String(s) => Value::Str(s.to_string()),
        // An integer beyond i64 keeps its magnitude as a float, so that a message
        // shows the number written (and a range check refuses it) rather than NaN.
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(x) => Value::Int(x),
            Err(_) => Value::Float(i128::from_str_radix(i.as_str(), i.radix()).map_or(f64::NAN, |x| x as f64)),
        },
        DeValue::Float(x) => Value::Float(x.as_str().replace('_', "").parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::Datetime(d.to_string()),
        DeValue::Array(a) => Value::Array(a.iter().map(|e| convert(e.get_ref(), Some(lines.line(e.span().start)), lines)).collect()),
        DeValue::Table(t) => return convert_table(t, line, lines),
    };
    Node { value, line }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_source_lines_and_order() {
        let doc = "name = \"x\"\n\n[agents.b]\nerror_rate = 0.5\n[agents.a]\nx = [1, 2.5]\n";
        let n = parse_document(doc).unwrap();
        let agents = n.get("agents").unwrap().as_table().unwrap();
        assert_eq!(agents[0].0, "b");
        assert_eq!(agents[1].0, "a");
        assert_eq!(n.get("agents").unwrap().get("b").unwrap().get("error_rate").unwrap().line, Some(4));
        assert_eq!(n.get("name").unwrap().line, Some(1));
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let e = parse_document("a = 1\nb = = 2\n").unwrap_err();
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn a_duplicate_key_is_named() {
        for (doc, line, at) in [
            ("seed = 1\nseed = 2\n", 2, "seed"),
            ("[models.a]\nx = 1\n[models.a]\ny = 2\n", 3, "models.a"),
            ("[a]\nb.c = 1\nb.c = 2\n", 3, "a.b.c"),
            ("[[s.steps]]\nid = 1\nid = 2\n", 3, "s.steps.id"),
        ] {
            let e = parse_document(doc).unwrap_err();
            assert_eq!((e.message.as_str(), e.line, e.at.as_deref()), ("duplicate key", Some(line), Some(at)), "{doc}");
        }
    }

    #[test]
    fn a_syntax_error_names_the_key_of_its_line() {
        for (doc, key) in [
            ("name = \"x\"\nb = = 2\n", Some("b")),
            ("[agents.a]\nmodel = gpt\n", Some("agents.a.model")),
            ("[models.a\nx = 1\n", Some("models.a")),
            ("a = 1\n\"unclosed\n", None),
        ] {
            assert_eq!(parse_document(doc).unwrap_err().key.as_deref(), key, "{doc}");
        }
    }

    #[test]
    fn integers_beyond_i64_keep_their_magnitude() {
        let n = parse_document("a = 18446744073709551615\nb = -9223372036854775809\n").unwrap();
        assert_eq!(n.get("a").unwrap().value, Value::Float(1.8446744073709552e19));
        assert_eq!(n.get("b").unwrap().value, Value::Float(-9.223372036854776e18));
        assert_eq!(n.get("a").unwrap().to_string(), "1.8446744073709552e19");
    }

    #[test]
    fn messages_show_extreme_floats_in_exponent_form() {
        assert_eq!(parse_value("1e308").to_string(), "1e308");
        assert_eq!(parse_value("1e-300").to_string(), "1e-300");
        assert_eq!(parse_value("0.25").to_string(), "0.25");
        assert_eq!(parse_value("1.0").to_string(), "1");
        assert_eq!(parse_value("123456.5").to_string(), "123456.5");
        assert_eq!(parse_value("nan").to_string(), "NaN");
    }

    #[test]
    fn bare_words_on_the_command_line_are_strings() {
        assert_eq!(parse_value("batch").value, Value::Str("batch".into()));
        assert_eq!(parse_value("0.25").value, Value::Float(0.25));
        assert_eq!(parse_value("3").value, Value::Int(3));
    }
}
