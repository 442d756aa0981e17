//! Readers shared by every section: a table being read ([`Fields`]), range checks for
//! numbers ([`Check`]), whole numbers, money and distributions.

use super::Cx;
use crate::economics::money::Usd;
use crate::model::{Dist, limits};
use crate::scenario::tree::{Node, Value};

pub(super) fn join_path(base: &str, key: &str) -> String {
    let quoted = key.is_empty() || key.contains(['.', '"', ' ']);
    let k = if quoted { format!("\"{key}\"") } else { key.to_string() };
    if base.is_empty() { k } else { format!("{base}.{k}") }
}

/// A table being read: tracks which keys were asked for, to report unknown ones.
pub(super) struct Fields<'a> {
    pub(super) path: String,
    pub(super) line: Option<u32>,
    pub(super) entries: &'a [(String, Node)],
    pub(super) known: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    pub(super) fn of(cx: &mut Cx, node: &'a Node, path: &str) -> Option<Fields<'a>> {
        match &node.value {
            Value::Table(entries) => Some(Fields { path: path.to_string(), line: node.line, entries, known: Vec::new() }),
            _ => {
                cx.bad(node, path, format!("expected a table, found {}", node.type_name()));
                None
            }
        }
    }

    pub(super) fn p(&self, key: &str) -> String {
        join_path(&self.path, key)
    }

    pub(super) fn take(&mut self, key: &'static str) -> Option<&'a Node> {
        self.known.push(key);
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(super) fn missing(&self, cx: &mut Cx, key: &str, expected: &str) {
        cx.err(self.line, &self.p(key), String::new(), format!("missing; expected {expected}"));
    }

    /// Reports keys that were never asked for.
    pub(super) fn finish(self, cx: &mut Cx) {
        for (k, v) in self.entries {
            if !self.known.iter().any(|x| x == k) {
                let mut known = self.known.clone();
                known.sort_unstable();
                known.dedup();
                cx.err(v.line, &join_path(&self.path, k), v.to_string(), format!("unknown key; expected one of: {}", known.join(", ")));
            }
        }
    }

    pub(super) fn num_opt(&mut self, cx: &mut Cx, key: &'static str, check: Check) -> Option<f64> {
        let n = self.take(key)?;
        let path = self.p(key);
        num(cx, n, &path, check)
    }

    pub(super) fn num(&mut self, cx: &mut Cx, key: &'static str, default: f64, check: Check) -> f64 {
        self.num_opt(cx, key, check).unwrap_or(default)
    }

    pub(super) fn num_req(&mut self, cx: &mut Cx, key: &'static str, check: Check) -> f64 {
        if self.entries.iter().all(|(k, _)| k != key) {
            self.known.push(key);
            self.missing(cx, key, &check.expected());
            return 0.0;
        }
        self.num_opt(cx, key, check).unwrap_or(0.0)
    }

    pub(super) fn count(&mut self, cx: &mut Cx, key: &'static str, default: u64, min: u64) -> u64 {
        let Some(n) = self.take(key) else { return default };
        let path = self.p(key);
        count(cx, n, &path, min).unwrap_or(default)
    }

    /// A whole number in `min..=max`; the default when absent or invalid (reported).
    pub(super) fn count_max(&mut self, cx: &mut Cx, key: &'static str, default: u64, min: u64, max: u64) -> u64 {
        let Some(n) = self.take(key) else { return default };
        let path = self.p(key);
        match count(cx, n, &path, min) {
            Some(c) if c <= max => c,
            Some(_) => {
                cx.bad(n, &path, format!("expected a whole number from {min} to {max}"));
                default
            }
            None => default,
        }
    }

    pub(super) fn string_opt(&mut self, cx: &mut Cx, key: &'static str) -> Option<&'a str> {
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

    pub(super) fn string_req(&mut self, cx: &mut Cx, key: &'static str, what: &str) -> Option<&'a str> {
        if self.entries.iter().all(|(k, _)| k != key) {
            self.known.push(key);
            self.missing(cx, key, what);
            return None;
        }
        self.string_opt(cx, key)
    }

    pub(super) fn choice<T: Copy>(&mut self, cx: &mut Cx, key: &'static str, default: T, options: &[(&str, T)]) -> T {
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

    pub(super) fn dist_opt(&mut self, cx: &mut Cx, key: &'static str, q: Qty) -> Option<Dist> {
        let n = self.take(key)?;
        let path = self.p(key);
        dist(cx, n, &path, q)
    }

    pub(super) fn dist(&mut self, cx: &mut Cx, key: &'static str, default: f64, q: Qty) -> Dist {
        self.dist_opt(cx, key, q).unwrap_or_else(|| Dist::constant(default))
    }

    pub(super) fn dist_req(&mut self, cx: &mut Cx, key: &'static str, q: Qty) -> Dist {
        if self.entries.iter().all(|(k, _)| k != key) {
            self.known.push(key);
            self.missing(cx, key, "a number or a distribution table");
            return Dist::constant(0.0);
        }
        self.dist(cx, key, 0.0, q)
    }

    pub(super) fn sub(&mut self, cx: &mut Cx, key: &'static str) -> Option<Fields<'a>> {
        let n = self.take(key)?;
        let path = self.p(key);
        Fields::of(cx, n, &path)
    }
}

/// Range checks for numbers. The bounds of the `AtMost` kinds are the limits of
/// [`crate::model::limits`].
#[derive(Clone, Copy)]
pub(super) enum Check {
    Prob,
    NonNeg,
    Pos,
    /// `0 <= x <= max`.
    AtMost(f64),
    /// `0 < x <= max`.
    PosAtMost(f64),
    /// `min <= x <= max`.
    Between(f64, f64),
}

impl Check {
    pub(super) fn expected(self) -> String {
        match self {
            Check::Prob => "a probability between 0 and 1".into(),
            Check::NonNeg => "a non-negative number".into(),
            Check::Pos => "a positive number".into(),
            Check::AtMost(m) => format!("a non-negative number at most {m}"),
            Check::PosAtMost(m) => format!("a positive number at most {m}"),
            Check::Between(a, b) => format!("a number from {a} to {b}"),
        }
    }
    pub(super) fn ok(self, x: f64) -> bool {
        x.is_finite()
            && match self {
                Check::Prob => (0.0..=1.0).contains(&x),
                Check::NonNeg => x >= 0.0,
                Check::Pos => x > 0.0,
                Check::AtMost(m) => (0.0..=m).contains(&x),
                Check::PosAtMost(m) => x > 0.0 && x <= m,
                Check::Between(a, b) => (a..=b).contains(&x),
            }
    }
}

/// The quantity a distribution describes: its unit, and the limit its location (the
/// constant, mean or maximum) must respect and its draws are clamped to.
#[derive(Clone, Copy)]
pub(super) struct Qty {
    pub(super) max: f64,
    pub(super) unit: &'static str,
}

/// Tokens per draw, up to the largest context window.
pub(super) const TOKENS: Qty = Qty { max: limits::MAX_TOKENS, unit: "tokens (the largest context window)" };
/// Seconds per draw.
pub(super) const SECONDS: Qty = Qty { max: limits::MAX_SECONDS, unit: "seconds" };
/// Person-hours per draw.
pub(super) const HOURS: Qty = Qty { max: limits::MAX_HOURS, unit: "hours" };
/// Tool calls per attempt.
pub(super) const TOOL_CALLS: Qty = Qty { max: limits::MAX_TOOL_CALLS, unit: "tool calls per attempt" };
/// Turns of an agent loop.
pub(super) const TURNS: Qty = Qty { max: limits::MAX_TURNS as f64, unit: "turns" };
/// Output tokens per second.
pub(super) const SPEED: Qty = Qty { max: limits::MAX_TOKENS_PER_S, unit: "tokens per second" };

pub(super) fn num(cx: &mut Cx, n: &Node, path: &str, check: Check) -> Option<f64> {
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

pub(super) fn count(cx: &mut Cx, n: &Node, path: &str, min: u64) -> Option<u64> {
    match n.value {
        Value::Int(i) if i >= min as i64 => Some(i as u64),
        Value::Float(f) if f.fract() == 0.0 && f >= min as f64 && f < 9.0e15 => Some(f as u64),
        _ => {
            cx.bad(n, path, format!("expected a whole number >= {min}"));
            None
        }
    }
}

/// Exact dollars of a validated amount (every amount read is bounded far inside the
/// range, so the conversion cannot fail; a failure would be reported as zero).
pub(super) fn usd(x: f64) -> Usd {
    Usd::try_from_f64(x).unwrap_or(Usd::ZERO)
}

/// A distribution of quantity `q`: a number (constant) or `{ dist = "...", ... }`,
/// whose location is at most `q.max` and whose draws are clamped to it.
pub(super) fn dist(cx: &mut Cx, n: &Node, path: &str, q: Qty) -> Option<Dist> {
    if let Value::Int(_) | Value::Float(_) = n.value {
        let v = num(cx, n, path, Check::NonNeg)?;
        if v > q.max {
            cx.bad(n, path, format!("expected at most {} {}", q.max, q.unit));
            return None;
        }
        return Some(Dist::constant(v).capped(q.max));
    }
    let d = dist_table(cx, n, path)?;
    if d.location() > q.max {
        let what = match n.get("dist").map(|k| &k.value) {
            Some(Value::Str(k)) if k == "uniform" || k == "empirical" => "largest value",
            Some(Value::Str(k)) if k == "const" => "value",
            _ => "mean",
        };
        cx.bad(n, path, format!("expected a {what} of at most {} {}", q.max, q.unit));
        return None;
    }
    Some(d.capped(q.max))
}

/// A `{ dist = "...", ... }` table, parameters checked by kind.
fn dist_table(cx: &mut Cx, n: &Node, path: &str) -> Option<Dist> {
    let mut f = Fields::of(cx, n, path)?;
    let kinds = "\"const\", \"exp\", \"lognormal\", \"normal\", \"gamma\", \"uniform\", \"poisson\", \"empirical\"";
    let kind = f.string_req(cx, "dist", &format!("one of {kinds}"))?;
    let before = cx.diags.len();
    let built = match kind {
        "const" => Ok(Dist::constant(f.num_req(cx, "value", Check::NonNeg))),
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

#[cfg(test)]
mod tests {
    use crate::model::dist::Shape;
    use crate::scenario::schema::testing::{load, refused};

    #[test]
    fn distributions_are_checked_by_kind() {
        let sc = load(&[("AGENTS", "input_tokens = { dist = \"uniform\", min = 10, max = 30 }")]).unwrap();
        assert!(matches!(sc.agents[0].input_tokens.shape(), Shape::Uniform(a, b) if (*a, *b) == (10.0, 30.0)));
        assert_eq!(
            refused(&[("AGENTS", "input_tokens = { dist = \"zipf\" }")]),
            "t.toml:14: agents.a.input_tokens.dist = \"zipf\": expected one of \"const\", \"exp\", \"lognormal\", \"normal\", \
             \"gamma\", \"uniform\", \"poisson\", \"empirical\""
        );
        assert_eq!(
            refused(&[("AGENTS", "input_tokens = { dist = \"exp\" }")]),
            "t.toml:14: agents.a.input_tokens.mean: missing; expected a positive number"
        );
    }

    #[test]
    fn counts_are_whole_numbers() {
        assert_eq!(load(&[("name = \"t\"", "name = \"t\"\nreplications = 2.0")]).unwrap().replications, 2);
        assert_eq!(
            refused(&[("name = \"t\"", "name = \"t\"\nreplications = 2.5")]),
            "t.toml:2: replications = 2.5: expected a whole number >= 1"
        );
    }
}
