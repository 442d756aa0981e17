//! Reading `[horizon]` and `strategies.NAME.adoption` from a scenario tree, with every
//! problem reported by file, line, field, value and expectation.

use super::{Adoption, HorizonSpec, Learning, PriceChange, PriceTarget, PriceTrend, Switching};
use crate::economics::money::Usd;
use crate::error::{Diagnostic, Error, Result};
use crate::model::Scenario;
use crate::scenario::{Node, Value};

/// Largest horizon, in months (a century).
pub const MAX_MONTHS: u32 = 1200;
/// Largest monthly volume.
pub const MAX_TASKS_PER_MONTH: f64 = 1e12;
/// Largest amount of money in a horizon field (a trillion dollars).
pub const MAX_USD: f64 = 1e12;

struct Reader<'a> {
    file: &'a str,
    diags: Vec<Diagnostic>,
}

fn shown(n: &Node) -> String {
    match &n.value {
        Value::Str(s) => format!("{s:?}"),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Datetime(d) => d.clone(),
        Value::Array(_) => "[...]".into(),
        Value::Table(_) => "{...}".into(),
    }
}

impl Reader<'_> {
    fn err(&mut self, node: Option<&Node>, path: &str, expected: impl Into<String>) {
        self.diags.push(Diagnostic {
            file: self.file.to_string(),
            line: node.and_then(|n| n.line),
            path: path.to_string(),
            value: node.map(shown).unwrap_or_default(),
            expected: expected.into(),
        });
    }

    /// The entries of a table, with unknown keys reported.
    fn table<'n>(&mut self, node: &'n Node, path: &str, known: &[&str]) -> Option<&'n [(String, Node)]> {
        let Some(t) = node.as_table() else {
            self.err(Some(node), path, "a table");
            return None;
        };
        for (k, v) in t {
            if !known.contains(&k.as_str()) {
                self.err(Some(v), &format!("{path}.{k}"), format!("a known key ({})", known.join(", ")));
            }
        }
        Some(t)
    }

    fn num(&mut self, t: &[(String, Node)], path: &str, key: &str, lo: f64, hi: f64, what: &str) -> Option<f64> {
        let n = &t.iter().find(|(k, _)| k == key)?.1;
        let p = format!("{path}.{key}");
        let x = match n.value {
            Value::Int(i) => i as f64,
            Value::Float(f) => f,
            _ => {
                self.err(Some(n), &p, format!("a number: {what}"));
                return None;
            }
        };
        if !(x.is_finite() && x >= lo && x <= hi) {
            self.err(Some(n), &p, format!("{what}, in [{lo}, {hi}]"));
            return None;
        }
        Some(x)
    }

    fn int(&mut self, t: &[(String, Node)], path: &str, key: &str, lo: u32, hi: u32, what: &str) -> Option<u32> {
        let n = &t.iter().find(|(k, _)| k == key)?.1;
        match n.value {
            Value::Int(i) if i >= lo as i64 && i <= hi as i64 => Some(i as u32),
            _ => {
                self.err(Some(n), &format!("{path}.{key}"), format!("a whole number of {what}, {lo} to {hi}"));
                None
            }
        }
    }

    fn string<'n>(&mut self, t: &'n [(String, Node)], path: &str, key: &str) -> Option<&'n str> {
        let n = &t.iter().find(|(k, _)| k == key)?.1;
        match &n.value {
            Value::Str(s) => Some(s),
            _ => {
                self.err(Some(n), &format!("{path}.{key}"), "a string");
                None
            }
        }
    }

    fn usd(&mut self, t: &[(String, Node)], path: &str, key: &str) -> Option<Usd> {
        self.num(t, path, key, 0.0, MAX_USD, "dollars, at least 0").map(Usd::from_f64)
    }

    fn required(&mut self, node: &Node, path: &str, key: &str, what: &str) {
        self.err(Some(node), path, format!("`{key}`: {what}"));
    }
}

fn get<'n>(t: &'n [(String, Node)], key: &str) -> Option<&'n Node> {
    t.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Reads the horizon of a scenario whose typed form is `sc`. `None` when the file has
