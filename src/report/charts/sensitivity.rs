//! The tornado chart of a one-at-a-time sensitivity analysis, drawn from `sensitivity.csv`.
//!
//! The file has the columns `input,side,value,strategy,metric,mean,ci95_low,ci95_high`, one
//! row per input, side (`low` or `high`) and strategy: the metric's mean when that input is
//! at that end of its range and everything else at the file's values. Rows with side `base`
//! (any input name) give the value at the file's own values; without them the base is
//! taken from a `summary.csv` beside it, if any.

use super::common::*;
use super::input::*;
use super::{ChartError, DEFAULT_METRIC};
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One input's two runs.
#[derive(Clone, Debug)]
pub(super) struct InputSwing {
    name: String,
    /// The input's value at the low and the high end (as written in the file).
    values: [String; 2],
    /// The charted quantity at the low and the high end.
    q: [f64; 2],
    /// Its 95% interval at each end (only for a single strategy's metric).
    ci: [(f64, f64); 2],
}

impl InputSwing {
    fn swing(&self) -> f64 {
        let s = (self.q[1] - self.q[0]).abs();
        if s.is_nan() { -1.0 } else { s }
    }
}

/// Everything the tornado chart shows.
#[derive(Clone, Debug)]
pub(super) struct Tornado {
    metric: String,
    /// (A, B) when the chart shows A − B, else the one strategy charted.
    compare: Option<(String, String)>,
    strategy: String,
    base: Option<f64>,
    /// Sorted by swing, largest first.
    rows: Vec<InputSwing>,
}

/// Per (input, side, strategy): the input's value and the metric's statistic.
type Cells = BTreeMap<(String, String, String), (String, Stat)>;

struct SensitivityFile {
    file: PathBuf,
    /// Inputs in file order.
    inputs: Vec<String>,
    strategies: Vec<String>,
    metrics: Vec<String>,
    /// Keyed by metric.
    cells: BTreeMap<String, Cells>,
}

fn invalid(file: &Path, message: String) -> ChartError {
    ChartError::Invalid { file: file.to_path_buf(), message }
}

fn read(file: &Path) -> Result<SensitivityFile, ChartError> {
    let Some(mut t) = Table::open(file)? else {
        return Err(invalid(file, "no such file".into()));
    };
    let [ci, cs, cv, cst, cm] = ["input", "side", "value", "strategy", "metric"].map(|c| t.col(c));
    let (ci, cs, cv, cst, cm) = (ci?, cs?, cv?, cst?, cm?);
    let c = [t.col("mean")?, t.col("ci95_low")?, t.col("ci95_high")?];
    let mut f = SensitivityFile {
        file: file.to_path_buf(),
        inputs: Vec::new(),
        strategies: Vec::new(),
        metrics: Vec::new(),
        cells: BTreeMap::new(),
    };
    for row in t.rows()? {
        let cell = |k: usize| row.get(k).unwrap_or("").trim().to_string();
        let side = cell(cs);
        if !matches!(side.as_str(), "low" | "high" | "base") {
            return Err(ChartError::BadValue {
                file: file.to_path_buf(),
                line: row.position().map_or(0, |p| p.line()),
                column: "side".into(),
                value: side,
                expected: "`low`, `high` or `base`".into(),
            });
        }
        let (input, strategy, metric) = (cell(ci), cell(cst), cell(cm));
        let stat = t.stat(&row, c)?;
        if side != "base" {
            index_of(&mut f.inputs, &input);
        }
        index_of(&mut f.strategies, &strategy);
        index_of(&mut f.metrics, &metric);
        let key = (if side == "base" { String::new() } else { input }, side, strategy);
        f.cells.entry(metric).or_default().insert(key, (cell(cv), stat));
    }
    if f.cells.is_empty() {
        return Err(invalid(file, "no rows".into()));
    }
    Ok(f)
}

/// A compared pair (A, B) and a metric, each if recorded.
pub(super) type Recorded = (Option<(String, String)>, Option<String>);

