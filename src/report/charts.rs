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
mod summary;
mod sweep;

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
    /// `manifest.json` is not valid JSON.
    #[error("{file}: {source}")]
    Json {
        /// The manifest file.
        file: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// The directory holds neither `summary.csv` nor `sweep.csv`, or they hold no rows.
    #[error("{dir}: no chartable data (need summary.csv or sweep.csv with rows)")]
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

/// Renders every chart that the files in `dir` support; writes them to `dir/charts/NAME.svg`
/// and `NAME.png`; returns the written paths sorted.
pub fn render_dir(dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    let summary = read_summary(&dir.join("summary.csv"))?;
    let sweep = read_sweep(&dir.join("sweep.csv"))?;
    if summary.is_none() && sweep.is_none() {
        return Err(ChartError::NoData { dir: dir.to_path_buf() });
    }
    ensure_fonts()?;
    let mut charts: Vec<(&str, Chart)> = Vec::new();
    if let Some(s) = summary {
        let deadlines = read_deadlines(&dir.join("manifest.json"))?;
        let names: Vec<String> = s.iter().map(|r| r.name.clone()).collect();
        let lat = read_latencies(&dir.join("tasks.csv"), &names)?;
        charts.push(("cost_per_result", Chart::CostPerResult(s.clone())));
        charts.push(("cost_breakdown", Chart::Breakdown(s.clone())));
        charts.push(("latency", Chart::Latency(s.clone(), lat, deadlines)));
        charts.push(("outcomes", Chart::Outcomes(s)));
    }
    if let Some(sw) = sweep {
        match sw.axes.len() {
            1 => charts.push(("sweep_cost_per_success", Chart::Sweep1(sw))),
            2 => charts.push(("sweep_cheapest", Chart::Sweep2(sw))),
            _ => {}
        }
    }
    let out = dir.join("charts");
    std::fs::create_dir_all(&out).map_err(|e| io_err(&out, e))?;
    let mut written = Vec::new();
    for (name, chart) in &charts {
        written.extend(render_chart(&out, name, chart)?);
    }
    written.sort();
    Ok(written)
}

enum Chart {
    CostPerResult(Vec<StrategyRow>),
    Breakdown(Vec<StrategyRow>),
    Latency(Vec<StrategyRow>, Option<Latencies>, Vec<(f64, String)>),
    Outcomes(Vec<StrategyRow>),
    Sweep1(Sweep),
    Sweep2(Sweep),
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
    }
}

#[cfg(test)]
mod tests;
