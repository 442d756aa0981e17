//! Report charts: reads a run or sweep directory's CSV files and renders SVG + PNG charts.
//!
//! Everything is drawn in pixel coordinates with our own axis code (rather than plotters'
//! chart builder) so that log and linear scales, long strategy names and money ticks share
//! one layout path. Output is a pure function of the input files: no timestamps, and order
//! only ever comes from `Vec`s filled in file order or from sorting.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::register_font;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::BTreeMap;
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

// ---------------------------------------------------------------------------------------
// Inputs

/// One (mean, 95% CI) triple; NaN where absent.
#[derive(Clone, Copy, Debug)]
struct Stat {
    mean: f64,
    lo: f64,
    hi: f64,
}

const NA: Stat = Stat { mean: f64::NAN, lo: f64::NAN, hi: f64::NAN };

#[derive(Clone, Debug)]
struct StrategyRow {
    name: String,
    metrics: BTreeMap<String, Stat>,
}

impl StrategyRow {
    fn get(&self, metric: &str) -> Stat {
        self.metrics.get(metric).copied().unwrap_or(NA)
    }
    fn mean(&self, metric: &str) -> f64 {
        self.get(metric).mean
    }
    fn is_human(&self) -> bool {
        self.mean("model_cost_usd") == 0.0 && self.mean("human_cost_usd") > 0.0
    }
}

#[derive(Debug)]
struct Sweep {
    axes: Vec<String>,
    /// Axis values (as written) of each point, in order of first appearance.
    points: Vec<Vec<String>>,
    strategies: Vec<String>,
    /// cost_per_success_usd by (point index, strategy index).
    cps: BTreeMap<(usize, usize), Stat>,
}

fn io_err(path: &Path, source: std::io::Error) -> ChartError {
    ChartError::Io { path: path.to_path_buf(), source }
}

/// A CSV file opened with its header resolved to column indices.
struct Table {
    file: PathBuf,
    headers: Vec<String>,
    reader: csv::Reader<std::fs::File>,
}

impl Table {
    /// Opens `file`, or returns `None` if it does not exist.
    fn open(file: &Path) -> Result<Option<Table>, ChartError> {
        let f = match std::fs::File::open(file) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(file, e)),
        };
        let mut reader = csv::Reader::from_reader(f);
        let csv_err = |source| ChartError::Csv { file: file.to_path_buf(), source };
        let headers = reader.headers().map_err(csv_err)?.iter().map(|h| h.trim().to_string()).collect();
        Ok(Some(Table { file: file.to_path_buf(), headers, reader }))
    }
    fn col(&self, name: &str) -> Result<usize, ChartError> {
        self.headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| ChartError::MissingColumn { file: self.file.clone(), column: name.to_string() })
    }
    fn rows(&mut self) -> Result<Vec<csv::StringRecord>, ChartError> {
        let file = self.file.clone();
        self.reader.records().collect::<Result<_, _>>().map_err(|source| ChartError::Csv { file, source })
    }
    /// Parses a numeric cell; empty means NaN; `inf`, `NaN` and `nan` are accepted.
    fn num(&self, row: &csv::StringRecord, col: usize) -> Result<f64, ChartError> {
        let text = row.get(col).unwrap_or("").trim();
        if text.is_empty() {
            return Ok(f64::NAN);
        }
        text.parse::<f64>().map_err(|_| ChartError::BadNumber {
            file: self.file.clone(),
            line: row.position().map_or(0, |p| p.line()),
            column: self.headers.get(col).cloned().unwrap_or_default(),
            value: text.to_string(),
        })
    }
    fn stat(&self, row: &csv::StringRecord, c: [usize; 3]) -> Result<Stat, ChartError> {
        Ok(Stat { mean: self.num(row, c[0])?, lo: self.num(row, c[1])?, hi: self.num(row, c[2])? })
    }
}

fn index_of(list: &mut Vec<String>, name: &str) -> usize {
    list.iter().position(|s| s == name).unwrap_or_else(|| {
        list.push(name.to_string());
        list.len() - 1
    })
}

fn read_summary(file: &Path) -> Result<Option<Vec<StrategyRow>>, ChartError> {
    let Some(mut t) = Table::open(file)? else {
        return Ok(None);
    };
    let (cs, cm) = (t.col("strategy")?, t.col("metric")?);
    let c = [t.col("mean")?, t.col("ci95_low")?, t.col("ci95_high")?];
    let mut out: Vec<StrategyRow> = Vec::new();
    for row in t.rows()? {
        let name = row.get(cs).unwrap_or("").to_string();
        let stat = t.stat(&row, c)?;
        let i = match out.iter().position(|r| r.name == name) {
            Some(i) => i,
            None => {
                out.push(StrategyRow { name, metrics: BTreeMap::new() });
                out.len() - 1
            }
        };
        out[i].metrics.insert(row.get(cm).unwrap_or("").to_string(), stat);
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

fn read_sweep(file: &Path) -> Result<Option<Sweep>, ChartError> {
    let Some(mut t) = Table::open(file)? else {
        return Ok(None);
    };
    let (cp, cs, cm) = (t.col("point")?, t.col("strategy")?, t.col("metric")?);
    let c = [t.col("mean")?, t.col("ci95_low")?, t.col("ci95_high")?];
    let axes: Vec<String> = t.headers.get(cp + 1..cs).unwrap_or(&[]).to_vec();
    let mut sw = Sweep { axes, points: Vec::new(), strategies: Vec::new(), cps: BTreeMap::new() };
    let mut ids: Vec<String> = Vec::new();
    for row in t.rows()? {
        let id = row.get(cp).unwrap_or("");
        let p = index_of(&mut ids, id);
        if p == sw.points.len() {
            sw.points.push((cp + 1..cs).map(|i| row.get(i).unwrap_or("").trim().to_string()).collect());
        }
        let s = index_of(&mut sw.strategies, row.get(cs).unwrap_or(""));
        if row.get(cm) == Some("cost_per_success_usd") {
            sw.cps.insert((p, s), t.stat(&row, c)?);
        }
    }
    Ok(if sw.points.is_empty() { None } else { Some(sw) })
}

/// Latencies per strategy (summary order first, then any others in file order).
type Latencies = Vec<(String, Vec<f64>)>;

fn read_latencies(file: &Path, names: &[String]) -> Result<Option<Latencies>, ChartError> {
    let Some(mut t) = Table::open(file)? else {
        return Ok(None);
    };
    let (cs, cl) = (t.col("strategy")?, t.col("latency_s")?);
    let mut out: Latencies = names.iter().map(|n| (n.clone(), Vec::new())).collect();
    // Streamed row by row: a task log can hold millions of rows.
    let mut row = csv::StringRecord::new();
    let csv_err = |source| ChartError::Csv { file: file.to_path_buf(), source };
    while t.reader.read_record(&mut row).map_err(csv_err)? {
        let name = row.get(cs).unwrap_or("");
        let v = t.num(&row, cl)?;
        let i = match out.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                out.push((name.to_string(), Vec::new()));
                out.len() - 1
            }
        };
        if v.is_finite() && v >= 0.0 {
            out[i].1.push(v);
        }
    }
    for (_, v) in &mut out {
        v.sort_by(f64::total_cmp);
    }
    out.retain(|(_, v)| !v.is_empty());
    Ok(if out.is_empty() { None } else { Some(out) })
}