/// The compared pair and the metric that `manifest.json` records under `options` (keys
/// `compare`, as `"A,B"` or `["A", "B"]`, and `metric`), if any.
pub(super) fn options(dir: &Path) -> Result<Recorded, ChartError> {
    let file = dir.join("manifest.json");
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((None, None)),
        Err(e) => return Err(io_err(&file, e)),
    };
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|source| ChartError::Json { file: file.clone(), source })?;
    let opts = json.get("options");
    let metric = opts.and_then(|o| o.get("metric")).and_then(|m| m.as_str()).map(str::to_string);
    let pair: Option<Vec<String>> = match opts.and_then(|o| o.get("compare")) {
        Some(serde_json::Value::String(s)) => Some(s.split(',').map(|p| p.trim().to_string()).collect()),
        Some(serde_json::Value::Array(a)) => a.iter().map(|v| v.as_str().map(str::to_string)).collect(),
        _ => None,
    };
    let compare = pair.and_then(|p| match p.as_slice() {
        [a, b] => Some((a.clone(), b.clone())),
        _ => None,
    });
    Ok((compare, metric))
}

/// Draws `charts/tornado.svg` and `.png` from `dir/sensitivity.csv`, and returns their
/// paths.
///
/// Per input, the chart shows how far the charted quantity moves when that input goes to
/// the low and to the high end of its range: `compare = Some((A, B))` charts the difference
/// A − B of `metric` (a sign change means the input can flip which of the two is better),
/// `None` charts `metric` itself for the file's first strategy. Inputs are sorted by swing
/// (|high − low|), largest on top, and the base (the file's values) is a dashed line.
///
/// Errors name the file, and for a bad cell its line, column and value: a missing column, a
/// side other than `low`/`high`/`base`, a non-numeric mean, a metric or strategy that the
/// file does not hold.
pub fn draw_sensitivity(dir: &Path, compare: Option<(&str, &str)>, metric: &str) -> Result<Vec<PathBuf>, ChartError> {
    let f = read(&dir.join("sensitivity.csv"))?;
    let tornado = build(dir, &f, compare, metric)?;
    super::ensure_fonts()?;
    let out = dir.join("charts");
    std::fs::create_dir_all(&out).map_err(|e| io_err(&out, e))?;
    super::render_chart(&out, "tornado", &super::Chart::Tornado(tornado))
}

/// The metric to chart when none is given: the file's only one, else the default, else the
/// first.
pub(super) fn default_metric(dir: &Path) -> Result<String, ChartError> {
    let f = read(&dir.join("sensitivity.csv"))?;
    Ok(match f.metrics.as_slice() {
        [only] => only.clone(),
        all if all.iter().any(|m| m == DEFAULT_METRIC) => DEFAULT_METRIC.to_string(),
        all => all.first().cloned().unwrap_or_default(),
    })
}

