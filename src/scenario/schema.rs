//! Typing and validation: scenario tree -> [`Scenario`], collecting every problem.
//!
//! One file per section of the scenario: [`models`], [`agents`], [`workload`],
//! [`strategies`]; [`fields`] holds the readers they share (tables, numbers with range
//! checks, counts, distributions). To add a key, read it in its section with
//! [`fields::Fields`] (which also reports unknown keys) and add a unit test there.
//!
//! Every field read here is listed with its default in README.md ("Scenario format");
//! add new fields there too.

mod agents;
mod fields;
mod models;
mod strategies;
mod volume;
mod workload;

use std::path::Path;

use self::fields::{Fields, join_path};
use super::tree::Node;
use crate::error::Diagnostic;
use crate::model::limits;
use crate::model::*;

/// Collects diagnostics for one file.
pub(crate) struct Cx<'a> {
    pub(crate) file: &'a str,
    pub(crate) diags: Vec<Diagnostic>,
    /// Input files read, with their SHA-256.
    pub(crate) inputs: Vec<(String, String)>,
}

impl<'a> Cx<'a> {
    pub(crate) fn new(file: &'a str) -> Self {
        Cx { file, diags: Vec::new(), inputs: Vec::new() }
    }

    pub(crate) fn err(&mut self, line: Option<u32>, path: &str, value: String, expected: impl Into<String>) {
        self.diags.push(Diagnostic { file: self.file.to_string(), line, path: path.to_string(), value, expected: expected.into() });
    }

    pub(crate) fn bad(&mut self, node: &Node, path: &str, expected: impl Into<String>) {
        self.err(node.line, path, node.to_string(), expected);
    }
}

/// What the loader needs besides the tree.
pub(crate) struct Env<'a> {
    /// Folder that relative paths (trace files) are resolved against.
    pub(crate) base_dir: &'a Path,
}

/// Types and validates a whole scenario tree.
pub(crate) fn scenario(cx: &mut Cx, root: &Node, env: &Env) -> Option<Scenario> {
    let mut top = Fields::of(cx, root, "")?;
    let name = top.string_req(cx, "name", "a string naming the scenario").unwrap_or("").to_string();
    if (name.is_empty() || name.contains(['/', '\\']) || name == "." || name == "..")
        && let Some(n) = root.get("name")
    {
        cx.bad(n, "name", "expected a non-empty name without `/` (it names the output folder)");
    }
    let description = top.string_opt(cx, "description").unwrap_or("").to_string();
    let seed = top.count(cx, "seed", 1, 0);
    let replications = top.count(cx, "replications", 10, 1);
    if replications > limits::MAX_REPLICATIONS {
        cx.err(root.get("replications").and_then(|n| n.line), "replications", replications.to_string(), "expected at most 1000000");
    }
    let prices = models::price_map(cx, &mut top, root, env.base_dir);

    // Workload first: agents refer to class names.
    let workload_node = top.take("workload");
    let mut bus: Vec<String> = Vec::new();
    let workload = match workload_node {
        Some(n) => workload::workload(cx, n, env, &mut bus),
        None => {
            top.missing(cx, "workload", "a [workload] table");
            None
        }
    };
    let class_names: Vec<String> = workload.as_ref().map(|w| w.classes.iter().map(|c| c.name.clone()).collect()).unwrap_or_default();

    // Models defined in the file.
    let mut models: Vec<Model> = Vec::new();
    let mut model_nodes: Vec<(String, &Node)> = Vec::new();
    if let Some(mt) = top.sub(cx, "models") {
        for (k, v) in mt.entries {
            model_nodes.push((k.clone(), v));
        }
    }
    let mut model_index = |cx: &mut Cx, name: &str, models: &mut Vec<Model>| -> Option<usize> {
        if let Some(i) = models.iter().position(|m| m.name == name) {
            return Some(i);
        }
        let node = model_nodes.iter().find(|(k, _)| k == name).map(|(_, v)| *v);
        let m = models::model(cx, name, node, &join_path("models", name), &prices)?;
        models.push(m);
        Some(models.len() - 1)
    };

    // Agents.
    let mut agents: Vec<Agent> = Vec::new();
    let mut agent_lines: Vec<Option<u32>> = Vec::new();
    match top.sub(cx, "agents") {
        Some(at) => {
            for (k, v) in at.entries {
                let path = join_path("agents", k);
                if let Some(a) = agents::agent(cx, k, v, &path, &class_names, &mut models, &mut model_index) {
                    agents.push(a);
                    agent_lines.push(v.line);
                }
            }
        }
        None => {
            if root.get("agents").is_none() {
                top.missing(cx, "agents", "an [agents.NAME] table");
            }
        }
    }
    // Models defined but unused are still validated. A table that only an override
    // created (no source line) is a `--set` or sweep axis that would change nothing, most
    // likely a misspelt or outdated model name: refuse it and name the models in use.
    for (k, v) in &model_nodes {
        if !models.iter().any(|m| &m.name == k) {
            if v.line.is_none() {
                let used: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
                cx.err(
                    None,
                    &join_path("models", k),
                    String::new(),
                    format!("no agent uses this model, so setting it changes nothing; the agents use: {}", used.join(", ")),
                );
            }
            models::model(cx, k, Some(v), &join_path("models", k), &prices);
        }
    }

    let agent_names: Vec<String> =
        root.get("agents").and_then(|a| a.as_table()).map(|t| t.iter().map(|(k, _)| k.clone()).collect()).unwrap_or_default();
    let mut strategies = Vec::new();
    match top.sub(cx, "strategies") {
        Some(st) => {
            if st.entries.is_empty() {
                cx.err(st.line, "strategies", String::new(), "expected at least one strategy");
            }
            for (k, v) in st.entries {
                let path = join_path("strategies", k);
                if let Some(s) = strategies::strategy(cx, k, v, &path, &agents, &agent_names) {
                    strategies.push(s);
                }
            }
        }
        None => {
            if root.get("strategies").is_none() {
                top.missing(cx, "strategies", "at least one [strategies.NAME] table");
            }
        }
    }
    // The sweep table is read by the sweep module; here we only accept it.
    top.take("sweep");
    // The strategy comparisons are made against (read by `analysis`); default the first.
    if let (Some(b), Some(node)) = (top.string_opt(cx, "baseline"), root.get("baseline")) {
        let names: Vec<String> =
            root.get("strategies").and_then(|s| s.as_table()).map(|t| t.iter().map(|(k, _)| k.clone()).collect()).unwrap_or_default();
        if !names.iter().any(|n| n == b) {
            cx.bad(node, "baseline", format!("unknown strategy; expected one of: {}", names.join(", ")));
        }
    }
    // Uncertain inputs and their ranges, for `orchsim sensitivity`.
    if top.take("assumptions").is_some()
        && let Err(d) = crate::analysis::sensitivity::assumptions(root, cx.file)
    {
        cx.diags.extend(d);
    }
    // Read by `orchsim horizon` (crate::horizon::spec), which reports its own problems.
    top.take("horizon");
    top.finish(cx);

    let workload = workload?;
    if !cx.diags.is_empty() {
        return None;
    }
    let inputs = cx.inputs.clone();
    let sc = Scenario {
        name,
        description,
        seed,
        replications: replications as u32,
        models,
        agents,
        workload,
        strategies,
        business_units: bus,
        inputs,
        prices: PriceSource { label: prices.label.clone(), sha256: prices.sha256.clone() },
    };
    volume::check(cx, root, &sc);
    if cx.diags.is_empty() { Some(sc) } else { None }
}

