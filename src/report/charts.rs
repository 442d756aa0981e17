//! Report charts: reads a run or sweep directory's CSV files and renders SVG + PNG charts.
//!
//! Everything is drawn in pixel coordinates with our own axis code (rather than plotters'
//! chart builder) so that log and linear scales, long strategy names and money ticks share
//! one layout path. Output is a pure function of the input files: no timestamps, and order
//! only ever comes from `Vec`s filled in file order or from sorting.

//!
//! Layout: `input` reads the files, `common` holds the drawing vocabulary (fonts, colours,
//! scales, axes, number formats), and one module per chart family draws: `summary`
//! (cost per result, breakdown, outcomes), `latency`, `sweep` (line chart and heat map).

mod backend;
mod common;
mod input;
mod latency;
mod sensitivity;
mod summary;
mod sweep;

pub use sensitivity::draw_sensitivity;

use backend::Crisp;
use common::*;
use input::*;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Errors from reading chart inputs or writing charts.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// A file could not be read, written or renamed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A CSV file could not be parsed.
    #[error("{file}: {source}")]
    Csv {
        /// The CSV file.
        file: PathBuf,
        /// The underlying error.
        source: csv::Error,
    },
    /// A CSV file lacks a required column.
    #[error("{file}: missing column `{column}`")]
    MissingColumn {
        /// The CSV file.
        file: PathBuf,
        /// The column that was expected.
        column: String,
    },
    /// A CSV cell that should hold a number does not.
    #[error("{file}:{line}: column `{column}` = {value:?}: expected a number")]
    BadNumber {
        /// The CSV file.
        file: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Column name.
        column: String,
        /// The offending text.
        value: String,
    },
    /// A CSV cell holds a value outside the expected set.
    #[error("{file}:{line}: column `{column}` = {value:?}: expected {expected}")]
    BadValue {
        /// The CSV file.
        file: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Column name.
        column: String,
        /// The offending text.
        value: String,
        /// What was expected.
        expected: String,
    },
    /// A file is well formed but cannot give the chart asked for.
    #[error("{file}: {message}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `manifest.json` is not valid JSON.
    #[error("{file}: {source}")]
    Json {
        /// The manifest file.
        file: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// The directory holds neither `summary.csv` nor `sweep.csv`, or they hold no rows.
    #[error("{dir}: no chartable data (need summary.csv, sweep.csv or sensitivity.csv with rows)")]
    NoData {
        /// The directory that was searched.
        dir: PathBuf,
    },
    /// The embedded DejaVu font could not be registered with plotters.
    #[error("could not register the embedded DejaVu font")]
    Font,
    /// Drawing a chart failed inside plotters.
    #[error("drawing {chart}: {message}")]
    Draw {
        /// The chart's file name (without extension).
        chart: String,
        /// plotters' message.
        message: String,
    },
}

/// The metric sweep charts use unless told otherwise.
pub const DEFAULT_METRIC: &str = "cost_per_success_usd";

/// Whether a larger value of `metric` is the better one (value, net value, success and
/// SLA rates, correct results, throughput); every other metric (costs, latencies, waits,
/// failures) is better smaller.
pub fn higher_is_better(metric: &str) -> bool {
    matches!(metric, "correct" | "net_value_usd" | "value_usd" | "success_rate" | "sla_met_rate" | "throughput_per_hour")
}

/// Renders every chart that the files in `dir` support, with sweep charts on
/// [`DEFAULT_METRIC`]. See [`render_dir_for`].
pub fn render_dir(dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    render_dir_for(dir, DEFAULT_METRIC)
}