fn build(dir: &Path, f: &SensitivityFile, compare: Option<(&str, &str)>, metric: &str) -> Result<Tornado, ChartError> {
    let Some(cells) = f.cells.get(metric) else {
        return Err(invalid(&f.file, format!("no rows for metric `{metric}` (the file has: {})", f.metrics.join(", "))));
    };
    let has = |s: &str| f.strategies.iter().any(|x| x == s);
    for s in compare.iter().flat_map(|(a, b)| [*a, *b]) {
        if !has(s) {
            return Err(invalid(&f.file, format!("no strategy `{s}` to compare (the file has: {})", f.strategies.join(", "))));
        }
    }
    let strategy = compare.map_or_else(|| f.strategies.first().cloned().unwrap_or_default(), |(a, _)| a.to_string());
    let get = |input: &str, side: &str, s: &str| cells.get(&(input.to_string(), side.to_string(), s.to_string()));
    let quantity = |input: &str, side: &str| -> (f64, (f64, f64)) {
        match compare {
            Some((a, b)) => match (get(input, side, a), get(input, side, b)) {
                (Some(x), Some(y)) => (x.1.mean - y.1.mean, (f64::NAN, f64::NAN)),
                _ => (f64::NAN, (f64::NAN, f64::NAN)),
            },
            None => get(input, side, &strategy).map_or((f64::NAN, (f64::NAN, f64::NAN)), |x| (x.1.mean, (x.1.lo, x.1.hi))),
        }
    };
    let mut rows = Vec::new();
    for input in &f.inputs {
        let (lo, ci_lo) = quantity(input, "low");
        let (hi, ci_hi) = quantity(input, "high");
        let value = |side: &str| get(input, side, &strategy).map_or(String::new(), |x| x.0.clone());
        rows.push(InputSwing { name: input.clone(), values: [value("low"), value("high")], q: [lo, hi], ci: [ci_lo, ci_hi] });
    }
    if rows.iter().all(|r| r.q.iter().all(|v| !v.is_finite())) {
        return Err(invalid(
            &f.file,
            format!("no finite `{metric}` values for {}", compare.map_or(strategy.clone(), |(a, b)| format!("{a} and {b}"))),
        ));
    }
    rows.sort_by(|a, b| b.swing().total_cmp(&a.swing()));
    let mut base = quantity("", "base").0;
    if !base.is_finite() {
        base = base_from_summary(dir, compare, &strategy, metric)?;
    }
    Ok(Tornado {
        metric: metric.to_string(),
        compare: compare.map(|(a, b)| (a.to_string(), b.to_string())),
        strategy,
        base: base.is_finite().then_some(base),
        rows,
    })
}

fn base_from_summary(dir: &Path, compare: Option<(&str, &str)>, strategy: &str, metric: &str) -> Result<f64, ChartError> {
    let Some(s) = read_summary(&dir.join("summary.csv"))? else {
        return Ok(f64::NAN);
    };
    let mean = |name: &str| s.iter().find(|r| r.name == name).map_or(f64::NAN, |r| r.mean(metric));
    Ok(match compare {
        Some((a, b)) => mean(a) - mean(b),
        None => mean(strategy),
    })
}