/// A small valid scenario with one empty line per section where a test puts a key, so
/// that the line an error names is known: workload 5, models 11, agents 14, strategies
/// 16, the step 20.
#[cfg(test)]
pub(super) mod testing {
    use std::path::Path;

    use super::{Cx, Env, scenario};
    use crate::model::Scenario;
    use crate::scenario::tree::parse_document;

    const TEMPLATE: &str = "name = \"t\"
[workload]
tasks = 10
arrivals = { process = \"batch\" }
WORKLOAD
[models.m]
input_usd_per_mtok = 1
output_usd_per_mtok = 2
ttft_s = 0.5
output_tokens_per_s = 50
MODELS
[agents.a]
model = \"m\"
AGENTS
[strategies.s]
STRATEGIES
[[strategies.s.steps]]
id = \"x\"
agent = \"a\"
STEP
";

    /// Loads the template with `(SECTION, line)` put in place, from `dir`. `Err` holds
    /// every diagnostic as printed.
    pub(crate) fn load_in(dir: &Path, parts: &[(&str, &str)]) -> Result<Scenario, Vec<String>> {
        let mut text = TEMPLATE.to_string();
        for (k, v) in parts {
            text = text.replacen(&format!("{k}\n"), &format!("{v}\n"), 1);
        }
        for k in ["WORKLOAD", "MODELS", "AGENTS", "STRATEGIES", "STEP"] {
            text = text.replacen(&format!("{k}\n"), "\n", 1);
        }
        let tree = parse_document(&text).map_err(|e| vec![e.message])?;
        let mut cx = Cx::new("t.toml");
        let sc = scenario(&mut cx, &tree, &Env { base_dir: dir });
        if cx.diags.is_empty() {
            sc.ok_or_else(|| vec!["no scenario".to_string()])
        } else {
            Err(cx.diags.iter().map(|d| d.to_string()).collect())
        }
    }

    /// [`load_in`] from the current folder.
    pub(crate) fn load(parts: &[(&str, &str)]) -> Result<Scenario, Vec<String>> {
        load_in(Path::new("."), parts)
    }

    /// The single diagnostic of a refused scenario.
    pub(crate) fn refused(parts: &[(&str, &str)]) -> String {
        match load(parts) {
            Ok(_) => panic!("accepted: {parts:?}"),
            Err(d) => {
                assert_eq!(d.len(), 1, "expected one diagnostic, got {d:#?}");
                d[0].clone()
            }
        }
    }

    #[test]
    fn the_template_is_valid_and_top_level_keys_are_checked() {
        let sc = load(&[]).unwrap();
        assert_eq!((sc.name.as_str(), sc.seed, sc.replications), ("t", 1, 10));
        let sc = load(&[("WORKLOAD", "")]).unwrap();
        assert_eq!(sc.workload.tasks, 10);
        // An unknown key at the top level names itself and the keys that exist.
        let d = load(&[("STEP", "[extra]\nx = 1")]).unwrap_err();
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(
            d[0],
            "t.toml:20: extra = { x = 1 }: unknown key; expected one of: agents, assumptions, baseline, description, horizon, models, name, \
             prices, replications, seed, strategies, sweep, workload"
        );
        assert_eq!(load(&[("name = \"t\"", "name = \"t\"\nseed = 7")]).unwrap().seed, 7);
        assert_eq!(
            refused(&[("name = \"t\"", "name = \"a/b\"")]),
            "t.toml:1: name = \"a/b\": expected a non-empty name without `/` (it names the output folder)"
        );
    }
}