/// Renders every chart that the files in `dir` support into `dir/charts/NAME.svg` and
/// `NAME.png`, and returns the written paths sorted.
///
/// - `summary.csv` gives `cost_per_result`, `cost_breakdown`, `latency` (an ECDF when
///   `tasks.csv` is there) and `outcomes`.
/// - `sweep.csv` gives, on `metric` (a metric name of the file's `metric` column), a line
///   chart for one axis and a heat map of the best strategy with its margin for two. Their
///   files are `sweep_STEM` and, for two axes, `sweep_best_STEM`, where STEM is the metric
///   without a `_usd` suffix; the default metric keeps its historical names
///   `sweep_cost_per_success` and `sweep_cheapest`. Which end is better comes from
///   [`higher_is_better`].
/// - `sensitivity.csv` gives `tornado` (see [`draw_sensitivity`]), on the metric and the
///   compared pair that `manifest.json` records under `options`, else as inferred there.
///
/// A chart with nothing to show (say, costs that are all zero) is not written, and a stale
/// file of that name left by an earlier drawing is removed.
pub fn render_dir_for(dir: &Path, metric: &str) -> Result<Vec<PathBuf>, ChartError> {
    let summary = read_summary(&dir.join("summary.csv"))?;
    let sweep = read_sweep(&dir.join("sweep.csv"), metric)?;
    let has_sensitivity = dir.join("sensitivity.csv").is_file();
    if summary.is_none() && sweep.is_none() && !has_sensitivity {
        return Err(ChartError::NoData { dir: dir.to_path_buf() });
    }
    ensure_fonts()?;
    let mut charts: Vec<(String, Chart)> = Vec::new();
    if let Some(s) = summary {
        let deadlines = read_deadlines(&dir.join("manifest.json"))?;
        let names: Vec<String> = s.iter().map(|r| r.name.clone()).collect();
        let lat = read_latencies(&dir.join("tasks.csv"), &names)?;
        charts.push(("cost_per_result".into(), Chart::CostPerResult(s.clone())));
        charts.push(("cost_breakdown".into(), Chart::Breakdown(s.clone())));
        charts.push(("latency".into(), Chart::Latency(s.clone(), lat, deadlines)));
        charts.push(("outcomes".into(), Chart::Outcomes(s)));
    }
    if let Some(sw) = sweep {
        let (one, two) = sweep_chart_names(metric);
        match sw.axes.len() {
            1 => charts.push((one, Chart::Sweep1(sw))),
            2 => charts.push((two, Chart::Sweep2(sw))),
            _ => {}
        }
    }
    let mut written = Vec::new();
    let out = dir.join("charts");
    std::fs::create_dir_all(&out).map_err(|e| io_err(&out, e))?;
    for (name, chart) in &charts {
        if chart.has_data() {
            written.extend(render_chart(&out, name, chart)?);
        } else {
            remove_stale(&out, name)?;
        }
    }
    if has_sensitivity {
        let (compare, recorded) = sensitivity::options(dir)?;
        let metric = match recorded {
            Some(m) => m,
            None => sensitivity::default_metric(dir)?,
        };
        let pair = compare.as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
        written.extend(draw_sensitivity(dir, pair, &metric)?);
    }
    written.sort();
    Ok(written)
}

/// File stems of the one-axis and two-axis sweep charts on `metric`.
pub fn sweep_chart_names(metric: &str) -> (String, String) {
    if metric == DEFAULT_METRIC {
        return ("sweep_cost_per_success".into(), "sweep_cheapest".into());
    }
    let stem = metric.strip_suffix("_usd").unwrap_or(metric);
    (format!("sweep_{stem}"), format!("sweep_best_{stem}"))
}

/// Removes `NAME.svg` and `NAME.png` from `out` if present (a chart that is now empty).
fn remove_stale(out: &Path, name: &str) -> Result<(), ChartError> {
    for ext in ["svg", "png"] {
        let f = out.join(format!("{name}.{ext}"));
        match std::fs::remove_file(&f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&f, e)),
        }
    }
    Ok(())
}

enum Chart {
    CostPerResult(Vec<StrategyRow>),
    Breakdown(Vec<StrategyRow>),
    Latency(Vec<StrategyRow>, Option<Latencies>, Vec<(f64, String)>),
    Outcomes(Vec<StrategyRow>),
    Sweep1(Sweep),
    Sweep2(Sweep),
    Tornado(sensitivity::Tornado),
}

