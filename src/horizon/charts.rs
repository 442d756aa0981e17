//! Horizon charts, drawn from `horizon.csv` and `horizon_summary.csv` alone (so that
//! `orchsim plot` can redraw them): cumulative net value per strategy over months with
//! its 95% band and the payback month marked; NPV by adoption month.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::HorizonSpec;
use super::run::HorizonResult;
use crate::error::{Error, Result};

const W: u32 = 1600;
const H: u32 = 1000;

fn fonts() {
    // Registering twice is harmless; the embedded DejaVu needs no system font.
    let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    let _ = register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
}

/// One (strategy, timing) series of `horizon.csv`.
#[derive(Debug, Default)]
struct Series {
    months: Vec<f64>,
    cum: Vec<f64>,
    lo: Vec<f64>,
    hi: Vec<f64>,
}

fn bad(file: &Path, what: impl std::fmt::Display) -> Error {
    Error::Usage(format!("{}: {what}", file.display()))
}

fn read_csv(file: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let mut r = ::csv::Reader::from_path(file).map_err(|e| bad(file, e))?;
    let head: Vec<String> = r.headers().map_err(|e| bad(file, e))?.iter().map(str::to_string).collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        rows.push(rec.map_err(|e| bad(file, e))?.iter().map(str::to_string).collect());
    }
    Ok((head, rows))
}

fn col(head: &[String], file: &Path, name: &str) -> Result<usize> {
    head.iter().position(|h| h == name).ok_or_else(|| bad(file, format!("no column `{name}`")))
}

fn num(file: &Path, s: &str) -> Result<f64> {
    s.parse::<f64>().map_err(|_| bad(file, format!("`{s}` is not a number")))
}

fn read_series(dir: &Path) -> Result<BTreeMap<(String, u32), Series>> {
    let file = dir.join("horizon.csv");
    let (head, rows) = read_csv(&file)?;
    let [m, s, t, c, lo, hi] = ["month", "strategy", "adopt_at", "cumulative_net_value_usd", "cumulative_ci95_low", "cumulative_ci95_high"]
        .map(|n| col(&head, &file, n));
    let (m, s, t, c, lo, hi) = (m?, s?, t?, c?, lo?, hi?);
    let mut out: BTreeMap<(String, u32), Series> = BTreeMap::new();
    for r in rows {
        let timing = num(&file, &r[t])? as u32;
        let e = out.entry((r[s].clone(), timing)).or_default();
        e.months.push(num(&file, &r[m])?);
        let cum = num(&file, &r[c])?;
        e.cum.push(cum);
        // One replication has no interval: the band collapses onto the line.
        let l = num(&file, &r[lo])?;
        let h = num(&file, &r[hi])?;
        e.lo.push(if l.is_nan() { cum } else { l });
        e.hi.push(if h.is_nan() { cum } else { h });
    }
    Ok(out)
}

fn label(name: &str, timing: u32, timed: bool) -> String {
    if timed { format!("{name} (adopt at {timing})") } else { name.to_string() }
}

fn chart_err(e: impl std::fmt::Display) -> Error {
    Error::Other(format!("horizon chart: {e}"))
}

fn k_usd(v: f64) -> String {
    let a = v.abs();
    let s = if a >= 1e6 {
        format!("${:.1}M", a / 1e6)
    } else if a >= 1e3 {
        format!("${:.0}k", a / 1e3)
    } else {
        format!("${a:.0}")
    };
    if v < 0.0 { format!("-{s}") } else { s }
}

/// A chart's frame: caption, a linear x from 0 and a y in dollars, with the mesh drawn.
fn frame<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    (xmax, ymin, ymax): (f64, f64, f64),
    (x_desc, y_desc): (&str, &str),
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>>
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 36))
        .margin(30)
        .x_label_area_size(70)
        .y_label_area_size(130)
        .build_cartesian_2d(0.0..xmax, ymin..ymax)
        .map_err(chart_err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style(("sans-serif", 26))
        .label_style(("sans-serif", 22))
        .y_label_formatter(&|v| k_usd(*v))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(chart_err)?;
    Ok(chart)
}

/// The series legend, in one corner.
fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    at: SeriesLabelPosition,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(at)
        .label_font(("sans-serif", 22))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(chart_err)
}