/// Class deadlines from the manifest, as (seconds, class names), sorted by seconds.
fn read_deadlines(file: &Path) -> Result<Vec<(f64, String)>, ChartError> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(file, e)),
    };
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|source| ChartError::Json { file: file.to_path_buf(), source })?;
    let classes = json.pointer("/scenario/workload/classes").and_then(|c| c.as_array());
    let mut out: Vec<(f64, String)> = Vec::new();
    for class in classes.into_iter().flatten() {
        let Some(d) = class.get("deadline_s").and_then(|d| d.as_f64()) else {
            continue;
        };
        let name = ["id", "name"].iter().find_map(|k| class.get(*k).and_then(|v| v.as_str())).unwrap_or("?");
        match out.iter_mut().find(|(x, _)| *x == d) {
            Some((_, names)) => *names = format!("{names}, {name}"),
            None => out.push((d, name.to_string())),
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Rendering

const W: u32 = 1000;
const H: u32 = 600;

enum Chart {
    CostPerResult(Vec<StrategyRow>),
    Breakdown(Vec<StrategyRow>),
    Latency(Vec<StrategyRow>, Option<Latencies>, Vec<(f64, String)>),
    Outcomes(Vec<StrategyRow>),
    Sweep1(Sweep),
    Sweep2(Sweep),
}

type Area<DB> = DrawingArea<DB, Shift>;
type R<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn ensure_fonts() -> Result<(), ChartError> {
    static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *OK.get_or_init(|| {
        register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if ok { Ok(()) } else { Err(ChartError::Font) }
}

/// Draws `chart` to `NAME.svg` and `NAME.png` in `out`, each via a temp file and a rename.
fn render_chart(out: &Path, name: &str, chart: &Chart) -> Result<Vec<PathBuf>, ChartError> {
    let draw_err = |e: &dyn std::fmt::Display| ChartError::Draw { chart: name.to_string(), message: e.to_string() };
    let pid = std::process::id();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
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
        let root = BitMapBackend::new(&tmp, (W, H)).into_drawing_area();
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
        Chart::CostPerResult(s) => draw_cost_per_result(a, s),
        Chart::Breakdown(s) => draw_breakdown(a, s),
        Chart::Latency(s, Some(lat), d) => draw_ecdf(a, s, lat, d),
        Chart::Latency(s, None, d) => draw_latency_boxes(a, s, d),
        Chart::Outcomes(s) => draw_outcomes(a, s),
        Chart::Sweep1(sw) => draw_sweep1(a, sw),
        Chart::Sweep2(sw) => draw_sweep2(a, sw),
    }
}

/// Where a text's reference point sits: (horizontal, vertical).
type Anchor = (HPos, VPos);
const CB: Anchor = (HPos::Center, VPos::Bottom);
const CC: Anchor = (HPos::Center, VPos::Center);
const CT: Anchor = (HPos::Center, VPos::Top);
const LC: Anchor = (HPos::Left, VPos::Center);
const LT: Anchor = (HPos::Left, VPos::Top);
const RC: Anchor = (HPos::Right, VPos::Center);
const RT: Anchor = (HPos::Right, VPos::Top);

// Okabe–Ito, ordered so neighbours also differ in lightness (greyscale printing).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(213, 94, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];
const GRID: RGBColor = RGBColor(225, 225, 225);
const DARK: RGBColor = RGBColor(40, 40, 40);
const MUTED: RGBColor = RGBColor(110, 110, 110);

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Black or white, whichever reads better on `c`.
fn ink_on(c: &RGBColor) -> RGBColor {
    let y = 0.2126 * f64::from(c.0) + 0.7152 * f64::from(c.1) + 0.0722 * f64::from(c.2);
    if y > 120.0 { BLACK } else { WHITE }
}

fn font(size: f64, bold: bool) -> TextStyle<'static> {
    let style = if bold { FontStyle::Bold } else { FontStyle::Normal };
    TextStyle::from(FontDesc::new(FontFamily::SansSerif, size, style))
}

fn text<DB: DrawingBackend>(a: &Area<DB>, s: &str, at: (i32, i32), size: f64, (h, v): Anchor, c: &RGBColor) -> R<DB> {
    a.draw_text(s, &font(size, false).color(c).pos(Pos::new(h, v)), at)
}

fn width<DB: DrawingBackend>(a: &Area<DB>, s: &str, size: f64) -> Result<i32, DrawingAreaErrorKind<DB::ErrorType>> {
    Ok(a.estimate_text_size(s, &font(size, false))?.0 as i32)
}

fn line<DB: DrawingBackend>(a: &Area<DB>, pts: Vec<(i32, i32)>, c: &RGBColor, w: u32, dash: u32) -> R<DB> {
    let style = c.stroke_width(w);
    if dash == 0 { a.draw(&PathElement::new(pts, style)) } else { a.draw(&DashedPathElement::new(pts, dash, dash.div_ceil(2) + 2, style)) }
}

fn rect<DB: DrawingBackend>(a: &Area<DB>, p0: (i32, i32), p1: (i32, i32), c: &RGBColor) -> R<DB> {
    a.draw(&Rectangle::new([p0, p1], c.filled()))?;
    a.draw(&Rectangle::new([p0, p1], WHITE.stroke_width(1)))
}

/// Marker shapes differ per strategy so lines stay distinguishable in greyscale.
fn marker<DB: DrawingBackend>(a: &Area<DB>, (x, y): (i32, i32), kind: usize, c: &RGBColor) -> R<DB> {
    let r = 5;
    match kind % 5 {
        0 => a.draw(&Circle::new((x, y), r, c.filled())),
        1 => a.draw(&Polygon::new(vec![(x, y - r - 1), (x - r - 1, y + r), (x + r + 1, y + r)], c.filled())),
        2 => a.draw(&Rectangle::new([(x - r + 1, y - r + 1), (x + r - 1, y + r - 1)], c.filled())),
        3 => a.draw(&Polygon::new(vec![(x, y - r - 1), (x + r + 1, y), (x, y + r + 1), (x - r - 1, y)], c.filled())),
        _ => {
            line(a, vec![(x - r, y - r), (x + r, y + r)], c, 3, 0)?;
            line(a, vec![(x - r, y + r), (x + r, y - r)], c, 3, 0)
        }
    }
}

const DASHES: [u32; 4] = [0, 10, 4, 16];

enum Swatch {
    Fill(RGBColor),
    Line(RGBColor, u32, Option<usize>),
    Mark(RGBColor, usize),
    Ring,
}

/// Title plus a wrapped, centred legend row; returns the y where the plot may start.
fn header<DB: DrawingBackend>(a: &Area<DB>, title: &str, items: &[(Swatch, String)]) -> Result<i32, DrawingAreaErrorKind<DB::ErrorType>> {
    a.draw_text(title, &font(22.0, true).color(&DARK).pos(Pos::new(CT.0, CT.1)), (W as i32 / 2, 12))?;
    let mut rows: Vec<Vec<(usize, i32)>> = vec![Vec::new()];
    let mut used = 0;
    for (i, (_, label)) in items.iter().enumerate() {
        let w = 34 + width(a, label, 14.0)? + 18;
        if used + w > W as i32 - 40 && used > 0 {
            rows.push(Vec::new());
            used = 0;
        }
        used += w;
        if let Some(row) = rows.last_mut() {
            row.push((i, w));
        }
    }
    let mut y = 50;
    for row in rows.iter().filter(|r| !r.is_empty()) {
        let mut x = (W as i32 - row.iter().map(|r| r.1).sum::<i32>()) / 2;
        for &(i, w) in row {
            let (swatch, label) = &items[i];
            match swatch {
                Swatch::Fill(c) => rect(a, (x, y - 7), (x + 26, y + 7), c)?,
                Swatch::Line(c, dash, m) => {
                    line(a, vec![(x, y), (x + 26, y)], c, 2, *dash)?;
                    if let Some(k) = m {
                        marker(a, (x + 13, y), *k, c)?;
                    }
                }
                Swatch::Mark(c, k) => marker(a, (x + 13, y), *k, c)?,
                Swatch::Ring => a.draw(&Circle::new((x + 13, y), 6, BLACK.stroke_width(2)))?,
            }
            text(a, label, (x + 34, y), 14.0, LC, &DARK)?;
            x += w;
        }
        y += 22;
    }
    Ok(y + 4)
}

/// A value scale, linear or log10, from `lo` to `hi`.
#[derive(Clone, Copy, Debug)]
struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Scale {
    /// Fits the finite values; log10 when positive values span more than two decades.
    fn fit(vals: impl IntoIterator<Item = f64>, allow_log: bool, from_zero: bool) -> Scale {
        let v: Vec<f64> = vals.into_iter().filter(|x| x.is_finite()).collect();
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let min_pos = v.iter().copied().filter(|x| *x > 0.0).fold(f64::INFINITY, f64::min);
        if v.is_empty() {
            return Scale { lo: 0.0, hi: 1.0, log: false };
        }
        if allow_log && min_pos.is_finite() && max / min_pos > 100.0 {
            let lo = 10f64.powf(min_pos.log10().floor());
            return Scale { lo, hi: 10f64.powf((max * 1.05).log10().ceil()), log: true };
        }
        let lo = if from_zero { min.min(0.0) } else { min };
        let span = if max > lo { max - lo } else { lo.abs().max(1.0) };
        let pad = if from_zero { 0.0 } else { span * 0.05 };
        Scale { lo: lo - pad, hi: max + span * 0.08, log: false }
    }
    fn frac(&self, v: f64) -> f64 {
        let f = if self.log {
            (v.max(self.lo * 1e-3).log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        if f.is_nan() { 0.0 } else { f.clamp(0.0, 1.0) }
    }
    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let (e0, e1) = (self.lo.log10().floor() as i32, self.hi.log10().ceil() as i32);
            let mults: &[f64] = if e1 - e0 <= 2 { &[1.0, 2.0, 5.0] } else { &[1.0] };
            let step = ((e1 - e0) / 8 + 1) as usize;
            return (e0..=e1)
                .step_by(step)
                .flat_map(|e| mults.iter().map(move |m| m * 10f64.powi(e)))
                .filter(|v| *v >= self.lo * 0.999 && *v <= self.hi * 1.001)
                .collect();
        }
        let raw = (self.hi - self.lo) / 7.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(mag * 10.0);
        let first = (self.lo / step).ceil() as i64;
        (first..)
            .map(|k| k as f64 * step)
            .take_while(|v| *v <= self.hi + step * 1e-9)
            .take(20)
            .map(|v| if v.abs() < step * 1e-9 { 0.0 } else { v })
            .collect()
    }
}

/// The plot rectangle in pixels.
#[derive(Clone, Copy)]
struct Plot {
    l: i32,
    t: i32,
    r: i32,
    b: i32,
}

impl Plot {
    fn x(&self, s: &Scale, v: f64) -> i32 {
        self.l + (s.frac(v) * f64::from(self.r - self.l)).round() as i32
    }
    fn y(&self, s: &Scale, v: f64) -> i32 {
        self.b - (s.frac(v) * f64::from(self.b - self.t)).round() as i32
    }
}

/// Rounds to `n` significant digits, dropping trailing zeros.
fn sig(x: f64, n: i32) -> String {
    if x == 0.0 || !x.is_finite() {
        return if x == 0.0 { "0".into() } else { format!("{x}") };
    }
    let decimals = (n - 1 - x.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// Compact number with k/M/B suffix: 1234 -> "1.23k".
fn num(v: f64) -> String {
    let a = v.abs();
    for (div, suf) in [(1e9, "B"), (1e6, "M"), (1e3, "k")] {
        if a >= div {
            return format!("{}{suf}", sig(v / div, 3));
        }
    }
    sig(v, 3)
}

/// Money ticks: "$0.01", "$0.20", "$5", "$1.2k" (one decimal is padded to cents).
fn usd(v: f64) -> String {
    let sign = if v < 0.0 { "-" } else { "" };
    let mut body = num(v.abs());
    if v.abs() < 1000.0 && body.find('.').is_some_and(|i| i + 2 == body.len()) {
        body.push('0');
    }
    format!("{sign}${body}")
}

/// Money for value labels: cents where they matter ("$0.10", "$0.0023", "$47.40", "$1.2k").
fn money(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let (sign, a) = (if v < 0.0 { "-" } else { "" }, v.abs());
    let body = if a >= 1000.0 {
        num(a)
    } else if a >= 100.0 {
        format!("{a:.0}")
    } else if a >= 1.0 || a == 0.0 {
        format!("{a:.2}")
    } else {
        let decimals = (1 - a.log10().floor() as i32).max(2) as usize;
        format!("{a:.decimals$}")
    };
    format!("{sign}${body}")
}

/// Seconds as "30 s", "10 min", "2 h", "3 d".
fn dur(s: f64) -> String {
    match s {
        s if s < 60.0 => format!("{} s", sig(s, 3)),
        s if s < 3600.0 => format!("{} min", sig(s / 60.0, 3)),
        s if s < 86400.0 => format!("{} h", sig(s / 3600.0, 3)),
        s => format!("{} d", sig(s / 86400.0, 3)),
    }
}

/// Ticks for a log-scaled seconds axis at round clock values (1 min, 1 h, not 1000 s).
fn time_ticks(sc: &Scale) -> Vec<f64> {
    let inside = |c: &[f64]| c.iter().copied().filter(|v| *v >= sc.lo * 0.999 && *v <= sc.hi * 1.001).collect::<Vec<f64>>();
    let coarse = inside(&[0.001, 0.01, 0.1, 1.0, 10.0, 60.0, 600.0, 3600.0, 36000.0, 86400.0, 864000.0]);
    if coarse.len() >= 4 {
        return coarse;
    }
    inside(&[
        0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0,
        86400.0, 172800.0, 604800.0,
    ])
}

/// Text on a translucent white box, so labels stay readable over lines and bars.
fn boxed<DB: DrawingBackend>(a: &Area<DB>, s: &str, at: (i32, i32), (h, v): Anchor, c: &RGBColor) -> R<DB> {
    let (w, ht) = a.estimate_text_size(s, &font(13.0, false))?;
    let (w, ht) = (w as i32, ht as i32);
    let x0 = match h {
        HPos::Left => at.0,
        HPos::Right => at.0 - w,
        HPos::Center => at.0 - w / 2,
    };
    let y0 = match v {
        VPos::Top => at.1,
        VPos::Bottom => at.1 - ht,
        VPos::Center => at.1 - ht / 2,
    };
    a.draw(&Rectangle::new([(x0 - 3, y0 - 2), (x0 + w + 3, y0 + ht + 2)], WHITE.mix(0.85).filled()))?;
    text(a, s, at, 13.0, (h, v), c)
}

fn pct(v: f64) -> String {
    format!("{}%", sig(v * 100.0, 2))
}

/// Vertical value axis on the left with grid lines and a rotated label.
fn y_axis<DB: DrawingBackend>(a: &Area<DB>, p: &Plot, s: &Scale, label: &str, fmt: &dyn Fn(f64) -> String) -> R<DB> {
    let mut widest = 0;
    for v in s.ticks() {
        let y = p.y(s, v);
        line(a, vec![(p.l, y), (p.r, y)], &GRID, 1, 0)?;
        let t = fmt(v);
        widest = widest.max(width(a, &t, 13.0)?);
        text(a, &t, (p.l - 6, y), 13.0, RC, &DARK)?;
    }
    let style = font(15.0, false).color(&DARK).pos(Pos::new(CT.0, CT.1)).transform(FontTransform::Rotate270);
    a.draw_text(label, &style, (p.l - widest - 34, (p.t + p.b) / 2))?;
    line(a, vec![(p.l, p.t), (p.l, p.b)], &DARK, 1, 0)
}

/// Horizontal value axis along the bottom with grid lines and a label.
fn x_axis<DB: DrawingBackend>(a: &Area<DB>, p: &Plot, s: &Scale, ticks: Vec<f64>, label: &str, fmt: &dyn Fn(f64) -> String) -> R<DB> {
    for v in ticks {
        let x = p.x(s, v);
        line(a, vec![(x, p.t), (x, p.b)], &GRID, 1, 0)?;
        text(a, &fmt(v), (x, p.b + 6), 13.0, CT, &DARK)?;
    }
    text(a, label, ((p.l + p.r) / 2, p.b + 28), 15.0, CT, &DARK)?;
    line(a, vec![(p.l, p.b), (p.r, p.b)], &DARK, 1, 0)
}

/// Splits a long name at separators into at most two lines of at most `max` pixels.
fn wrap<DB: DrawingBackend>(a: &Area<DB>, s: &str, max: i32) -> Result<Vec<String>, DrawingAreaErrorKind<DB::ErrorType>> {
    if width(a, s, 14.0)? <= max {
        return Ok(vec![s.to_string()]);
    }
    let fits = |i: usize| width(a, &s[..=i], 14.0).is_ok_and(|w| w <= max);
    let cut = s.char_indices().rev().find(|&(i, c)| " -_./".contains(c) && i > 0 && fits(i));
    let cut = cut.map(|(i, _)| i + 1);
    let (first, rest) = match cut {
        Some(i) => (s[..i].to_string(), s[i..].to_string()),
        None => (String::new(), s.to_string()),
    };
    let mut second = rest;
    while width(a, &format!("{second}…"), 14.0)? > max && second.chars().count() > 1 {
        second.pop();
    }
    if width(a, &second, 14.0)? > max || second.len() < s.len() - first.len() {
        second.push('…');
    }
    Ok([first, second].into_iter().filter(|l| !l.is_empty()).collect())
}

/// Width of the strategy-name column for horizontal bar charts.
fn name_column<DB: DrawingBackend>(a: &Area<DB>, names: &[&str]) -> Result<i32, DrawingAreaErrorKind<DB::ErrorType>> {
    let mut w = 60;
    for n in names {
        w = w.max(width(a, n, 14.0)?);
    }
    Ok(w.min(230) + 16)
}

/// Strategy names centred on each row of a horizontal bar chart.
fn row_labels<DB: DrawingBackend>(a: &Area<DB>, p: &Plot, names: &[&str], col: i32) -> Result<i32, DrawingAreaErrorKind<DB::ErrorType>> {
    let rh = (p.b - p.t) / names.len().max(1) as i32;
    for (i, n) in names.iter().enumerate() {
        let lines = wrap(a, n, col - 16)?;
        let cy = p.t + rh * i as i32 + rh / 2 - (lines.len() as i32 - 1) * 9;
        for (k, l) in lines.iter().enumerate() {
            text(a, l, (p.l - 8, cy + 18 * k as i32), 14.0, RC, &DARK)?;
        }
    }
    line(a, vec![(p.l, p.t), (p.l, p.b)], &DARK, 1, 0)?;
    Ok(rh)
}

fn names(s: &[StrategyRow]) -> Vec<&str> {
    s.iter().map(|r| r.name.as_str()).collect()
}

// ---------------------------------------------------------------------------------------
// Charts from summary.csv

fn draw_cost_per_result<DB: DrawingBackend>(a: &Area<DB>, s: &[StrategyRow]) -> R<DB> {
    let (c_task, c_succ) = (RGBColor(230, 159, 0), RGBColor(0, 114, 178));
    let humans: Vec<&StrategyRow> = s.iter().filter(|r| r.is_human()).collect();
    let mut legend =
        vec![(Swatch::Fill(c_task), "cost per task".to_string()), (Swatch::Fill(c_succ), "cost per correct result".to_string())];
    let has_ci = s.iter().any(|r| ["cost_per_task_usd", "cost_per_success_usd"].iter().any(|m| r.get(m).lo.is_finite()));
    if has_ci {
        legend.push((Swatch::Line(DARK, 0, None), "95% CI".to_string()));
    }
    if !humans.is_empty() {
        legend.push((Swatch::Line(BLACK, 8, None), "human team cost per correct result".to_string()));
    }
    let top = header(a, "Cost per task and per correct result", &legend)?;
    let vals = s.iter().flat_map(|r| {
        let (t, c) = (r.get("cost_per_task_usd"), r.get("cost_per_success_usd"));
        [t.mean, t.lo, t.hi, c.mean, c.lo, c.hi]
    });
    let sc = Scale::fit(vals, true, true);
    let col = name_column(a, &names(s))?;
    let p = Plot { l: 30 + col, t: top + 26, r: W as i32 - 90, b: H as i32 - 62 };
    let label = if sc.log { "USD (log scale: each gridline is 10x)" } else { "USD" };
    x_axis(a, &p, &sc, sc.ticks(), label, &usd)?;
    let rh = row_labels(a, &p, &names(s), col)?;
    let bh = (rh * 3 / 10).min(34);
    for (i, r) in s.iter().enumerate() {
        let mid = p.t + rh * i as i32 + rh / 2;
        for (k, metric, c) in [(0, "cost_per_task_usd", c_task), (1, "cost_per_success_usd", c_succ)] {
            let st = r.get(metric);
            let (y0, y1) = if k == 0 { (mid - bh - 1, mid - 1) } else { (mid + 1, mid + bh + 1) };
            if st.mean.is_nan() {
                text(a, "n/a", (p.l + 6, (y0 + y1) / 2), 13.0, LC, &MUTED)?;
                continue;
            }
            if st.mean.is_infinite() {
                text(a, "no correct result", (p.l + 6, (y0 + y1) / 2), 13.0, LC, &MUTED)?;
                continue;
            }
            let x = p.x(&sc, st.mean);
            rect(a, (p.l, y0), (x.max(p.l + 1), y1), &c)?;
            let mut end = x;
            if st.lo.is_finite() && st.hi.is_finite() {
                let (xl, xh, ym) = (p.x(&sc, st.lo), p.x(&sc, st.hi), (y0 + y1) / 2);
                line(a, vec![(xl, ym), (xh, ym)], &DARK, 2, 0)?;
                line(a, vec![(xl, ym - 5), (xl, ym + 5)], &DARK, 2, 0)?;
                line(a, vec![(xh, ym - 5), (xh, ym + 5)], &DARK, 2, 0)?;
                end = end.max(xh);
            }
            boxed(a, &money(st.mean), (end + 5, (y0 + y1) / 2), LC, &DARK)?;
        }
    }
    for (k, h) in humans.iter().enumerate() {
        let v = h.mean("cost_per_success_usd");
        if !v.is_finite() {
            continue;
        }
        let x = p.x(&sc, v);
        line(a, vec![(x, p.t - 22), (x, p.b)], &BLACK, 2, 8)?;
        let msg = format!("{}: {} per correct result", h.name, money(v));
        let right = x > (p.l + p.r) / 2;
        let at = (if right { x - 6 } else { x + 6 }, p.t - 20 + 16 * k as i32);
        boxed(a, &msg, at, if right { RT } else { LT }, &BLACK)?;
    }
    Ok(())
}

const PARTS: [(&str, &str, RGBColor); 5] = [
    ("model_cost_usd", "model", RGBColor(0, 114, 178)),
    ("tool_cost_usd", "tools", RGBColor(230, 159, 0)),
    ("orchestration_cost_usd", "orchestration", RGBColor(136, 34, 85)),
    ("platform_fee_usd", "platform fee", RGBColor(86, 180, 233)),
    ("human_cost_usd", "human", RGBColor(240, 228, 66)),
];

fn draw_breakdown<DB: DrawingBackend>(a: &Area<DB>, s: &[StrategyRow]) -> R<DB> {
    let waste = RGBColor(60, 60, 60);
    let mut legend: Vec<(Swatch, String)> = PARTS.iter().map(|(_, l, c)| (Swatch::Fill(*c), l.to_string())).collect();
    legend.push((Swatch::Fill(waste), "wasted (billed, not delivered)".into()));
    let top = header(a, "Mean cost per task by component", &legend)?;
    // Per-task parts; a strategy without a usable task count gets no bar.
    let per_task: Vec<Option<(Vec<f64>, f64, f64)>> = s
        .iter()
        .map(|r| {
            let n = r.mean("tasks");
            let parts: Vec<f64> = PARTS.iter().map(|(m, _, _)| (r.mean(m) / n).max(0.0)).collect();
            let total: f64 = parts.iter().sum();
            let wasted = r.mean("wasted_cost_usd") / n;
            (n > 0.0 && total.is_finite()).then_some((parts, total, wasted))
        })
        .collect();
    let total = |i: usize| per_task[i].as_ref().map_or(f64::NAN, |p| p.1);
    // Human teams often cost ~1000x an agent: a shared linear axis would flatten every agent
    // bar, so bars far beyond the agents' range are cut with a break mark and labelled.
    let agent_max = (0..s.len()).filter(|i| !s[*i].is_human()).map(total).fold(f64::NAN, f64::max);
    let all_max = (0..s.len()).map(total).fold(f64::NAN, f64::max);
    let cap = if agent_max > 0.0 && all_max > 10.0 * agent_max { agent_max * 1.25 } else { all_max };
    let sc = Scale::fit([0.0, cap], false, true);
    let col = name_column(a, &names(s))?;
    let p = Plot { l: 30 + col, t: top + 6, r: W as i32 - 190, b: H as i32 - 62 };
    x_axis(a, &p, &sc, sc.ticks(), "USD per task (mean over replications)", &usd)?;
    let rh = row_labels(a, &p, &names(s), col)?;
    let bh = (rh / 2).min(44);
    for (i, pt) in per_task.iter().enumerate() {
        let y0 = p.t + rh * i as i32 + (rh - bh) / 2 - 4;
        let Some((parts, tot, wasted)) = pt else {
            text(a, "n/a", (p.l + 6, y0 + bh / 2), 13.0, LC, &MUTED)?;
            continue;
        };
        let mut acc = 0.0;
        for (v, (_, _, c)) in parts.iter().zip(PARTS.iter()) {
            let (x0, x1) = (p.x(&sc, acc), p.x(&sc, acc + v));
            if x1 > x0 {
                rect(a, (x0, y0), (x1, y0 + bh), c)?;
            }
            acc += v;
        }
        let end = p.x(&sc, *tot);
        let off = *tot > sc.hi;
        if wasted.is_finite() && *wasted > 0.0 {
            let wx = p.x(&sc, *wasted);
            a.draw(&Rectangle::new([(p.l, y0 + bh + 2), (wx.max(p.l + 2), y0 + bh + 9)], waste.filled()))?;
        }
        if off {
            for dx in [-14, -8] {
                let pts = vec![(end + dx, y0 - 3), (end + dx + 4, y0 - 3), (end + dx - 2, y0 + bh + 12), (end + dx - 6, y0 + bh + 12)];
                a.draw(&Polygon::new(pts, WHITE.filled()))?;
            }
        }
        let share = if *tot > 0.0 && wasted.is_finite() { pct(wasted / tot) } else { "n/a".into() };
        let scale_note = if off { " (bar cut to fit)" } else { "" };
        text(a, &format!("{}/task{scale_note}", money(*tot)), (end + 6, y0 + bh / 2 - 8), 13.0, LC, &DARK)?;
        text(a, &format!("wasted: {share}"), (end + 6, y0 + bh / 2 + 9), 13.0, LC, &MUTED)?;
    }
    Ok(())
}

fn draw_outcomes<DB: DrawingBackend>(a: &Area<DB>, s: &[StrategyRow]) -> R<DB> {
    // correct + wrong + failed = tasks. Escalated tasks were finished by people and are
    // inside correct or wrong, so they are shown as a strip under the bar, not a segment.
    let parts = [("correct", RGBColor(0, 114, 178)), ("wrong", RGBColor(230, 159, 0)), ("failed", RGBColor(136, 34, 85))];
    let strip = RGBColor(60, 60, 60);
    let mut legend: Vec<_> = parts.iter().map(|(n, c)| (Swatch::Fill(*c), n.to_string())).collect();
    legend.push((Swatch::Fill(strip), "escalated to people (within correct/wrong)".to_string()));
    let top = header(a, "Task outcomes by strategy", &legend)?;
    let sc = Scale { lo: 0.0, hi: 1.0, log: false };
    let col = name_column(a, &names(s))?;
    let p = Plot { l: 30 + col, t: top + 6, r: W as i32 - 40, b: H as i32 - 62 };
    x_axis(a, &p, &sc, sc.ticks(), "share of tasks (%)", &|v| format!("{}%", sig(v * 100.0, 3)))?;
    let rh = row_labels(a, &p, &names(s), col)?;
    let bh = (rh * 6 / 10).min(50);
    for (i, r) in s.iter().enumerate() {
        let y0 = p.t + rh * i as i32 + (rh - bh) / 2;
        let vals: Vec<f64> = parts.iter().map(|(m, _)| r.mean(m).max(0.0)).collect();
        let sum: f64 = vals.iter().filter(|v| v.is_finite()).sum();
        if sum <= 0.0 {
            text(a, "no tasks", (p.l + 6, y0 + bh / 2), 13.0, LC, &MUTED)?;
            continue;
        }
        let mut acc = 0.0;
        for (v, (_, c)) in vals.iter().zip(parts.iter()) {
            let f = if v.is_finite() { v / sum } else { 0.0 };
            let (x0, x1) = (p.x(&sc, acc), p.x(&sc, acc + f));
            if x1 > x0 {
                rect(a, (x0, y0), (x1, y0 + bh), c)?;
            }
            if x1 - x0 >= 32 {
                text(a, &pct(f), ((x0 + x1) / 2, y0 + bh / 2), 13.0, CC, &ink_on(c))?;
            }
            acc += f;
        }
        let esc = r.mean("escalated");
        if esc.is_finite() && esc > 0.0 {
            let f = (esc / sum).min(1.0);
            let x1 = p.x(&sc, f).max(p.l + 2);
            rect(a, (p.l, y0 + bh + 2), (x1, y0 + bh + 8), &strip)?;
            text(a, &format!("escalated: {}", pct(f)), (x1 + 6, y0 + bh + 5), 12.0, LC, &MUTED)?;
        }
    }
    Ok(())
}

/// A latency axis: log seconds with clock ticks when values span more than two decades,
/// otherwise linear in one readable unit (s, min or h).
struct TimeAxis {
    sc: Scale,
    unit: f64,
    name: &'static str,
}

impl TimeAxis {
    fn fit(secs: Vec<f64>, from_zero: bool) -> TimeAxis {
        let sc = Scale::fit(secs.iter().copied(), true, from_zero);
        if sc.log {
            return TimeAxis { sc, unit: 1.0, name: "s" };
        }
        let max = secs.iter().copied().filter(|v| v.is_finite()).fold(0.0, f64::max);
        let (unit, name) = match max {
            m if m >= 36_000.0 => (3600.0, "h"),
            m if m >= 600.0 => (60.0, "min"),
            _ => (1.0, "s"),
        };
        TimeAxis { sc: Scale::fit(secs.iter().map(|v| v / unit), false, from_zero), unit, name }
    }
    fn x(&self, p: &Plot, secs: f64) -> i32 {
        p.x(&self.sc, secs / self.unit)
    }
    fn axis<DB: DrawingBackend>(&self, a: &Area<DB>, p: &Plot) -> R<DB> {
        if self.sc.log {
            x_axis(a, p, &self.sc, time_ticks(&self.sc), "latency (log scale)", &dur)
        } else {
            x_axis(a, p, &self.sc, self.sc.ticks(), &format!("latency ({})", self.name), &num)
        }
    }
    /// Deadlines go on last so that they sit on top of the data; their labels are stacked
    /// in the strip that `deadline_strip` reserved above the plot, clear of the curves.
    fn deadlines<DB: DrawingBackend>(&self, a: &Area<DB>, p: &Plot, d: &[(f64, String)]) -> R<DB> {
        let rows = deadline_strip(d) / 18;
        for (k, (secs, classes)) in d.iter().enumerate() {
            let (x, y) = (self.x(p, *secs), p.t - 18 * (rows - k as i32 % rows.max(1)));
            line(a, vec![(x, y), (x, p.b)], &BLACK, 2, 6)?;
            let right = x > (p.l + p.r) / 2;
            let msg = format!("deadline {} ({classes})", dur(*secs));
            boxed(a, &msg, (if right { x - 5 } else { x + 5 }, y), if right { RT } else { LT }, &BLACK)?;
        }
        Ok(())
    }
}

/// Pixels reserved above the plot for deadline labels (at most four rows).
fn deadline_strip(d: &[(f64, String)]) -> i32 {
    18 * d.len().min(4) as i32
}

fn draw_ecdf<DB: DrawingBackend>(a: &Area<DB>, s: &[StrategyRow], lat: &Latencies, d: &[(f64, String)]) -> R<DB> {
    let idx = |n: &str| s.iter().position(|r| r.name == n).unwrap_or(s.len());
    let mut legend: Vec<(Swatch, String)> =
        lat.iter().map(|(n, _)| (Swatch::Line(color(idx(n)), DASHES[idx(n) % 4], Some(idx(n))), n.clone())).collect();
    if !d.is_empty() {
        legend.push((Swatch::Line(BLACK, 6, None), "deadline".into()));
    }
    let top = header(a, "Latency distribution (share of tasks finished within a time)", &legend)?;
    let secs = lat.iter().flat_map(|(_, v)| v.iter().copied()).chain(d.iter().map(|x| x.0));
    let tx = TimeAxis::fit(secs.collect(), false);
    let sy = Scale { lo: 0.0, hi: 1.0, log: false };
    let p = Plot { l: 90, t: top + 6 + deadline_strip(d), r: W as i32 - 30, b: H as i32 - 62 };
    y_axis(a, &p, &sy, "tasks finished (cumulative %)", &|v| format!("{}%", sig(v * 100.0, 3)))?;
    tx.axis(a, &p)?;
    for (n, v) in lat {
        let i = idx(n);
        let at = |j: usize| (tx.x(&p, v[j]), p.y(&sy, (j + 1) as f64 / v.len() as f64));
        // At most ~400 steps per curve keeps the SVG small for big task logs.
        let m = v.len().min(400);
        let mut pts = vec![(tx.x(&p, v[0]), p.b)];
        for k in 0..m {
            let (x, y) = at(((k + 1) * v.len()).div_ceil(m) - 1);
            if let Some(&(_, py)) = pts.last() {
                pts.push((x, py));
            }
            pts.push((x, y));
        }
        line(a, pts, &color(i), 2, DASHES[i % 4])?;
        for q in [0.25, 0.5, 0.75, 0.95] {
            marker(a, at(((q * v.len() as f64) as usize).min(v.len() - 1)), i, &color(i))?;
        }
    }
    tx.deadlines(a, &p, d)
}

fn draw_latency_boxes<DB: DrawingBackend>(a: &Area<DB>, s: &[StrategyRow], d: &[(f64, String)]) -> R<DB> {
    let fill = RGBColor(86, 180, 233);
    let mut legend = vec![
        (Swatch::Fill(fill), "median (p50) to p95".to_string()),
        (Swatch::Line(DARK, 0, None), "whisker to p99".to_string()),
        (Swatch::Mark(BLACK, 3), "mean".to_string()),
    ];
    if !d.is_empty() {
        legend.push((Swatch::Line(BLACK, 6, None), "deadline".into()));
    }
    let top = header(a, "Latency percentiles by strategy", &legend)?;
    let keys = ["latency_p50_s", "latency_p95_s", "latency_p99_s", "latency_mean_s"];
    let secs = s.iter().flat_map(|r| keys.map(|k| r.mean(k))).chain(d.iter().map(|x| x.0));
    let tx = TimeAxis::fit(secs.collect(), true);
    let col = name_column(a, &names(s))?;
    let p = Plot { l: 30 + col, t: top + 6 + deadline_strip(d), r: W as i32 - 40, b: H as i32 - 62 };
    tx.axis(a, &p)?;
    let rh = row_labels(a, &p, &names(s), col)?;
    let bh = (rh / 2).min(40);
    for (i, r) in s.iter().enumerate() {
        let [p50, p95, p99, mean] = keys.map(|k| r.mean(k));
        let ym = p.t + rh * i as i32 + rh / 2;
        if p50.is_finite() && p95.is_finite() {
            if p99.is_finite() {
                let x99 = tx.x(&p, p99);
                line(a, vec![(tx.x(&p, p95), ym), (x99, ym)], &DARK, 2, 0)?;
                line(a, vec![(x99, ym - bh / 4), (x99, ym + bh / 4)], &DARK, 2, 0)?;
            }
            let (x0, x1) = (tx.x(&p, p50), tx.x(&p, p95).max(tx.x(&p, p50) + 2));
            a.draw(&Rectangle::new([(x0, ym - bh / 2), (x1, ym + bh / 2)], fill.filled()))?;
            a.draw(&Rectangle::new([(x0, ym - bh / 2), (x1, ym + bh / 2)], DARK.stroke_width(1)))?;
            line(a, vec![(x0, ym - bh / 2), (x0, ym + bh / 2)], &DARK, 3, 0)?;
        }
        if mean.is_finite() {
            marker(a, (tx.x(&p, mean), ym), 3, &BLACK)?;
        }
    }
    tx.deadlines(a, &p, d)
}

// ---------------------------------------------------------------------------------------
// Sweep charts

/// Distinct values of one sweep axis: numbers sorted ascending, otherwise first-appearance
/// order. Returns (labels, numeric positions, the index of each point's value).
fn axis_values(sw: &Sweep, k: usize) -> (Vec<String>, Option<Vec<f64>>, Vec<usize>) {
    let raw: Vec<&str> = sw.points.iter().map(|p| p.get(k).map_or("", |s| s.as_str())).collect();
    let nums: Option<Vec<f64>> = raw.iter().map(|s| s.parse::<f64>().ok().filter(|v| v.is_finite())).collect();
    match nums {
        Some(n) => {
            let mut u = n.clone();
            u.sort_by(f64::total_cmp);
            u.dedup();
            let idx = n.iter().map(|v| u.iter().position(|x| x == v).unwrap_or(0)).collect();
            (u.iter().map(|v| num(*v)).collect(), Some(u), idx)
        }
        None => {
            let mut u: Vec<String> = Vec::new();
            let idx = raw.iter().map(|s| index_of(&mut u, s)).collect();
            (u, None, idx)
        }
    }
}

/// Where two piecewise-linear curves cross, by linear interpolation between adjacent points.
fn crossings(xs: &[f64], a: &[f64], b: &[f64]) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for i in 0..xs.len().saturating_sub(1) {
        let (d0, d1) = (a[i] - b[i], a[i + 1] - b[i + 1]);
        if !d0.is_finite() || !d1.is_finite() {
            continue;
        }
        if d0 == 0.0 && (i == 0 || out.last().is_none_or(|(x, _)| *x != xs[i])) {
            out.push((xs[i], a[i]));
        } else if d0 * d1 < 0.0 {
            let t = d0 / (d0 - d1);
            out.push((xs[i] + t * (xs[i + 1] - xs[i]), a[i] + t * (a[i + 1] - a[i])));
        }
        if d1 == 0.0 && i + 2 == xs.len() {
            out.push((xs[i + 1], a[i + 1]));
        }
    }
    out
}

fn draw_sweep1<DB: DrawingBackend>(a: &Area<DB>, sw: &Sweep) -> R<DB> {
    let (labels, nums, idx) = axis_values(sw, 0);
    let xs: Vec<f64> = nums.clone().unwrap_or_else(|| (0..labels.len()).map(|i| i as f64).collect());
    // series[s][x] = cost per success at the x-th axis value.
    let series: Vec<Vec<Stat>> = (0..sw.strategies.len())
        .map(|s| {
            let mut v = vec![NA; xs.len()];
            for (p, &x) in idx.iter().enumerate() {
                if let Some(st) = sw.cps.get(&(p, s)) {
                    v[x] = *st;
                }
            }
            v
        })
        .collect();
    let mut legend: Vec<(Swatch, String)> =
        sw.strategies.iter().enumerate().map(|(i, n)| (Swatch::Line(color(i), DASHES[i % 4], Some(i)), n.clone())).collect();
    legend.push((Swatch::Fill(RGBColor(200, 200, 200)), "95% CI".into()));
    legend.push((Swatch::Ring, "break-even (axis value)".into()));
    let top = header(a, "Cost per correct result across the sweep", &legend)?;
    let all = series.iter().flatten().flat_map(|s| [s.mean, s.lo, s.hi]);
    let sy = Scale::fit(all, true, true);
    let sx = Scale::fit(xs.iter().copied(), nums.is_some(), false);
    let p = Plot { l: 100, t: top + 10, r: W as i32 - 30, b: H as i32 - 62 };
    let name = &sw.axes[0];
    let ticks = if nums.is_some() { sx.ticks() } else { xs.clone() };
    let cat = |v: f64| labels.get(v as usize).cloned().unwrap_or_default();
    x_axis(a, &p, &sx, ticks, name, if nums.is_some() { &num } else { &cat })?;
    let yl = format!("USD per correct result{}", if sy.log { " (log scale)" } else { "" });
    y_axis(a, &p, &sy, &yl, &usd)?;
    for (i, ser) in series.iter().enumerate() {
        let c = color(i);
        // CI band and line run only over consecutive finite points (inf = no correct result).
        let mut runs: Vec<Vec<usize>> = vec![Vec::new()];
        for (k, st) in ser.iter().enumerate() {
            match (st.mean.is_finite(), runs.last_mut()) {
                (true, Some(r)) => r.push(k),
                _ => runs.push(Vec::new()),
            }
        }
        for run in runs.iter().filter(|r| !r.is_empty()) {
            let ci: Vec<usize> = run.iter().copied().filter(|&k| ser[k].lo.is_finite() && ser[k].hi.is_finite()).collect();
            if ci.len() == run.len() && run.len() > 1 {
                let mut poly: Vec<(i32, i32)> = run.iter().map(|&k| (p.x(&sx, xs[k]), p.y(&sy, ser[k].hi))).collect();
                poly.extend(run.iter().rev().map(|&k| (p.x(&sx, xs[k]), p.y(&sy, ser[k].lo))));
                a.draw(&Polygon::new(poly, c.mix(0.18).filled()))?;
            }
            let pts: Vec<(i32, i32)> = run.iter().map(|&k| (p.x(&sx, xs[k]), p.y(&sy, ser[k].mean))).collect();
            line(a, pts.clone(), &c, 2, DASHES[i % 4])?;
            for pt in pts {
                marker(a, pt, i, &c)?;
            }
        }
    }
    let mut n_marks = 0;
    for i in 0..series.len() {
        for j in i + 1..series.len() {
            let m = |s: &Vec<Stat>| s.iter().map(|x| x.mean).collect::<Vec<f64>>();
            for (x, y) in crossings(&xs, &m(&series[i]), &m(&series[j])) {
                let at = (p.x(&sx, x), p.y(&sy, y));
                a.draw(&Circle::new(at, 7, BLACK.stroke_width(2)))?;
                let label = match &nums {
                    Some(_) => format!("≈ {}", sig(x, 3)),
                    None if x.fract() == 0.0 => format!("at {}", cat(x)),
                    None => format!("between {} and {}", cat(x.floor()), cat(x.ceil())),
                };
                let dy = if n_marks % 2 == 0 { -12 } else { 12 };
                let v = if dy < 0 { CB } else { CT };
                boxed(a, &label, (at.0, at.1 + dy), v, &BLACK)?;
                n_marks += 1;
            }
        }
    }
    Ok(())
}

fn draw_sweep2<DB: DrawingBackend>(a: &Area<DB>, sw: &Sweep) -> R<DB> {
    let (lx, _, ix) = axis_values(sw, 0);
    let (ly, _, iy) = axis_values(sw, 1);
    let none = RGBColor(215, 215, 215);
    // cheapest[y][x] = (strategy index, cost); ties go to the earlier strategy.
    let mut cheapest: Vec<Vec<Option<(usize, f64)>>> = vec![vec![None; lx.len()]; ly.len()];
    for p in 0..sw.points.len() {
        for s in 0..sw.strategies.len() {
            let v = sw.cps.get(&(p, s)).map_or(f64::NAN, |st| st.mean);
            let cell = &mut cheapest[iy[p]][ix[p]];
            if v.is_finite() && cell.is_none_or(|(_, best)| v < best) {
                *cell = Some((s, v));
            }
        }
    }
    let mut legend: Vec<(Swatch, String)> =
        sw.strategies.iter().enumerate().map(|(i, n)| (Swatch::Fill(color(i)), format!("{} {n}", i + 1))).collect();
    if cheapest.iter().flatten().any(|c| c.is_none()) {
        legend.push((Swatch::Fill(none), "no correct result".into()));
    }
    let top = header(a, "Cheapest strategy (lowest mean cost per correct result)", &legend)?;
    let mut yw = 0;
    for l in &ly {
        yw = yw.max(width(a, l, 13.0)?);
    }
    let p = Plot { l: 60 + yw, t: top + 10, r: W as i32 - 30, b: H as i32 - 62 };
    let (cw, ch) = ((p.r - p.l) / lx.len().max(1) as i32, (p.b - p.t) / ly.len().max(1) as i32);
    for (yi, row) in cheapest.iter().enumerate() {
        // First y value at the bottom, as on a normal y axis.
        let y0 = p.b - ch * (yi as i32 + 1);
        for (xi, cell) in row.iter().enumerate() {
            let x0 = p.l + cw * xi as i32;
            let c = cell.map_or(none, |(s, _)| color(s));
            rect(a, (x0, y0), (x0 + cw, y0 + ch), &c)?;
            // The strategy's name (or number) in each cell keeps the map readable in greyscale.
            if let Some((s, v)) = cell {
                let big = cw >= 56 && ch >= 36;
                let name = &sw.strategies[*s];
                let label = if width(a, name, 13.0)? <= cw - 8 { name.clone() } else { format!("{}", s + 1) };
                let mid = (x0 + cw / 2, y0 + ch / 2);
                if cw >= 14 && ch >= 14 {
                    text(a, &label, (mid.0, mid.1 - if big { 8 } else { 0 }), 13.0, CC, &ink_on(&c))?;
                }
                if big {
                    text(a, &money(*v), (mid.0, mid.1 + 9), 12.0, CC, &ink_on(&c))?;
                }
            }
        }
    }
    // Thin out tick labels so they never collide.
    let step_x = ((lx.iter().map(|l| l.len()).max().unwrap_or(1) as i32 * 9 + 10) / cw.max(1) + 1) as usize;
    for (i, l) in lx.iter().enumerate().step_by(step_x) {
        text(a, l, (p.l + cw * i as i32 + cw / 2, p.b + 6), 13.0, CT, &DARK)?;
    }
    let step_y = (18 / ch.max(1) + 1) as usize;
    for (i, l) in ly.iter().enumerate().step_by(step_y) {
        text(a, l, (p.l - 6, p.b - ch * i as i32 - ch / 2), 13.0, RC, &DARK)?;
    }
    text(a, &sw.axes[0], ((p.l + p.r) / 2, p.b + 28), 15.0, CT, &DARK)?;
    let style = font(15.0, false).color(&DARK).pos(Pos::new(CT.0, CT.1)).transform(FontTransform::Rotate270);
    a.draw_text(&sw.axes[1], &style, (p.l - yw - 34, (p.t + p.b) / 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    const LONG: &str = "fanout_with_critic_v2";

    /// Three strategies, the last a human team (no model cost) at ~100x the agents' cost.
    fn summary_csv(replications: u32) -> String {
        let mut s = String::from("strategy,metric,mean,std,ci95_low,ci95_high,replications\n");
        let rows = [
            ("pipeline", [0.12, 0.02, 0.03, 0.01, 0.0], 0.04, 0.8, 90.0),
            (LONG, [0.3, 0.05, 0.1, 0.02, 0.0], 0.15, 0.9, 60.0),
            ("human team", [0.0, 0.0, 0.0, 0.0, 45.0], 2.0, 0.95, 7200.0),
        ];
        for (name, parts, wasted, ok, p50) in rows {
            let (n, per_task) = (100.0, parts.iter().sum::<f64>());
            let mut metrics = vec![
                ("tasks", n),
                ("correct", ok * n),
                ("wrong", (1.0 - ok) * n * 0.6),
                ("failed", (1.0 - ok) * n * 0.3),
                ("escalated", (1.0 - ok) * n * 0.1),
                ("cost_usd", per_task * n),
                ("wasted_cost_usd", wasted * n),
                ("cost_per_task_usd", per_task),
                ("cost_per_success_usd", per_task / ok),
                ("latency_p50_s", p50),
                ("latency_p95_s", p50 * 3.0),
                ("latency_p99_s", p50 * 5.0),
                ("latency_mean_s", p50 * 1.3),
            ];
            for (m, v) in PARTS.iter().zip(parts) {
                metrics.push((m.0, v * n));
            }
            for (m, v) in metrics {
                let (sd, lo, hi) = if replications > 1 { (v * 0.05, v * 0.9, v * 1.1) } else { (f64::NAN, f64::NAN, f64::NAN) };
                writeln!(s, "{name},{m},{v},{sd},{lo},{hi},{replications}").unwrap();
            }
        }
        s
    }

    /// One axis: pipeline's cost rises through fanout's flat line at exactly 5000.
    fn sweep1_csv() -> String {
        let mut s = String::from("point,strategies.pipeline.handoff_tokens,strategy,metric,mean,std,ci95_low,ci95_high,replications\n");
        for (p, x) in [0.0, 2000.0, 4000.0, 8000.0].iter().enumerate() {
            for (name, v) in [("pipeline", 0.2 + 0.00005 * x), ("fanout", 0.45), ("solo", f64::INFINITY)] {
                writeln!(s, "{p},{x},{name},cost_per_success_usd,{v},0.01,{},{},3", v * 0.95, v * 1.05).unwrap();
                writeln!(s, "{p},{x},{name},tasks,10,0,10,10,3").unwrap();
            }
        }
        s
    }

    fn sweep2_csv() -> String {
        let mut s =
            String::from("point,agents.writer.error_rate,models.m1.price_in,strategy,metric,mean,std,ci95_low,ci95_high,replications\n");
        let mut p = 0;
        for e in [0.05, 0.1, 0.2] {
            for price in [1.0, 5.0] {
                for (name, v) in [("pipeline", e * 10.0 + price * 0.1), ("fanout", 0.5 + price * 0.05)] {
                    writeln!(s, "{p},{e},{price},{name},cost_per_success_usd,{v},0,{v},{v},3").unwrap();
                }
                p += 1;
            }
        }
        s
    }

    fn fixture(files: &[(&str, String)]) -> tempfile::TempDir {
        let dir = tempfile::TempDir::new().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    fn assert_png(path: &Path) {
        let b = std::fs::read(path).unwrap();
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{path:?}");
        assert_eq!(&b[12..16], b"IHDR");
        let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        assert_eq!((be(16), be(20)), (W, H), "{path:?}");
    }

    fn svg(dir: &Path, name: &str, must: &[&str]) -> String {
        let text = std::fs::read_to_string(dir.join("charts").join(format!("{name}.svg"))).unwrap();
        assert!(text.starts_with("<svg") || text.starts_with("<?xml"), "{name}");
        assert!(text.trim_end().ends_with("</svg>"), "{name}");
        for m in must {
            assert!(text.contains(m), "{name}.svg lacks {m:?}");
        }
        text
    }

    fn names(written: &[PathBuf]) -> Vec<String> {
        written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn run_dir_gets_four_charts_with_titles_labels_and_names() {
        let dir = fixture(&[("summary.csv", summary_csv(5))]);
        let written = render_dir(dir.path()).unwrap();
        let mut expected: Vec<String> = ["cost_breakdown", "cost_per_result", "latency", "outcomes"]
            .iter()
            .flat_map(|n| [format!("{n}.png"), format!("{n}.svg")])
            .collect();
        expected.sort();
        assert_eq!(names(&written), expected);
        for p in written.iter().filter(|p| p.extension().is_some_and(|e| e == "png")) {
            assert_png(p);
        }
        let strategies = ["pipeline", LONG, "human team"];
        let d = dir.path();
        let cost = svg(d, "cost_per_result", &["Cost per task and per correct result", "log scale", "95% CI"]);
        assert!(cost.contains("human team: $47.37 per correct result"), "human reference line label");
        svg(d, "cost_breakdown", &["Mean cost per task by component", "USD per task", "wasted: 22%", "bar cut"]);
        svg(d, "latency", &["Latency percentiles by strategy", "latency (log scale)", "1 min"]);
        svg(d, "outcomes", &["Task outcomes by strategy", "share of tasks (%)", "escalated to people", "80%"]);
        for chart in ["cost_per_result", "cost_breakdown", "latency", "outcomes"] {
            svg(d, chart, &strategies);
        }
        // No temp files are left behind.
        assert_eq!(std::fs::read_dir(d.join("charts")).unwrap().count(), 8);
    }

    #[test]
    fn rendering_twice_gives_identical_bytes() {
        let dir = fixture(&[("summary.csv", summary_csv(5)), ("sweep.csv", sweep1_csv())]);
        let read_all = |w: &[PathBuf]| w.iter().map(|p| std::fs::read(p).unwrap()).collect::<Vec<_>>();
        let first = render_dir(dir.path()).unwrap();
        let bytes = read_all(&first);
        let second = render_dir(dir.path()).unwrap();
        assert_eq!(first, second);
        assert_eq!(bytes, read_all(&second));
        assert_eq!(first.len(), 10);
    }

    #[test]
    fn one_replication_and_no_correct_result_are_drawn_without_whiskers() {
        let csv: String = summary_csv(1)
            .lines()
            .map(|l| {
                if l.starts_with("pipeline,cost_per_success_usd,") {
                    "pipeline,cost_per_success_usd,inf,NaN,NaN,NaN,1\n".into()
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        let dir = fixture(&[("summary.csv", csv)]);
        render_dir(dir.path()).unwrap();
        let text = svg(dir.path(), "cost_per_result", &["no correct result"]);
        assert!(!text.contains("95% CI"));
    }

    #[test]
    fn task_log_gives_an_ecdf_with_manifest_deadlines() {
        let mut tasks = String::from(
            "replication,strategy,task,class,business_unit,arrival_s,finish_s,latency_s,outcome,cost_usd,tokens_in,tokens_out,attempts,reworks,root_cause\n",
        );
        for (k, name) in ["pipeline", LONG, "human team"].iter().enumerate() {
            for t in 0..50 {
                let lat = (t as f64 + 1.0) * 10f64.powi(k as i32 + 1);
                writeln!(tasks, "0,{name},{t},report,bu,0,{lat},{lat},correct,0.1,1,1,1,0,").unwrap();
            }
        }
        let manifest = r#"{"scenario":{"workload":{"classes":[{"id":"report","deadline_s":3600},{"id":"x"}]}}}"#;
        let dir = fixture(&[("summary.csv", summary_csv(5)), ("tasks.csv", tasks), ("manifest.json", manifest.into())]);
        render_dir(dir.path()).unwrap();
        svg(dir.path(), "latency", &["Latency distribution", "deadline 1 h (report)", "tasks finished (cumulative %)", LONG]);
    }

    #[test]
    fn one_axis_sweep_marks_the_break_even_point() {
        let dir = fixture(&[("sweep.csv", sweep1_csv())]);
        let written = render_dir(dir.path()).unwrap();
        assert_eq!(names(&written), ["sweep_cost_per_success.png", "sweep_cost_per_success.svg"]);
        assert_png(&written[0]);
        let must = [
            "Cost per correct result across the sweep",
            "strategies.pipeline.handoff_tokens",
            "USD per correct result",
            "≈ 5000",
            "pipeline",
            "fanout",
            "solo",
        ];
        svg(dir.path(), "sweep_cost_per_success", &must);
    }

    #[test]
    fn two_axis_sweep_gives_a_cheapest_strategy_map() {
        let dir = fixture(&[("sweep.csv", sweep2_csv())]);
        let written = render_dir(dir.path()).unwrap();
        assert_eq!(names(&written), ["sweep_cheapest.png", "sweep_cheapest.svg"]);
        assert_png(&written[0]);
        svg(
            dir.path(),
            "sweep_cheapest",
            &["Cheapest strategy", "agents.writer.error_rate", "models.m1.price_in", "1 pipeline", "2 fanout"],
        );
    }

    #[test]
    fn missing_or_broken_inputs_are_errors_not_panics() {
        let dir = fixture(&[]);
        assert!(matches!(render_dir(dir.path()), Err(ChartError::NoData { .. })));
        let dir = fixture(&[("summary.csv", "strategy,metric,mean\n".into())]);
        let err = render_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("summary.csv: missing column `ci95_low`"), "{err}");
        let bad = summary_csv(5).replacen(",100,", ",lots,", 1);
        let dir = fixture(&[("summary.csv", bad)]);
        let err = render_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("summary.csv:2: column `mean` = \"lots\""), "{err}");
        let dir = fixture(&[("summary.csv", summary_csv(5)), ("manifest.json", "{".into())]);
        assert!(matches!(render_dir(dir.path()), Err(ChartError::Json { .. })));
    }

    #[test]
    fn crossings_interpolate_between_adjacent_points() {
        let xs = [0.0, 1.0, 2.0, 3.0];
        let got = crossings(&xs, &[0.0, 1.0, 2.0, 3.0], &[1.5, 1.5, 1.5, 1.5]);
        assert_eq!(got, vec![(1.5, 1.5)]);
        assert_eq!(crossings(&xs, &[1.0, 2.0, 1.0, 0.0], &[1.0, 1.0, 1.0, 1.0]).len(), 2);
        assert!(crossings(&xs, &[1.0, f64::INFINITY, 3.0, 4.0], &[2.0, 2.0, 2.0, 2.0]).is_empty());
    }

    #[test]
    fn numbers_format_for_budget_readers() {
        assert_eq!([usd(0.01), usd(0.2), usd(5.0), usd(1200.0), usd(2.5e6)], ["$0.01", "$0.20", "$5", "$1.2k", "$2.5M"]);
        assert_eq!([money(0.1), money(0.0023), money(47.4), money(450.0)], ["$0.10", "$0.0023", "$47.40", "$450"]);
        assert_eq!([dur(30.0), dur(600.0), dur(7200.0)], ["30 s", "10 min", "2 h"]);
    }
}