/// no `[horizon]` table (then `adoption` tables are refused: they mean nothing alone).
pub fn read(tree: &Node, sc: &Scenario, file: &str) -> Result<Option<HorizonSpec>> {
    let mut r = Reader { file, diags: Vec::new() };
    let spec = read_inner(&mut r, tree, sc);
    if r.diags.is_empty() { Ok(spec) } else { Err(Error::Invalid(r.diags)) }
}

fn read_inner(r: &mut Reader, tree: &Node, sc: &Scenario) -> Option<HorizonSpec> {
    let strategies = tree.get("strategies").and_then(Node::as_table).unwrap_or(&[]);
    let adoption_nodes: Vec<(usize, &Node)> = strategies
        .iter()
        .filter_map(|(name, st)| {
            let s = sc.strategies.iter().position(|x| &x.name == name)?;
            Some((s, st.get("adoption")?))
        })
        .collect();
    let Some(h) = tree.get("horizon") else {
        for (s, n) in adoption_nodes {
            r.err(Some(n), &format!("strategies.{}.adoption", sc.strategies[s].name), "a [horizon] table to go with it");
        }
        return None;
    };
    let known = ["months", "tasks_per_month", "volume_growth_monthly", "discount_rate_annual", "price_changes"];
    let t = r.table(h, "horizon", &known)?;
    let months = r.int(t, "horizon", "months", 1, MAX_MONTHS, "months");
    if get(t, "months").is_none() {
        r.required(h, "horizon", "months", "the number of months, at least 1");
    }
    let tasks = r.num(t, "horizon", "tasks_per_month", 0.0, MAX_TASKS_PER_MONTH, "tasks in month 1");
    if get(t, "tasks_per_month").is_none() {
        r.required(h, "horizon", "tasks_per_month", "tasks in month 1");
    }
    let growth = r.num(t, "horizon", "volume_growth_monthly", -0.99, 10.0, "monthly growth of the volume").unwrap_or(0.0);
    let rate = r.num(t, "horizon", "discount_rate_annual", 0.0, 10.0, "an annual discount rate").unwrap_or(0.0);
    let mut price_changes = Vec::new();
    if let Some(pc) = get(t, "price_changes") {
        match &pc.value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(c) = price_change(r, item, &format!("horizon.price_changes.{i}"), sc) {
                        price_changes.push(c);
                    }
                }
            }
            _ => r.err(Some(pc), "horizon.price_changes", "an array of tables ([[horizon.price_changes]])"),
        }
    }
    let mut adoption = vec![None; sc.strategies.len()];
    for (s, n) in adoption_nodes {
        adoption[s] = read_adoption(r, n, s, sc, months.unwrap_or(MAX_MONTHS));
    }
    for (s, a) in adoption.iter().enumerate() {
        if let Some(a) = a
            && adoption[a.fallback].is_some()
        {
            let path = format!("strategies.{}.adoption.fallback", sc.strategies[s].name);
            let node = tree.get("strategies").and_then(|t| t.get(&sc.strategies[s].name)).and_then(|t| t.get("adoption"));
            r.err(
                node.and_then(|n| n.get("fallback")),
                &path,
                "a strategy that is live from month 1 (a fallback cannot itself be adopting)",
            );
        }
    }
    Some(HorizonSpec {
        months: months?,
        tasks_per_month: tasks?,
        volume_growth_monthly: growth,
        discount_rate_annual: rate,
        price_changes,
        adoption,
    })
}

fn price_change(r: &mut Reader, item: &Node, path: &str, sc: &Scenario) -> Option<PriceChange> {
    let t = r.table(item, path, &["model", "provider", "month", "multiplier", "decline_annual"])?;
    let target = match (r.string(t, path, "model"), r.string(t, path, "provider")) {
        (Some(m), None) => {
            if !sc.models.iter().any(|x| x.name == m) && crate::model::catalog::builtin().find(m).is_none() {
                r.err(get(t, "model"), &format!("{path}.model"), "a model of the scenario or the catalog");
            }
            PriceTarget::Model(m.to_string())
        }
        (None, Some(p)) => PriceTarget::Provider(p.to_string()),
        _ => {
            r.err(Some(item), path, "exactly one of `model` or `provider`");
            return None;
        }
    };
    let kind = match (get(t, "multiplier"), get(t, "decline_annual")) {
        (Some(_), None) => {
            let month = r.int(t, path, "month", 1, MAX_MONTHS, "months");
            if get(t, "month").is_none() {
                r.required(item, path, "month", "the first month at the new price");
            }
            let x = r.num(t, path, "multiplier", 0.0, 1000.0, "a price multiplier")?;
            PriceTrend::Step { month: month?, multiplier: x }
        }
        (None, Some(_)) => {
            if let Some(n) = get(t, "month") {
                r.err(Some(n), &format!("{path}.month"), "no month with `decline_annual` (a smooth trend from month 1)");
            }
            let d = r.num(t, path, "decline_annual", 0.0, 0.999, "an annual decline, 0 to 0.999")?;
            PriceTrend::Decline { decline_annual: d }
        }
        _ => {
            r.err(Some(item), path, "exactly one of `multiplier` (with `month`) or `decline_annual`");
            return None;
        }
    };
    Some(PriceChange { target, kind })
}

