//! `--set PATH=VALUE` and sweep points: edits of the scenario tree before typing.
//!
//! A path is dotted (`agents.researcher.error_rate`); a segment may be quoted to hold
//! dots (`models."gpt-4.1".input_usd_per_mtok`); inside an array of tables a segment
//! names the element whose `id` (steps) or `name` (task classes) equals it
//! (`strategies.pipeline.steps.verify.max_rework`, `workload.classes.brief.difficulty`)
//! or, failing that, its 0-based index.

use super::tree::{Node, Value};

/// A problem with an override path, reported as invalid input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathError(pub String);

/// Splits a dotted path into segments, honouring double-quoted segments.
pub fn split_path(path: &str) -> Result<Vec<String>, PathError> {
    let mut segs = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    let mut quoted_seg = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if cur.is_empty() && !quoted_seg => {
                let mut closed = false;
                for q in chars.by_ref() {
                    if q == '"' {
                        closed = true;
                        break;
                    }
                    cur.push(q);
                }
                if !closed {
                    return Err(PathError(format!("unterminated quote in path `{path}`")));
                }
                quoted_seg = true;
                if !matches!(chars.peek(), None | Some('.')) {
                    return Err(PathError(format!("expected `.` after a quoted segment in path `{path}`")));
                }
            }
            '.' => {
                if cur.is_empty() && !quoted_seg {
                    return Err(PathError(format!("empty segment in path `{path}`")));
                }
                segs.push(std::mem::take(&mut cur));
                quoted_seg = false;
            }
            c => cur.push(c),
        }
    }
    if cur.is_empty() && !quoted_seg {
        return Err(PathError(format!("empty segment in path `{path}`")));
    }
    segs.push(cur);
    Ok(segs)
}

/// Whether an array element is the one a path segment names: by its `id` (steps) or
/// its `name` (task classes).
fn names(n: &Node, seg: &str) -> bool {
    ["id", "name"].iter().any(|k| matches!(n.get(k).map(|v| &v.value), Some(Value::Str(s)) if s == seg))
}

/// Sets `path` to `value` in `root`, creating intermediate tables as needed.
pub fn set(root: &mut Node, path: &str, value: Node) -> Result<(), PathError> {
    let segs = split_path(path)?;
    let mut node = root;
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        let tname = node.type_name();
        node = match &mut node.value {
            Value::Table(entries) => {
                let pos = match entries.iter().position(|(k, _)| k == seg) {
                    Some(p) => p,
                    None => {
                        entries.push((seg.clone(), Node::table()));
                        entries.len() - 1
                    }
                };
                &mut entries[pos].1
            }
            Value::Array(items) => {
                let by_id = items.iter().position(|n| names(n, seg));
                let pos = match by_id.or_else(|| seg.parse::<usize>().ok().filter(|&k| k < items.len())) {
                    Some(p) => p,
                    None => {
                        return Err(PathError(format!("`{}` has no element with id or name `{seg}`", segs[..i].join("."))));
                    }
                };
                &mut items[pos]
            }
            _ => {
                return Err(PathError(format!("`{}` is {}, not a table: cannot set `{path}`", segs[..i].join("."), tname)));
            }
        };
        if last {
            *node = value;
            return Ok(());
        }
    }
    Ok(())
}

/// Reads the value at `path`, if present.
pub fn get<'a>(root: &'a Node, path: &str) -> Option<&'a Node> {
    let segs = split_path(path).ok()?;
    let mut node = root;
    for seg in &segs {
        node = match &node.value {
            Value::Table(_) => node.get(seg)?,
            Value::Array(items) => items.iter().find(|n| names(n, seg)).or_else(|| seg.parse::<usize>().ok().and_then(|k| items.get(k)))?,
            _ => return None,
        };
    }
    Some(node)
}

#[cfg(test)]
mod tests {
    use super::super::tree::{parse_document, parse_value};
    use super::*;

    #[test]
    fn splits_quoted_segments() {
        assert_eq!(split_path("models.\"gpt-4.1\".input_usd_per_mtok").unwrap(), vec!["models", "gpt-4.1", "input_usd_per_mtok"]);
        assert!(split_path("a..b").is_err());
        assert!(split_path("a.\"b").is_err());
    }

    #[test]
    fn sets_by_id_inside_arrays_and_creates_tables() {
        let mut doc = parse_document("[strategies.p]\n[[strategies.p.steps]]\nid = \"a\"\n[[strategies.p.steps]]\nid = \"b\"\n").unwrap();
        set(&mut doc, "strategies.p.steps.b.max_rework", parse_value("5")).unwrap();
        set(&mut doc, "strategies.p.steps.0.replicas", parse_value("3")).unwrap();
        assert_eq!(get(&doc, "strategies.p.steps.a.replicas").unwrap().value, Value::Int(3));
        set(&mut doc, "models.m.error_rate", parse_value("0.1")).unwrap();
        assert_eq!(get(&doc, "strategies.p.steps.b.max_rework").unwrap().value, Value::Int(5));
        assert_eq!(get(&doc, "models.m.error_rate").unwrap().value, Value::Float(0.1));
        assert!(set(&mut doc, "strategies.p.steps.zz.x", parse_value("1")).is_err());
    }
}
