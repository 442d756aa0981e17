//! Typing and validation: scenario tree -> [`Scenario`], collecting every problem.
//!
//! Every field read here is listed with its default in README.md ("Scenario format");
//! add new fields there too.

use std::path::Path;

use super::tree::{Node, Value};
use crate::economics::money::{PricePerMtok, Usd};
use crate::error::Diagnostic;
use crate::model::catalog;
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

    fn bad(&mut self, node: &Node, path: &str, expected: impl Into<String>) {
        self.err(node.line, path, node.to_string(), expected);
    }
}

/// Bit `i` of a step set (none past 63: more steps are rejected anyway).
fn bit(i: usize) -> u64 {
    1u64.checked_shl(i as u32).unwrap_or(0)
}

fn join_path(base: &str, key: &str) -> String {
    let quoted = key.is_empty() || key.contains(['.', '"', ' ']);
    let k = if quoted { format!("\"{key}\"") } else { key.to_string() };
    if base.is_empty() { k } else { format!("{base}.{k}") }
}

/// A table being read: tracks which keys were asked for, to report unknown ones.
struct Fields<'a> {
    path: String,
    line: Option<u32>,
    entries: &'a [(String, Node)],
    known: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    fn of(cx: &mut Cx, node: &'a Node, path: &str) -> Option<Fields<'a>> {
        match &node.value {
            Value::Table(entries) => Some(Fields { path: path.to_string(), line: node.line, entries, known: Vec::new() }),
            _ => {
                cx.bad(node, path, format!("expected a table, found {}", node.type_name()));
                None
            }
        }
    }

    fn p(&self, key: &str) -> String {
        join_path(&self.path, key)
    }

    fn take(&mut self, key: &'static str) -> Option<&'a Node> {
        self.known.push(key);
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn missing(&self, cx: &mut Cx, key: &str, expected: &str) {
        cx.err(self.line, &self.p(key), String::new(), format!("missing; expected {expected}"));
    }

    /// Reports keys that were never asked for.
    fn finish(self, cx: &mut Cx) {
        for (k, v) in self.entries {
            if !self.known.iter().any(|x| x == k) {
                let mut known = self.known.clone();
                known.sort_unstable();
                known.dedup();
                cx.err(v.line, &join_path(&self.path, k), v.to_string(), format!("unknown key; expected one of: {}", known.join(", ")));
            }
        }
    }

    fn num_opt(&mut self, cx: &mut Cx, key: &'static str, check: Check) -> Option<f64> {
        let n = self.take(key)?;
        let path = self.p(key);
        num(cx, n, &path, check)
    }

    fn num(&mut self, cx: &mut Cx, key: &'static str, default: f64, check: Check) -> f64 {
        self.num_opt(cx, key, check).unwrap_or(default)
    }

    fn num_req(&mut self, cx: &mut Cx, key: &'static str, check: Check) -> f64 {
        if self.entries.iter().all(|(k, _)| k != key) {
            self.known.push(key);
            self.missing(cx, key, check.expected());
            return 0.0;
        }
        self.num_opt(cx, key, check).unwrap_or(0.0)
    }

    fn count(&mut self, cx: &mut Cx, key: &'static str, default: u64, min: u64) -> u64 {
        let Some(n) = self.take(key) else { return default };
        let path = self.p(key);
        count(cx, n, &path, min).unwrap_or(default)
    }

    fn string_opt(&mut self, cx: &mut Cx, key: &'static str) -> Option<&'a str> {
        let n = self.take(key)?;
        match &n.value {
            Value::Str(s) => Some(s),
            _ => {
                let path = self.p(key);
                cx.bad(n, &path, format!("expected a string, found {}", n.type_name()));
                None
            }
        }
    }

    fn string_req(&mut self, cx: &mut Cx, key: &'static str, what: &str) -> Option<&'a str> {
        if self.entries.iter().all(|(k, _)| k != key) {
            self.known.push(key);
            self.missing(cx, key, what);
            return None;
        }
        self.string_opt(cx, key)
    }

    fn choice<T: Copy>(&mut self, cx: &mut Cx, key: &'static str, default: T, options: &[(&str, T)]) -> T {
        let Some(n) = self.take(key) else { return default };
        let path = self.p(key);
        let names: Vec<String> = options.iter().map(|(s, _)| format!("\"{s}\"")).collect();
        match &n.value {
            Value::Str(s) => match options.iter().find(|(o, _)| o == s) {
                Some((_, v)) => *v,
                None => {
                    cx.bad(n, &path, format!("expected one of {}", names.join(", ")));
                    default
                }
            },
            _ => {
                cx.bad(n, &path, format!("expected one of {}", names.join(", ")));
                default
            }
        }
    }

    fn dist_opt(&mut self, cx: &mut Cx, key: &'static str) -> Option<Dist> {
        let n = self.take(key)?;
        let path = self.p(key);
        dist(cx, n, &path)
    }

    fn dist(&mut self, cx: &mut Cx, key: &'static str, default: f64) -> Dist {
        self.dist_opt(cx, key).unwrap_or(Dist::Const(default))
    }

    fn dist_req(&mut self, cx: &mut Cx, key: &'static str) -> Dist {
        if self.entries.iter().all(|(k, _)| k != key) {
            self.known.push(key);
            self.missing(cx, key, "a number or a distribution table");
            return Dist::Const(0.0);
        }
        self.dist(cx, key, 0.0)
    }

    fn sub(&mut self, cx: &mut Cx, key: &'static str) -> Option<Fields<'a>> {
        let n = self.take(key)?;
        let path = self.p(key);
        Fields::of(cx, n, &path)
    }
}

/// Range checks for numbers.
#[derive(Clone, Copy)]
enum Check {
    Prob,
    NonNeg,
    Pos,
}

impl Check {
    fn expected(self) -> &'static str {
        match self {
            Check::Prob => "a probability between 0 and 1",
            Check::NonNeg => "a non-negative number",
            Check::Pos => "a positive number",
        }
    }
    fn ok(self, x: f64) -> bool {
        x.is_finite()
            && match self {
                Check::Prob => (0.0..=1.0).contains(&x),
                Check::NonNeg => x >= 0.0,
                Check::Pos => x > 0.0,
            }
    }
}

fn num(cx: &mut Cx, n: &Node, path: &str, check: Check) -> Option<f64> {
    let x = match n.value {
        Value::Int(i) => i as f64,
        Value::Float(f) => f,
        _ => {
            cx.bad(n, path, format!("expected {}, found {}", check.expected(), n.type_name()));
            return None;
        }
    };
    if !check.ok(x) {
        let msg = match check {
            Check::Prob => "must be between 0 and 1".to_string(),
            c => format!("expected {}", c.expected()),
        };
        cx.bad(n, path, msg);
        return None;
    }
    Some(x)
}

fn count(cx: &mut Cx, n: &Node, path: &str, min: u64) -> Option<u64> {
    match n.value {
        Value::Int(i) if i >= min as i64 => Some(i as u64),
        Value::Float(f) if f.fract() == 0.0 && f >= min as f64 && f < 9.0e15 => Some(f as u64),
        _ => {
            cx.bad(n, path, format!("expected a whole number >= {min}"));
            None
        }
    }
}

fn usd(x: f64) -> Usd {
    Usd::from_f64(x)
}

/// A distribution: a number (constant) or `{ dist = "...", ... }`.
fn dist(cx: &mut Cx, n: &Node, path: &str) -> Option<Dist> {
    if let Value::Int(_) | Value::Float(_) = n.value {
        return num(cx, n, path, Check::NonNeg).map(Dist::Const);
    }
    let mut f = Fields::of(cx, n, path)?;
    let kinds = "\"const\", \"exp\", \"lognormal\", \"normal\", \"gamma\", \"uniform\", \"poisson\", \"empirical\"";
    let kind = f.string_req(cx, "dist", &format!("one of {kinds}"))?;
    let before = cx.diags.len();
    let built = match kind {
        "const" => Ok(Dist::Const(f.num_req(cx, "value", Check::NonNeg))),
        "exp" => Dist::exp(f.num_req(cx, "mean", Check::Pos)),
        "lognormal" => {
            let (m, s) = (f.num_req(cx, "mean", Check::Pos), f.num_req(cx, "sd", Check::NonNeg));
            Dist::lognormal(m, s)
        }
        "normal" => {
            let (m, s) = (f.num_req(cx, "mean", Check::NonNeg), f.num_req(cx, "sd", Check::NonNeg));
            Dist::normal(m, s)
        }
        "gamma" => {
            let (a, b) = (f.num_req(cx, "shape", Check::Pos), f.num_req(cx, "scale", Check::Pos));
            Dist::gamma(a, b)
        }
        "uniform" => {
            let (a, b) = (f.num_req(cx, "min", Check::NonNeg), f.num_req(cx, "max", Check::NonNeg));
            Dist::uniform(a, b)
        }
        "poisson" => Dist::poisson(f.num_req(cx, "mean", Check::Pos)),
        "empirical" => {
            let mut vals = Vec::new();
            match f.take("values") {
                Some(Node { value: Value::Array(items), .. }) => {
                    for (i, it) in items.iter().enumerate() {
                        if let Some(x) = num(cx, it, &format!("{path}.values[{i}]"), Check::NonNeg) {
                            vals.push(x);
                        }
                    }
                }
                Some(other) => cx.bad(other, &f.p("values"), "expected an array of numbers"),
                None => f.missing(cx, "values", "an array of non-negative numbers"),
            }
            Dist::empirical(vals)
        }
        _ => {
            let dn = n.get("dist").unwrap_or(n);
            cx.bad(dn, &f.p("dist"), format!("expected one of {kinds}"));
            f.known.extend(["value", "mean", "sd", "shape", "scale", "min", "max", "values"]);
            f.finish(cx);
            return None;
        }
    };
    f.finish(cx);
    if cx.diags.len() > before {
        return None;
    }
    match built {
        Ok(d) => Some(d),
        Err(e) => {
            cx.bad(n, path, e.0);
            None
        }
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
    if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
        if let Some(n) = root.get("name") {
            cx.bad(n, "name", "expected a non-empty name without `/` (it names the output folder)");
        }
    }
    let description = top.string_opt(cx, "description").unwrap_or("").to_string();
    let seed = top.count(cx, "seed", 1, 0);
    let replications = top.count(cx, "replications", 10, 1);
    if replications > 1_000_000 {
        cx.err(root.get("replications").and_then(|n| n.line), "replications", replications.to_string(), "expected at most 1000000");
    }

    // Workload first: agents refer to class names.
    let workload_node = top.take("workload");
    let mut bus: Vec<String> = Vec::new();
    let workload = match workload_node {
        Some(n) => workload(cx, n, env, &mut bus),
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
        let m = model(cx, name, node, &join_path("models", name))?;
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
                if let Some(a) = agent(cx, k, v, &path, &class_names, &mut models, &mut model_index) {
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
    // Models defined but unused are still validated.
    for (k, v) in &model_nodes {
        if !models.iter().any(|m| &m.name == k) {
            model(cx, k, Some(v), &join_path("models", k));
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
                if let Some(s) = strategy(cx, k, v, &path, &agents, &agent_names) {
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
    // Read by `orchsim horizon` (crate::horizon::spec), which reports its own problems.
    top.take("horizon");
    top.finish(cx);

    let workload = workload?;
    if !cx.diags.is_empty() {
        return None;
    }
    let inputs = cx.inputs.clone();
    Some(Scenario {
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
    })
}

fn model(cx: &mut Cx, name: &str, node: Option<&Node>, path: &str) -> Option<Model> {
    let cat = catalog::find(name);
    let Some(node) = node else {
        let c = cat?;
        return Some(Model {
            name: name.to_string(),
            input_price: PricePerMtok::from_usd_per_mtok(c.input_usd_per_mtok),
            output_price: PricePerMtok::from_usd_per_mtok(c.output_usd_per_mtok),
            cached_input_price: c.cached_input_usd_per_mtok.map(PricePerMtok::from_usd_per_mtok),
            usd_per_request: Usd::ZERO,
            ttft_s: Dist::Const(c.ttft_s),
            output_tokens_per_s: Dist::Const(c.output_tokens_per_s),
            max_concurrency: u32::MAX,
            requests_per_min: None,
            tokens_per_min: None,
            error_rate: 0.0,
            timeout_s: None,
        });
    };
    let mut f = Fields::of(cx, node, path)?;
    // Scales every price of the model (tokens and request fee): the knob for "what if
    // this model cost k times as much", e.g. in a sweep.
    let mult = f.num(cx, "price_multiplier", 1.0, Check::NonNeg);
    let price = |f: &mut Fields, cx: &mut Cx, key: &'static str, cat_v: Option<f64>| -> PricePerMtok {
        let v = match cat_v {
            Some(d) => f.num(cx, key, d, Check::NonNeg),
            None => f.num_req(cx, key, Check::NonNeg),
        };
        PricePerMtok::from_usd_per_mtok(v * mult)
    };
    let input_price = price(&mut f, cx, "input_usd_per_mtok", cat.map(|c| c.input_usd_per_mtok));
    let output_price = price(&mut f, cx, "output_usd_per_mtok", cat.map(|c| c.output_usd_per_mtok));
    let cached_input_price = f
        .num_opt(cx, "cached_input_usd_per_mtok", Check::NonNeg)
        .or(cat.and_then(|c| c.cached_input_usd_per_mtok))
        .map(|p| PricePerMtok::from_usd_per_mtok(p * mult));
    let usd_per_request = usd(f.num(cx, "usd_per_request", 0.0, Check::NonNeg) * mult);
    let ttft_s = match cat {
        Some(c) => f.dist(cx, "ttft_s", c.ttft_s),
        None => f.dist_req(cx, "ttft_s"),
    };
    let output_tokens_per_s = match (cat, f.dist_opt(cx, "output_tokens_per_s")) {
        (_, Some(d)) => d,
        (Some(c), None) => Dist::Const(c.output_tokens_per_s),
        (None, None) => {
            if node.get("output_tokens_per_s").is_none() {
                f.missing(cx, "output_tokens_per_s", "a positive number or a distribution table");
            }
            Dist::Const(1.0)
        }
    };
    // A speed of zero would stall an attempt forever: constants, uniform lower bounds
    // and empirical values must be positive, and counts are not speeds.
    let stalls = match &output_tokens_per_s {
        Dist::Const(v) => *v <= 0.0,
        Dist::Uniform(a, _) => *a <= 0.0,
        Dist::Empirical(v) => v.iter().any(|x| *x <= 0.0),
        Dist::Poisson(_) => true,
        _ => false,
    };
    if stalls {
        if let Some(n) = node.get("output_tokens_per_s") {
            cx.bad(
                n,
                &f.p("output_tokens_per_s"),
                "expected a speed that cannot be zero (a positive number, or a distribution with positive support)",
            );
        }
    }
    let max_concurrency = match f.take("max_concurrency") {
        Some(n) => count(cx, n, &f.p("max_concurrency"), 1).map(|c| c.min(u32::MAX as u64) as u32).unwrap_or(1),
        None => u32::MAX,
    };
    let requests_per_min = f.num_opt(cx, "requests_per_min", Check::Pos);
    let tokens_per_min = f.num_opt(cx, "tokens_per_min", Check::Pos);
    let error_rate = f.num(cx, "error_rate", 0.0, Check::Prob);
    if error_rate >= 1.0 {
        if let Some(n) = node.get("error_rate") {
            cx.bad(n, &f.p("error_rate"), "must be below 1 (every attempt would fail)");
        }
    }
    let timeout_s = f.num_opt(cx, "timeout_s", Check::Pos);
    f.finish(cx);
    Some(Model {
        name: name.to_string(),
        input_price,
        output_price,
        cached_input_price,
        usd_per_request,
        ttft_s,
        output_tokens_per_s,
        max_concurrency,
        requests_per_min,
        tokens_per_min,
        error_rate,
        timeout_s,
    })
}

#[allow(clippy::too_many_arguments)]
fn agent(
    cx: &mut Cx,
    name: &str,
    node: &Node,
    path: &str,
    classes: &[String],
    models: &mut Vec<Model>,
    model_index: &mut impl FnMut(&mut Cx, &str, &mut Vec<Model>) -> Option<usize>,
) -> Option<Agent> {
    let mut f = Fields::of(cx, node, path)?;
    let model_name = f.string_req(cx, "model", "the name of a [models.NAME] table or a catalog model (`orchsim models`)");
    let model = model_name.and_then(|m| {
        let r = model_index(cx, m, models);
        if r.is_none() && !cx.diags.iter().any(|d| d.path.starts_with(&join_path("models", m))) {
            let n = node.get("model").unwrap_or(node);
            cx.bad(n, &f.p("model"), "unknown model: define [models.NAME] or use a catalog name (`orchsim models`)");
        }
        r
    });
    let system_prompt_tokens = f.count(cx, "system_prompt_tokens", 0, 0);
    let input_tokens = f.dist(cx, "input_tokens", 0.0);
    let output_tokens = f.dist(cx, "output_tokens", 0.0);
    let error_rate = f.num(cx, "error_rate", 0.0, Check::Prob);
    let tool_calls = f.sub(cx, "tool_calls").map(|mut t| {
        let tc = ToolCalls {
            count: t.dist(cx, "count", 0.0),
            latency_s: t.dist(cx, "latency_s", 0.0),
            usd_per_call: usd(t.num(cx, "usd_per_call", 0.0, Check::NonNeg)),
            tokens_per_call: t.dist(cx, "tokens_per_call", 0.0),
        };
        t.finish(cx);
        tc
    });
    let systematic = f.sub(cx, "systematic").map(|mut s| {
        let mut idx = Vec::new();
        if let Some(n) = s.take("classes") {
            let cpath = s.p("classes");
            match &n.value {
                Value::Array(items) => {
                    for it in items {
                        match &it.value {
                            Value::Str(c) => match classes.iter().position(|x| x == c) {
                                Some(i) => idx.push(i),
                                None => cx.bad(it, &cpath, format!("unknown task class; expected one of: {}", classes.join(", "))),
                            },
                            _ => cx.bad(it, &cpath, "expected class names (strings)"),
                        }
                    }
                }
                _ => cx.bad(n, &cpath, "expected an array of class names"),
            }
        }
        let share = s.num(cx, "share", 0.0, Check::Prob);
        s.finish(cx);
        Systematic { classes: idx, share }
    });
    let review = f.sub(cx, "review").map(|mut r| {
        let rv = Review {
            recall: r.num_req(cx, "recall", Check::Prob),
            false_positive_rate: r.num(cx, "false_positive_rate", 0.0, Check::Prob),
        };
        r.finish(cx);
        rv
    });
    // A reviewer's own mistakes are its misses and false alarms; it puts no defects
    // into the work, so a worker's error rate or systematic fault would be ignored.
    if review.is_some() {
        for key in ["error_rate", "systematic"] {
            if let Some(n) = node.get(key).filter(|n| !matches!(n.value, Value::Int(0)) && !matches!(n.value, Value::Float(x) if x == 0.0))
            {
                cx.bad(
                    n,
                    &f.p(key),
                    "a reviewer introduces no defects: model its mistakes with review.recall and review.false_positive_rate",
                );
            }
        }
    }
    f.finish(cx);
    Some(Agent {
        name: name.to_string(),
        model: model?,
        system_prompt_tokens,
        input_tokens,
        output_tokens,
        error_rate,
        tool_calls,
        systematic,
        review,
    })
}

fn workload(cx: &mut Cx, node: &Node, env: &Env, bus: &mut Vec<String>) -> Option<Workload> {
    let mut f = Fields::of(cx, node, "workload")?;
    let tasks_given = node.get("tasks").is_some();
    let mut tasks = f.count(cx, "tasks", 0, 1);
    if !tasks_given {
        f.missing(cx, "tasks", "the number of tasks (a whole number >= 1)");
    }
    let arrivals = match f.sub(cx, "arrivals") {
        None => {
            if node.get("arrivals").is_none() {
                f.missing(cx, "arrivals", "{ process = \"poisson\" | \"fixed\" | \"batch\" | \"trace\", ... }");
            }
            None
        }
        Some(mut a) => {
            let kinds = [("poisson", 0), ("fixed", 1), ("batch", 2), ("trace", 3)];
            let k = if node.get("arrivals").and_then(|n| n.get("process")).is_none() {
                a.missing(cx, "process", "one of \"poisson\", \"fixed\", \"batch\", \"trace\"");
                a.known.extend(["rate_per_hour", "interval_s", "file", "column"]);
                99
            } else {
                a.choice(cx, "process", 99, &kinds)
            };
            let r = match k {
                0 => Some(Arrivals::Poisson { rate_per_hour: a.num_req(cx, "rate_per_hour", Check::Pos) }),
                1 => Some(Arrivals::Fixed { interval_s: a.num_req(cx, "interval_s", Check::NonNeg) }),
                2 => Some(Arrivals::Batch),
                3 => {
                    let file = a.string_req(cx, "file", "a CSV file path (relative to the scenario)");
                    let column = a.string_req(cx, "column", "the CSV column holding arrival times in seconds");
                    match (file, column) {
                        (Some(fl), Some(col)) => {
                            let line = node.get("arrivals").and_then(|n| n.get("file")).and_then(|n| n.line);
                            read_trace(cx, &env.base_dir.join(fl), fl, col, line).map(|times_s| {
                                if times_s.len() < tasks as usize && tasks_given {
                                    cx.err(
                                        line,
                                        "workload.arrivals.file",
                                        format!("{fl:?}"),
                                        format!("has {} arrival times but workload.tasks = {tasks}", times_s.len()),
                                    );
                                }
                                tasks = tasks.min(times_s.len() as u64);
                                Arrivals::Trace { times_s }
                            })
                        }
                        _ => None,
                    }
                }
                _ => {
                    a.known.extend(["rate_per_hour", "interval_s", "file", "column"]);
                    None
                }
            };
            a.finish(cx);
            r
        }
    };
    let mut classes = Vec::new();
    match f.take("classes") {
        None => {
            bus.push("default".to_string());
            classes.push(Class {
                name: "default".into(),
                share: 1.0,
                business_unit: 0,
                difficulty: 1.0,
                value_usd: Usd::ZERO,
                wrong_penalty_usd: Usd::ZERO,
                deadline_s: None,
            });
        }
        Some(Node { value: Value::Array(items), .. }) => {
            let mut total = 0.0;
            for (i, it) in items.iter().enumerate() {
                let cname = it.get("name").and_then(|n| if let Value::Str(s) = &n.value { Some(s.clone()) } else { None });
                let path = format!("workload.classes.{}", cname.clone().unwrap_or_else(|| i.to_string()));
                let Some(mut c) = Fields::of(cx, it, &path) else { continue };
                let name = c.string_req(cx, "name", "a class name").unwrap_or("").to_string();
                if classes.iter().any(|x: &Class| x.name == name) {
                    cx.bad(it.get("name").unwrap_or(it), &c.p("name"), "duplicate class name");
                }
                let share = c.num_req(cx, "share", Check::Prob);
                total += share;
                let bu = c.string_opt(cx, "business_unit").unwrap_or("default").to_string();
                let business_unit = match bus.iter().position(|b| *b == bu) {
                    Some(p) => p,
                    None => {
                        bus.push(bu);
                        bus.len() - 1
                    }
                };
                let class = Class {
                    name,
                    share,
                    business_unit,
                    difficulty: c.num(cx, "difficulty", 1.0, Check::NonNeg),
                    value_usd: usd(c.num(cx, "value_usd", 0.0, Check::NonNeg)),
                    wrong_penalty_usd: usd(c.num(cx, "wrong_penalty_usd", 0.0, Check::NonNeg)),
                    deadline_s: c.num_opt(cx, "deadline_s", Check::Pos),
                };
                c.finish(cx);
                classes.push(class);
            }
            if items.is_empty() {
                cx.err(
                    node.get("classes").and_then(|n| n.line),
                    "workload.classes",
                    "[]".into(),
                    "expected at least one [[workload.classes]]",
                );
            } else if (total - 1.0).abs() > 1e-9 && cx.diags.is_empty() {
                cx.err(items[0].line, "workload.classes.share", format!("{total}"), "shares must add up to 1");
            }
        }
        Some(other) => cx.bad(other, "workload.classes", "expected an array of tables ([[workload.classes]])"),
    }
    f.finish(cx);
    Some(Workload { tasks, arrivals: arrivals?, classes })
}

fn read_trace(cx: &mut Cx, path: &Path, shown: &str, column: &str, line: Option<u32>) -> Option<Vec<f64>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            cx.err(line, "workload.arrivals.file", format!("{shown:?}"), format!("cannot be read: {e}"));
            return None;
        }
    };
    cx.inputs.push((path.display().to_string(), crate::report::sha256_hex(&bytes)));
    let mut rdr = csv::Reader::from_reader(bytes.as_slice());
    let col = match rdr.headers() {
        Ok(h) => h.iter().position(|c| c == column),
        Err(_) => None,
    };
    let Some(col) = col else {
        cx.err(line, "workload.arrivals.column", format!("{column:?}"), format!("no such column in {shown}"));
        return None;
    };
    let mut times = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let v = rec.ok().and_then(|r| r.get(col).and_then(|s| s.trim().parse::<f64>().ok()));
        match v {
            Some(t) if t.is_finite() && t >= 0.0 && times.last().is_none_or(|&p| t >= p) => times.push(t),
            _ => {
                cx.err(
                    line,
                    "workload.arrivals.file",
                    format!("{shown}:{}", i + 2),
                    "expected non-negative, non-decreasing arrival times in seconds",
                );
                return None;
            }
        }
    }
    Some(times)
}

fn strategy(cx: &mut Cx, name: &str, node: &Node, path: &str, agents: &[Agent], agent_names: &[String]) -> Option<Strategy> {
    let mut f = Fields::of(cx, node, path)?;
    // Read by `orchsim horizon` (crate::horizon::spec).
    f.take("adoption");
    let kind = f.choice(cx, "kind", 0, &[("agents", 0), ("human", 1)]);
    if kind == 1 {
        let team_size = f.count(cx, "team_size", 1, 1) as u32;
        let hours_per_task = f.dist_req(cx, "hours_per_task");
        let usd_per_hour = f.num_req(cx, "usd_per_hour", Check::NonNeg);
        let error_rate = f.num(cx, "error_rate", 0.0, Check::Prob);
        let teams = f.count(cx, "teams", 1, 1);
        if teams > 1_000_000 {
            cx.err(node.get("teams").and_then(|n| n.line), &f.p("teams"), teams.to_string(), "expected at most 1000000 teams");
        }
        let teams = teams.min(1_000_000) as u32;
        f.finish(cx);
        return Some(Strategy {
            name: name.to_string(),
            kind: StrategyKind::Human(HumanStrategy { team_size, hours_per_task, usd_per_hour, error_rate, teams }),
        });
    }
    let agent_ix = |cx: &mut Cx, n: &Node, p: &str| -> Option<usize> {
        match &n.value {
            Value::Str(s) => {
                let r = agents.iter().position(|a| &a.name == s);
                // An agent defined in the file but invalid has been reported already.
                if r.is_none() && !agent_names.iter().any(|a| a == s) {
                    cx.bad(n, p, format!("unknown agent; expected one of: {}", agent_names.join(", ")));
                }
                r
            }
            _ => {
                cx.bad(n, p, "expected an agent name");
                None
            }
        }
    };

    let mut steps: Vec<Step> = Vec::new();
    let mut ancestors: Vec<u64> = Vec::new();
    match f.take("steps") {
        Some(Node { value: Value::Array(items), line }) => {
            if items.is_empty() {
                cx.err(*line, &f.p("steps"), "[]".into(), "expected at least one step");
            }
            for (i, it) in items.iter().enumerate() {
                let sid = it.get("id").and_then(|n| if let Value::Str(s) = &n.value { Some(s.clone()) } else { None });
                let spath = format!("{}.{}", f.p("steps"), sid.clone().unwrap_or_else(|| i.to_string()));
                let Some(mut s) = Fields::of(cx, it, &spath) else { continue };
                let id = s.string_req(cx, "id", "a step id").unwrap_or("").to_string();
                if !id.is_empty() && steps.iter().any(|x| x.id == id) {
                    cx.bad(it.get("id").unwrap_or(it), &s.p("id"), "duplicate step id");
                }
                let agent = match s.take("agent") {
                    Some(n) => agent_ix(cx, n, &s.p("agent")),
                    None => {
                        s.missing(cx, "agent", "an agent name");
                        None
                    }
                };
                let step_ix = |cx: &mut Cx, n: &Node, p: &str| -> Option<usize> {
                    match &n.value {
                        Value::Str(x) => {
                            let r = steps.iter().position(|st| &st.id == x);
                            if r.is_none() {
                                cx.bad(n, p, "expected the id of an earlier step");
                            }
                            r
                        }
                        _ => {
                            cx.bad(n, p, "expected a step id");
                            None
                        }
                    }
                };
                let after = match s.take("after") {
                    None => {
                        if i > 0 {
                            vec![i - 1]
                        } else {
                            vec![]
                        }
                    }
                    Some(Node { value: Value::Array(a), .. }) => {
                        let p = s.p("after");
                        a.iter().filter_map(|x| step_ix(cx, x, &p)).collect()
                    }
                    Some(other) => {
                        cx.bad(other, &s.p("after"), "expected an array of earlier step ids");
                        vec![]
                    }
                };
                // Upstream steps (reachable through `after`), as a bit set.
                let upstream = after.iter().fold(0u64, |m, &p| m | bit(p) | ancestors.get(p).copied().unwrap_or(0));
                ancestors.push(upstream);
                let replicas = s.count(cx, "replicas", 1, 1);
                if replicas > 1000 {
                    cx.bad(it.get("replicas").unwrap_or(it), &s.p("replicas"), "expected at most 1000 replicas");
                }
                let replicas = replicas.min(1000) as u32;
                let merge = s.choice(cx, "merge", Merge::All, &[("all", Merge::All), ("vote", Merge::Vote)]);
                let is_reviewer = agent.map(|a| agents[a].review.is_some()).unwrap_or(false);
                let reworks_node = s.take("reworks");
                let reworks = match reworks_node {
                    Some(n) => {
                        let p = s.p("reworks");
                        if !is_reviewer && agent.is_some() {
                            cx.bad(n, &p, "only a reviewer step (an agent with `review`) sends work back");
                        }
                        let r = step_ix(cx, n, &p);
                        // Rework reruns the steps between the target and the reviewer, so
                        // the target must feed the reviewer.
                        if let Some(r) = r.filter(|&r| upstream & bit(r) == 0) {
                            cx.bad(
                                n,
                                &p,
                                format!("step `{}` is not upstream of this reviewer (not reachable through `after`)", steps[r].id),
                            );
                        }
                        r
                    }
                    None if is_reviewer => {
                        let r = (0..steps.len()).rev().find(|&k| upstream & bit(k) != 0 && agents[steps[k].agent].review.is_none());
                        if r.is_none() {
                            cx.err(
                                it.line,
                                &spath,
                                String::new(),
                                "a reviewer step needs a worker step upstream of it to send work back to",
                            );
                        }
                        r
                    }
                    None => None,
                };
                let max_rework = s.count(cx, "max_rework", 2, 0).min(u32::MAX as u64) as u32;
                let on_exhausted = s.choice(
                    cx,
                    "on_exhausted",
                    OnExhausted::Fail,
                    &[("fail", OnExhausted::Fail), ("deliver", OnExhausted::Deliver), ("escalate", OnExhausted::Escalate)],
                );
                s.finish(cx);
                steps.push(Step { id, agent: agent.unwrap_or(0), after, replicas, merge, reworks, max_rework, on_exhausted });
            }
            // Steps are bits of a u64 defect set; bit 63 is the orchestrator's.
            if items.len() > 63 {
                cx.err(*line, &f.p("steps"), items.len().to_string(), "at most 63 steps per strategy");
            }
        }
        Some(other) => cx.bad(other, &f.p("steps"), "expected an array of tables ([[strategies.NAME.steps]])"),
        None => f.missing(cx, "steps", "at least one [[strategies.NAME.steps]]"),
    }
    let context =
        f.choice(cx, "context", Context::None, &[("none", Context::None), ("previous", Context::Previous), ("all", Context::All)]);
    let handoff_tokens = f.count(cx, "handoff_tokens", 0, 0);
    let orchestrator = f.sub(cx, "orchestrator").and_then(|mut o| {
        let agent = match o.take("agent") {
            Some(n) => agent_ix(cx, n, &o.p("agent")),
            None => {
                o.missing(cx, "agent", "an agent name");
                None
            }
        };
        let per_step = o.choice(cx, "calls", true, &[("per_step", true), ("per_task", false)]);
        o.finish(cx);
        Some(Orchestrator { agent: agent?, per_step })
    });
    let platform = f
        .sub(cx, "platform")
        .map(|mut p| {
            let pl = Platform {
                usd_per_task: usd(p.num(cx, "usd_per_task", 0.0, Check::NonNeg)),
                usd_per_step: usd(p.num(cx, "usd_per_step", 0.0, Check::NonNeg)),
                ppb_of_model_spend: (p.num(cx, "pct_of_model_spend", 0.0, Check::NonNeg) * 1e7).round() as i128,
                usd_per_month: usd(p.num(cx, "usd_per_month", 0.0, Check::NonNeg)),
            };
            p.finish(cx);
            pl
        })
        .unwrap_or_default();
    let retry = f
        .sub(cx, "retry")
        .map(|mut r| {
            let d = Retry::default();
            let rt = Retry {
                max_attempts: {
                    let m = r.count(cx, "max_attempts", 1, 1);
                    if m > 10_000 {
                        let n = node.get("retry").and_then(|x| x.get("max_attempts"));
                        cx.err(n.and_then(|n| n.line), &r.p("max_attempts"), m.to_string(), "expected at most 10000 attempts");
                    }
                    m.min(10_000) as u32
                },
                backoff_base_s: r.num(cx, "backoff_base_s", d.backoff_base_s, Check::NonNeg),
                backoff_factor: r.num(cx, "backoff_factor", d.backoff_factor, Check::Pos),
                backoff_max_s: r.num(cx, "backoff_max_s", d.backoff_max_s, Check::NonNeg),
                jitter: r.choice(cx, "jitter", Jitter::None, &[("none", Jitter::None), ("full", Jitter::Full)]),
            };
            r.finish(cx);
            rt
        })
        .unwrap_or_default();
    let escalation = f.sub(cx, "escalation").map(|mut e| {
        let es = Escalation {
            hours: e.dist_req(cx, "hours"),
            usd_per_hour: e.num_req(cx, "usd_per_hour", Check::NonNeg),
            error_rate: e.num(cx, "error_rate", 0.0, Check::Prob),
        };
        e.finish(cx);
        es
    });
    if escalation.is_none() {
        for s in &steps {
            if s.on_exhausted == OnExhausted::Escalate {
                cx.err(
                    node.line,
                    &f.p("escalation"),
                    String::new(),
                    format!("missing; step `{}` escalates, so the strategy needs escalation = {{ hours, usd_per_hour }}", s.id),
                );
            }
        }
    }
    f.finish(cx);
    Some(Strategy {
        name: name.to_string(),
        kind: StrategyKind::Agents(AgentsStrategy { steps, context, handoff_tokens, orchestrator, platform, retry, escalation }),
    })
}