impl Chart {
    /// Whether the chart would show at least one value: a cost chart of a free system, or a
    /// sweep whose metric is missing everywhere, would be an empty frame.
    fn has_data(&self) -> bool {
        let any = |s: &[StrategyRow], f: &dyn Fn(&StrategyRow) -> bool| s.iter().any(f);
        let positive = |v: f64| v.is_finite() && v > 0.0;
        match self {
            Chart::CostPerResult(s) => any(s, &|r| positive(r.mean("cost_per_task_usd")) || positive(r.mean("cost_per_success_usd"))),
            Chart::Breakdown(s) => any(s, &|r| summary::PARTS.iter().any(|(m, _, _)| positive(r.mean(m)))),
            Chart::Latency(_, Some(lat), _) => !lat.is_empty(),
            Chart::Latency(s, None, _) => any(s, &|r| r.mean("latency_p50_s").is_finite() && r.mean("latency_p95_s").is_finite()),
            Chart::Outcomes(s) => any(s, &|r| ["correct", "wrong", "failed"].iter().any(|m| positive(r.mean(m)))),
            Chart::Sweep1(sw) | Chart::Sweep2(sw) => sw.values.values().any(|v| v.mean.is_finite()),
            Chart::Tornado(_) => true,
        }
    }
}

/// PNG pixels per logical pixel: a 1000 x 600 chart is a 2000 x 1200 PNG.
pub const PNG_DENSITY: u32 = 2;

/// Draws `chart` to `NAME.svg` and `NAME.png` in `out`, each via a temp file and a rename.
fn render_chart(out: &Path, name: &str, chart: &Chart) -> Result<Vec<PathBuf>, ChartError> {
    let draw_err = |e: &dyn std::fmt::Display| ChartError::Draw { chart: name.to_string(), message: e.to_string() };
    let pid = std::process::id();
    let mut svg = String::new();
    {
        let root = Crisp::new(SVGBackend::with_string(&mut svg, (W, H)), 1, false).into_drawing_area();
        draw(&root, chart).and_then(|()| root.present()).map_err(|e| draw_err(&e))?;
    }
    let svg_path = out.join(format!("{name}.svg"));
    let tmp = out.join(format!(".{name}.{pid}.svg.tmp"));
    std::fs::write(&tmp, svg.as_bytes()).map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, &svg_path).map_err(|e| io_err(&svg_path, e))?;
    // The image encoder picks the format from the extension, so the temp name ends in .png.
    let png_path = out.join(format!("{name}.png"));
    let tmp = out.join(format!(".{name}.{pid}.tmp.png"));
    let drawn = {
        let root = Crisp::new(BitMapBackend::new(&tmp, (W * PNG_DENSITY, H * PNG_DENSITY)), PNG_DENSITY, true).into_drawing_area();
        draw(&root, chart).and_then(|()| root.present()).map_err(|e| draw_err(&e))
    };
    if let Err(e) = drawn {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &png_path).map_err(|e| io_err(&png_path, e))?;
    Ok(vec![svg_path, png_path])
}

fn draw<DB: DrawingBackend>(a: &Area<DB>, chart: &Chart) -> R<DB> {
    a.fill(&WHITE)?;
    match chart {
        Chart::CostPerResult(s) => summary::draw_cost_per_result(a, s),
        Chart::Breakdown(s) => summary::draw_breakdown(a, s),
        Chart::Latency(s, Some(lat), d) => latency::draw_ecdf(a, s, lat, d),
        Chart::Latency(s, None, d) => latency::draw_latency_boxes(a, s, d),
        Chart::Outcomes(s) => summary::draw_outcomes(a, s),
        Chart::Sweep1(sw) => sweep::draw_sweep1(a, sw),
        Chart::Sweep2(sw) => sweep::draw_sweep2(a, sw),
        Chart::Tornado(t) => sensitivity::draw_tornado(a, t),
    }
}

#[cfg(test)]
mod tests;
