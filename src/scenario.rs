//! Loading scenarios: TOML text -> value tree -> overrides -> typed, validated [`Scenario`].

pub(crate) mod overrides;
pub(crate) mod schema;
pub(crate) mod trace;
pub mod tree;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Diagnostic, Error, Result};
use crate::model::Scenario;
pub use tree::{Node, Value};

/// The built-in default scenario (the same text as `scenarios/research-report.toml`).
pub const DEFAULT_SCENARIO: &str = include_str!("../scenarios/research-report.toml");
/// How the default scenario is named in messages and manifests.
pub const DEFAULT_SCENARIO_NAME: &str = "scenarios/research-report.toml";

/// The largest scenario file read (trace files, read separately, may be larger).
pub(crate) const MAX_SCENARIO_BYTES: u64 = 16 << 20;

/// Where a scenario's text came from.
#[derive(Clone, Debug)]
pub struct Source {
    /// Name shown in messages (the path as given, or the built-in's name).
    pub file: String,
    /// The text.
    pub text: String,
    /// Folder against which relative paths in the scenario are resolved.
    pub base_dir: PathBuf,
}

impl Source {
    /// Reads a scenario file.
    pub fn read(path: &Path) -> Result<Source> {
        let shown = path.display().to_string();
        let bad = |why: String| Error::invalid(&shown, "", "", why);
        // A FIFO or a device (`/dev/zero`) would block or never end.
        let meta = std::fs::metadata(path).map_err(|e| bad(format!("cannot read scenario: {e}")))?;
        if !meta.is_file() {
            return Err(bad("cannot read scenario: not a regular file".into()));
        }
        if meta.len() > MAX_SCENARIO_BYTES {
            return Err(bad(format!("cannot read scenario: {} bytes; a scenario is at most {MAX_SCENARIO_BYTES}", meta.len())));
        }
        let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read scenario: {e}")))?;
        // Relative paths inside the scenario resolve against its folder, recorded as an
        // absolute path so that a replay from another directory finds them.
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let base_dir = parent.canonicalize().unwrap_or_else(|_| parent.to_path_buf());
        Ok(Source { file: path.display().to_string(), text, base_dir })
    }

    /// The built-in default scenario.
    pub fn builtin() -> Source {
        Source { file: DEFAULT_SCENARIO_NAME.to_string(), text: DEFAULT_SCENARIO.to_string(), base_dir: PathBuf::from("scenarios") }
    }

    /// SHA-256 of the text, hex.
    pub fn sha256(&self) -> String {
        hex(&Sha256::digest(self.text.as_bytes()))
    }

    /// Parses the text into a tree.
    pub fn parse(&self) -> Result<Node> {
        tree::parse_document(&self.text).map_err(|e| {
            Error::Invalid(vec![Diagnostic {
                file: self.file.clone(),
                line: e.line,
                path: String::new(),
                value: String::new(),
                // The key at fault: the duplicate, or the key of the line.
                expected: match (e.message.as_str(), &e.at, &e.key) {
                    ("duplicate key", Some(k), _) => format!("invalid TOML: duplicate key `{k}`"),
                    (m, _, Some(k)) => format!("invalid TOML in `{k}`: {}", m.replace('\n', " ")),
                    (m, _, None) => format!("invalid TOML: {}", m.replace('\n', " ")),
                },
            }])
        })
    }
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Parses a `PATH=VALUE` override.
pub fn parse_assignment(arg: &str, flag: &str) -> Result<(String, String)> {
    match arg.split_once('=') {
        Some((p, v)) if !p.trim().is_empty() => Ok((p.trim().to_string(), v.trim().to_string())),
        _ => Err(Error::Usage(format!("{flag} {arg:?}: expected PATH=VALUE, e.g. {flag} agents.researcher.error_rate=0.1"))),
    }
}

/// At most 200 characters of `s`, for messages.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Applies `--set` overrides to a tree. Every bad path is reported.
pub fn apply_sets(tree: &mut Node, sets: &[(String, String)], origin: &str) -> Result<()> {
    let mut diags = Vec::new();
    for (path, value) in sets {
        if let Err(e) = overrides::set(tree, path, tree::parse_value(value)) {
            diags.push(Diagnostic { file: origin.to_string(), line: None, path: shorten(path), value: shorten(value), expected: e.0 });
        }
    }
    if diags.is_empty() { Ok(()) } else { Err(Error::Invalid(diags)) }
}

/// Types and validates a tree. `file` names the source in messages; values set from the
/// command line (no line) are reported as coming from `--set`.
pub fn from_tree(tree: &Node, file: &str, base_dir: &Path) -> Result<Scenario> {
    from_tree_labelled(tree, file, base_dir, &format!("{file} (--set)"))
}

/// Like [`from_tree`], with `override_label` naming the source of values that have no
/// source line (command-line overrides, sweep points).
pub fn from_tree_labelled(tree: &Node, file: &str, base_dir: &Path, override_label: &str) -> Result<Scenario> {
    let mut cx = schema::Cx::new(file);
    let env = schema::Env { base_dir };
    let sc = schema::scenario(&mut cx, tree, &env);
    if !cx.diags.is_empty() {
        let mut d = cx.diags;
        for x in &mut d {
            if x.line.is_none() {
                x.file = override_label.to_string();
            }
        }
        return Err(Error::Invalid(d));
    }
    sc.ok_or_else(|| Error::invalid(file, "", "", "invalid scenario"))
}

/// A scenario ready to run: the typed scenario plus what the manifest records.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Where it came from.
    pub source: Source,
    /// The tree after overrides (what the manifest records as the resolved scenario).
    pub tree: Node,
    /// The typed scenario.
    pub scenario: Scenario,
}

/// Loads a scenario (a file, or the built-in default when `path` is `None`) and applies
/// overrides.
pub fn load(path: Option<&Path>, sets: &[(String, String)]) -> Result<Loaded> {
    let source = match path {
        Some(p) => Source::read(p)?,
        None => Source::builtin(),
    };
    let mut tree = source.parse()?;
    apply_sets(&mut tree, sets, "--set")?;
    let scenario = from_tree(&tree, &source.file, &source.base_dir)?;
    Ok(Loaded { source, tree, scenario })
}

/// Writes the tree back as TOML (the resolved scenario stored in manifests).
pub fn to_toml_string(tree: &Node) -> String {
    match tree.to_toml() {
        toml::Value::Table(t) => toml::to_string(&t).unwrap_or_default(),
        other => other.to_string(),
    }
}
