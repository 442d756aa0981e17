//! `--set PATH=VALUE` and sweep points: edits of the scenario tree before typing.
//!
//! A path is dotted (`agents.researcher.error_rate`); a segment may be quoted to hold
//! dots (`models."gpt-4.1".input_usd_per_mtok`); inside an array of tables a segment
//! names the element whose `id` (steps) or `name` (task classes) equals it
//! (`strategies.pipeline.steps.verify.max_rework`, `workload.classes.brief.difficulty`)
//! or, failing that, its 0-based index.
//!
//! A name holding dots may also be written unquoted, as a shell leaves
//! `models."gpt-4.1".x` once it has removed the quotes: `models.gpt-4.1.x` resolves to the
//! longest run of segments that names an existing key (or, under `models`, a catalog
//! model).

use super::tree::{Node, Value};
use crate::model::catalog;

/// Segments a path may have: no scenario key is nested deeper than a few levels, and a
/// path of thousands would build a tree too deep to drop or print.
pub(crate) const MAX_SEGMENTS: usize = 32;

/// A problem with an override path, reported as invalid input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PathError(pub(crate) String);

/// Splits a dotted path into segments, honouring double-quoted segments.
pub(crate) fn split_path(path: &str) -> Result<Vec<String>, PathError> {
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
    if segs.len() > MAX_SEGMENTS {
        let shown: String = path.chars().take(60).collect();
        return Err(PathError(format!("path `{shown}…` has {} segments; at most {MAX_SEGMENTS}", segs.len())));
    }
    Ok(segs)
}

/// Whether an array element is the one a path segment names: by its `id` (steps) or
/// its `name` (task classes).
fn names(n: &Node, seg: &str) -> bool {
    ["id", "name"].iter().any(|k| matches!(n.get(k).map(|v| &v.value), Some(Value::Str(s)) if s == seg))
}

/// Joins unquoted segments that together name a key: from `segs[i]`, the longest run
/// `segs[i..j]` whose dotted join is a key of `entries` or, directly under `models`, a
/// catalog model; a single segment when none is. Returns the key and `j`.
fn resolve(segs: &[String], i: usize, entries: &[(String, Node)]) -> (String, usize) {
    let under_models = i == 1 && segs[0] == "models";
    for j in (i + 2..=segs.len()).rev() {
        let k = segs[i..j].join(".");
        if entries.iter().any(|(e, _)| *e == k) || (under_models && catalog::builtin().find(&k).is_some()) {
            return (k, j);
        }
    }
    (segs[i].clone(), i + 1)
}

/// Sets `path` to `value` in `root`, creating intermediate tables as needed.
pub(crate) fn set(root: &mut Node, path: &str, value: Node) -> Result<(), PathError> {
    let segs = split_path(path)?;
    // Unquoted dotted names are joined first (see the module doc).
    let mut joined: Vec<String> = Vec::with_capacity(segs.len());
    {
        let mut node: Option<&Node> = Some(root);
        let mut i = 0;
        while i < segs.len() {
            let (key, j) = match node.and_then(Node::as_table) {
                Some(entries) => resolve(&segs, i, entries),
                None if i == 1 && segs[0] == "models" => resolve(&segs, i, &[]),
                None => (segs[i].clone(), i + 1),
            };
            node = node.and_then(|n| match &n.value {
                Value::Table(_) => n.get(&key),
                Value::Array(items) => items.iter().find(|x| names(x, &key)),
                _ => None,
            });
            joined.push(key);
            i = j;
        }
    }
    let segs = joined;
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

/// Reads the value at `path`, if present (dotted names resolve as in [`set`]).
pub(crate) fn get<'a>(root: &'a Node, path: &str) -> Option<&'a Node> {
    let segs = split_path(path).ok()?;
    let mut node = root;
    let mut i = 0;
    while i < segs.len() {
        node = match &node.value {
            Value::Table(entries) => {
                let (key, j) = resolve(&segs, i, entries);
                i = j;
                node.get(&key)?
            }
            Value::Array(items) => {
                let seg = &segs[i];
                i += 1;
                items.iter().find(|n| names(n, seg)).or_else(|| seg.parse::<usize>().ok().and_then(|k| items.get(k)))?
            }
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
    fn unquoted_dotted_names_resolve_to_the_longest_known_key() {
        let mut doc = parse_document("[models.\"gpt-4.1\"]\ninput_usd_per_mtok = 2\n[models.gpt-4]\nx = 1\n").unwrap();
        // As a shell leaves `models."gpt-4.1".input_usd_per_mtok=4`.
        set(&mut doc, "models.gpt-4.1.input_usd_per_mtok", parse_value("4")).unwrap();
        assert_eq!(get(&doc, "models.\"gpt-4.1\".input_usd_per_mtok").unwrap().value, Value::Int(4));
        assert_eq!(doc.get("models").unwrap().as_table().unwrap().len(), 2);
        // A catalog model the file does not define yet.
        set(&mut doc, "models.gpt-4.1-mini.error_rate", parse_value("0.5")).unwrap();
        assert_eq!(doc.get("models").unwrap().get("gpt-4.1-mini").unwrap().get("error_rate").unwrap().value, Value::Float(0.5));
        // Otherwise one segment is one key, as before.
        set(&mut doc, "agents.a.b.c", parse_value("1")).unwrap();
        assert_eq!(doc.get("agents").unwrap().get("a").unwrap().get("b").unwrap().get("c").unwrap().value, Value::Int(1));
    }

    #[test]
    fn paths_are_capped_in_depth() {
        let deep = vec!["a"; 65_000].join(".");
        let e = split_path(&deep).unwrap_err();
        assert!(e.0.ends_with("has 65000 segments; at most 32"), "{}", e.0);
        let mut doc = parse_document("").unwrap();
        assert!(set(&mut doc, &deep, parse_value("1")).is_err());
        assert!(set(&mut doc, &vec!["a"; 32].join("."), parse_value("1")).is_ok());
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