fn draw_cumulative<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    series: &BTreeMap<(String, u32), Series>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(chart_err)?;
    let months = series.values().flat_map(|s| s.months.iter().copied()).fold(1.0f64, f64::max);
    let (mut ymin, mut ymax) = (0.0f64, 0.0f64);
    for s in series.values() {
        for v in s.lo.iter().chain(&s.hi) {
            if v.is_finite() {
                ymin = ymin.min(*v);
                ymax = ymax.max(*v);
            }
        }
    }
    let pad = ((ymax - ymin) * 0.05).max(1.0);
    let mut chart = frame(
        &root,
        "Cumulative net value (mean, 95% band); payback month marked",
        (months + 0.5, ymin - pad, ymax + pad),
        ("month", "cumulative net value (USD)"),
    )?;
    for (i, ((name, timing), s)) in series.iter().enumerate() {
        let c = Palette99::pick(i).to_rgba();
        let band: Vec<(f64, f64)> =
            s.months.iter().zip(&s.hi).map(|(m, h)| (*m, *h)).chain(s.months.iter().zip(&s.lo).rev().map(|(m, l)| (*m, *l))).collect();
        chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.18).filled()))).map_err(chart_err)?;
        chart
            .draw_series(LineSeries::new(s.months.iter().copied().zip(s.cum.iter().copied()), c.stroke_width(3)))
            .map_err(chart_err)?
            .label(label(name, *timing, series.keys().filter(|(n, _)| n == name).count() > 1))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], c.stroke_width(3)));
        if let Some(k) = s.cum.iter().position(|v| *v >= 0.0) {
            let (m, v) = (s.months[k], s.cum[k]);
            chart.draw_series(std::iter::once(Circle::new((m, v), 9, c.filled()))).map_err(chart_err)?;
            chart
                .draw_series(std::iter::once(Text::new(format!("payback m{m:.0}"), (m, v), ("sans-serif", 22).into_font())))
                .map_err(chart_err)?;
        }
    }
    chart
        .draw_series(std::iter::once(PathElement::new(vec![(0.0, 0.0), (months + 0.5, 0.0)], BLACK.stroke_width(1))))
        .map_err(chart_err)?;
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present().map_err(chart_err)
}

/// Per strategy: (adoption month, mean NPV, interval low, interval high).
type NpvPoints = BTreeMap<String, Vec<(f64, f64, f64, f64)>>;

fn read_npv(dir: &Path) -> Result<NpvPoints> {
    let file = dir.join("horizon_summary.csv");
    let (head, rows) = read_csv(&file)?;
    let [s, t, m, mean, lo, hi] = ["strategy", "adopt_at", "metric", "mean", "ci95_low", "ci95_high"].map(|n| col(&head, &file, n));
    let (s, t, m, mean, lo, hi) = (s?, t?, m?, mean?, lo?, hi?);
    let mut out = NpvPoints::new();
    for r in rows.iter().filter(|r| r[m] == "npv_usd") {
        let v = num(&file, &r[mean])?;
        let l = num(&file, &r[lo])?;
        let h = num(&file, &r[hi])?;
        out.entry(r[s].clone()).or_default().push((num(&file, &r[t])?, v, if l.is_nan() { v } else { l }, if h.is_nan() { v } else { h }));
    }
    Ok(out)
}

fn draw_npv<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    npv: &BTreeMap<String, Vec<(f64, f64, f64, f64)>>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(chart_err)?;
    let xmax = npv.values().flatten().map(|p| p.0).fold(1.0f64, f64::max);
    let ys = npv.values().flatten().flat_map(|p| [p.2, p.3]).filter(|v| v.is_finite());
    let (ymin, ymax) = ys.fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let pad = ((ymax - ymin) * 0.08).max(1.0);
    let mut chart = frame(
        &root,
        "NPV by adoption month (mean, 95% interval)",
        (xmax + 1.0, ymin - pad, ymax + pad),
        ("month adoption starts", "NPV (USD)"),
    )?;
    for (i, (name, pts)) in npv.iter().enumerate() {
        let c = Palette99::pick(i).to_rgba();
        for &(x, _, l, h) in pts {
            chart.draw_series(std::iter::once(PathElement::new(vec![(x, l), (x, h)], c.stroke_width(3)))).map_err(chart_err)?;
        }
        chart
            .draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.1)), c.stroke_width(2)).point_size(8))
            .map_err(chart_err)?
            .label(name.clone())
            .legend(move |(x, y)| Circle::new((x + 15, y), 8, c.filled()));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present().map_err(chart_err)
}

/// Draws the horizon charts of a folder from its CSV files, as PNG and SVG, into
/// `DIR/charts/`. The NPV-by-timing chart is drawn only when some strategy was run at
/// two or more adoption timings (one point says nothing).
pub fn draw_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    fonts();
    let charts = dir.join("charts");
    std::fs::create_dir_all(&charts).map_err(|e| Error::io(&charts, e))?;
    let mut written = Vec::new();
    let series = read_series(dir)?;
    let npv = read_npv(dir)?;
    let timed = npv.values().any(|v| v.len() >= 2);
    for ext in ["png", "svg"] {
        let p = charts.join(format!("horizon_cumulative.{ext}"));
        if ext == "png" {
            draw_cumulative(BitMapBackend::new(&p, (W, H)).into_drawing_area(), &series)?;
        } else {
            draw_cumulative(SVGBackend::new(&p, (W, H)).into_drawing_area(), &series)?;
        }
        written.push(p);
        if timed {
            let p = charts.join(format!("horizon_npv_by_adoption.{ext}"));
            if ext == "png" {
                draw_npv(BitMapBackend::new(&p, (W, H)).into_drawing_area(), &npv)?;
            } else {
                draw_npv(SVGBackend::new(&p, (W, H)).into_drawing_area(), &npv)?;
            }
            written.push(p);
        }
    }
    Ok(written)
}

/// Draws the charts of a finished horizon run (from the files just written).
pub fn draw(dir: &Path, _spec: &HorizonSpec, _r: &HorizonResult) -> Result<Vec<PathBuf>> {
    draw_dir(dir)
}