fn read_adoption(r: &mut Reader, n: &Node, s: usize, sc: &Scenario, months: u32) -> Option<Adoption> {
    let name = &sc.strategies[s].name;
    let path = format!("strategies.{name}.adoption");
    let known = ["fallback", "build_usd", "build_months", "maintenance_usd_per_month", "learning", "switching"];
    let t = r.table(n, &path, &known)?;
    let fallback = match r.string(t, &path, "fallback") {
        Some(f) => match sc.strategies.iter().position(|x| x.name == f) {
            Some(i) if i == s => {
                r.err(get(t, "fallback"), &format!("{path}.fallback"), "another strategy (one cannot fall back on itself)");
                None
            }
            Some(i) => Some(i),
            None => {
                r.err(get(t, "fallback"), &format!("{path}.fallback"), "the name of a strategy of the scenario");
                None
            }
        },
        None => {
            r.required(n, &path, "fallback", "the strategy that does the work until go-live");
            None
        }
    };
    let build_usd = r.usd(t, &path, "build_usd").unwrap_or(Usd::ZERO);
    let build_months = r.int(t, &path, "build_months", 0, months, "months").unwrap_or(0);
    if build_usd != Usd::ZERO && build_months == 0 {
        r.err(get(t, "build_usd"), &format!("{path}.build_usd"), "a build cost needs `build_months` of at least 1");
    }
    let maintenance = r.usd(t, &path, "maintenance_usd_per_month").unwrap_or(Usd::ZERO);
    let learning = match get(t, "learning") {
        Some(l) => {
            let lp = format!("{path}.learning");
            let lt = r.table(l, &lp, &["error_rate_halving_tasks"])?;
            let h = r.num(lt, &lp, "error_rate_halving_tasks", 1.0, 1e15, "live tasks after which error rates halve");
            if get(lt, "error_rate_halving_tasks").is_none() {
                r.required(l, &lp, "error_rate_halving_tasks", "live tasks after which error rates halve");
            }
            h.map(|h| Learning { error_rate_halving_tasks: h })
        }
        None => None,
    };
    let switching = match get(t, "switching") {
        Some(w) => {
            let wp = format!("{path}.switching");
            let wt = r.table(w, &wp, &["to", "usd", "months", "lock_in"])?;
            let to = r.string(wt, &wp, "to");
            match to {
                Some(m) if !sc.models.iter().any(|x| x.name == m) && crate::model::catalog::builtin().find(m).is_none() => {
                    r.err(get(wt, "to"), &format!("{wp}.to"), "a model of the scenario or the catalog");
                }
                None => r.required(w, &wp, "to", "the model to switch to"),
                _ => {}
            }
            if matches!(sc.strategies[s].kind, crate::model::StrategyKind::Human(_)) {
                r.err(Some(w), &wp, "an agents strategy (people have no model to switch)");
            }
            let usd = r.usd(wt, &wp, "usd").unwrap_or(Usd::ZERO);
            let m = r.int(wt, &wp, "months", 0, months, "months").unwrap_or(0);
            let lock_in = r.num(wt, &wp, "lock_in", 0.0, 100.0, "a hurdle as a fraction of `usd`, at least 0").unwrap_or(0.0);
            to.map(|to| Switching { to: to.to_string(), usd, months: m, lock_in })
        }
        None => None,
    };
    Some(Adoption { fallback: fallback?, build_usd, build_months, maintenance_usd_per_month: maintenance, learning, switching })
}