pub(super) fn draw_tornado<DB: DrawingBackend>(a: &Area<DB>, t: &Tornado) -> R<DB> {
    let (c_low, c_high) = (RGBColor(86, 180, 233), RGBColor(213, 94, 0));
    let fmt = value_format(&t.metric);
    let quantity = match &t.compare {
        Some((x, y)) => format!("{x} − {y}"),
        None => t.strategy.clone(),
    };
    let mut legend = vec![
        (Swatch::Fill(c_low), "input at the low end of its range".to_string()),
        (Swatch::Fill(c_high), "input at the high end".to_string()),
    ];
    match t.base {
        Some(_) => legend.push((Swatch::Line(BLACK, 6, None), "base: the scenario's own values".to_string())),
        None => legend.push((Swatch::Caption, "(base not recorded: bars start at the axis origin)".to_string())),
    }
    if t.compare.is_some() {
        legend.push((Swatch::Line(DARK, 0, None), "0: the two are equal".to_string()));
    }
    if t.compare.is_none() && t.rows.iter().any(|r| r.ci.iter().all(|c| c.0.is_finite())) {
        legend.push((Swatch::Line(MUTED, 0, None), "95% CI".to_string()));
    }
    let top = header(a, &format!("Which input moves {quantity} most ({})", t.metric), &legend)?;
    let vals = t.rows.iter().flat_map(|r| [r.q[0], r.q[1], r.ci[0].0, r.ci[0].1, r.ci[1].0, r.ci[1].1]).chain(t.base);
    let with_zero: Vec<f64> = vals.chain(t.compare.as_ref().map(|_| 0.0)).collect();
    // Room on both sides for the value labels at the bars' ends.
    let (min, max) =
        with_zero.iter().filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
    let pad = if max > min { (max - min) * 0.12 } else { 1.0 };
    let sc = Scale::fit(with_zero.into_iter().chain([min - pad, max + pad]), false, false);
    let mut col = 80;
    for r in &t.rows {
        col = col.max(width(a, &r.name, 14.0)?);
    }
    let col = col.min(300) + 16;
    let p = Plot { l: 30 + col, t: top + 24, r: W as i32 - 90, b: H as i32 - 62 };
    x_axis(a, &p, &sc, sc.ticks(), &format!("{quantity}: {}", t.metric), &|v| fmt(v))?;
    let origin = t.base.unwrap_or(if sc.lo <= 0.0 && sc.hi >= 0.0 { 0.0 } else { sc.lo });
    let x0 = p.x(&sc, origin);
    if t.compare.is_some() {
        let z = p.x(&sc, 0.0);
        line(a, vec![(z, p.t - 4), (z, p.b)], &DARK, 1, 0)?;
    }
    let n = t.rows.len().max(1) as i32;
    let rh = (p.b - p.t) / n;
    let bh = (rh * 3 / 10).clamp(3, 22);
    for (i, r) in t.rows.iter().enumerate() {
        let mid = p.t + rh * i as i32 + rh / 2;
        let flips = t.compare.is_some() && {
            let signs: Vec<f64> = r.q.iter().copied().chain(t.base).filter(|v| v.is_finite() && *v != 0.0).map(f64::signum).collect();
            signs.windows(2).any(|w| w[0] != w[1])
        };
        let name = wrap(a, &r.name, col - 16)?.join(" ");
        text(a, &name, (p.l - 8, mid - 8), 14.0, RC, &DARK)?;
        let range = format!("{} → {}{}", r.values[0], r.values[1], if flips { " · flips the winner" } else { "" });
        text(a, &range, (p.l - 8, mid + 9), 12.0, RC, if flips { &BLACK } else { &MUTED })?;
        for (k, c) in [c_low, c_high].iter().enumerate() {
            let (y0, y1) = if k == 0 { (mid - bh - 1, mid - 1) } else { (mid + 1, mid + bh + 1) };
            let v = r.q[k];
            if !v.is_finite() {
                text(a, "n/a", (x0 + 6, (y0 + y1) / 2), 12.0, LC, &MUTED)?;
                continue;
            }
            let x = p.x(&sc, v);
            rect(a, (x0.min(x), y0), (x0.max(x).max(x0.min(x) + 1), y1), c)?;
            let (cl, ch) = r.ci[k];
            let mut end = x;
            if cl.is_finite() && ch.is_finite() {
                let (xl, xh, ym) = (p.x(&sc, cl), p.x(&sc, ch), (y0 + y1) / 2);
                line(a, vec![(xl, ym), (xh, ym)], &MUTED, 1, 0)?;
                end = if x >= x0 { end.max(xh) } else { end.min(xl) };
            }
            // The value beyond the bar's end, or on the origin's other side where it would
            // run into the names or out of the picture.
            let label = fmt(v);
            let (w, ym) = (width(a, &label, 12.0)?, (y0 + y1) / 2);
            let fits = if x >= x0 { end + 5 + w <= W as i32 - 4 } else { end - 5 - w >= p.l + 2 };
            match (x >= x0, fits) {
                (true, true) | (false, false) => text(a, &label, (if fits { end + 5 } else { x0 + 5 }, ym), 12.0, LC, &DARK)?,
                (false, true) | (true, false) => text(a, &label, (if fits { end - 5 } else { x0 - 5 }, ym), 12.0, RC, &DARK)?,
            }
        }
    }
    line(a, vec![(p.l, p.t), (p.l, p.b)], &DARK, 1, 0)?;
    if let Some(b) = t.base {
        line(a, vec![(x0, p.t - 14), (x0, p.b)], &BLACK, 2, 6)?;
        let right = x0 > (p.l + p.r) / 2;
        let msg = format!("base {}", fmt(b));
        boxed(a, &msg, (if right { x0 - 5 } else { x0 + 5 }, p.t - 20), if right { RT } else { LT }, &BLACK)?;
    }
    Ok(())
}
