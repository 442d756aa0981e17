//! Chart inputs: the CSV files and manifest of a run or sweep folder, read into plain rows.

use super::ChartError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One (mean, 95% CI) triple; NaN where absent.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stat {
    pub(super) mean: f64,
    pub(super) lo: f64,
    pub(super) hi: f64,
}

pub(super) const NA: Stat = Stat { mean: f64::NAN, lo: f64::NAN, hi: f64::NAN };

#[derive(Clone, Debug)]
pub(super) struct StrategyRow {
    pub(super) name: String,
    pub(super) metrics: BTreeMap<String, Stat>,
}

impl StrategyRow {
    pub(super) fn get(&self, metric: &str) -> Stat {
        self.metrics.get(metric).copied().unwrap_or(NA)
    }
    pub(super) fn mean(&self, metric: &str) -> f64 {
        self.get(metric).mean
    }
    pub(super) fn is_human(&self) -> bool {
        self.mean("model_cost_usd") == 0.0 && self.mean("human_cost_usd") > 0.0
    }
}

#[derive(Debug)]
pub(super) struct Sweep {
    pub(super) axes: Vec<String>,
    /// Axis values (as written) of each point, in order of first appearance.
    pub(super) points: Vec<Vec<String>>,
    pub(super) strategies: Vec<String>,
    /// The charted metric.
    pub(super) metric: String,
    /// The charted metric by (point index, strategy index).
    pub(super) values: BTreeMap<(usize, usize), Stat>,
}

pub(super) fn io_err(path: &Path, source: std::io::Error) -> ChartError {
    ChartError::Io { path: path.to_path_buf(), source }
}

/// A CSV file opened with its header resolved to column indices.
pub(super) struct Table {
    pub(super) file: PathBuf,
    pub(super) headers: Vec<String>,
    pub(super) reader: csv::Reader<std::fs::File>,
}

impl Table {
    /// Opens `file`, or returns `None` if it does not exist.
    pub(super) fn open(file: &Path) -> Result<Option<Table>, ChartError> {
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
    pub(super) fn col(&self, name: &str) -> Result<usize, ChartError> {
        self.headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| ChartError::MissingColumn { file: self.file.clone(), column: name.to_string() })
    }
    pub(super) fn rows(&mut self) -> Result<Vec<csv::StringRecord>, ChartError> {
        let file = self.file.clone();
        self.reader.records().collect::<Result<_, _>>().map_err(|source| ChartError::Csv { file, source })
    }
    /// Parses a numeric cell; empty means NaN; `inf`, `NaN` and `nan` are accepted.
    pub(super) fn num(&self, row: &csv::StringRecord, col: usize) -> Result<f64, ChartError> {
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
    pub(super) fn stat(&self, row: &csv::StringRecord, c: [usize; 3]) -> Result<Stat, ChartError> {
        Ok(Stat { mean: self.num(row, c[0])?, lo: self.num(row, c[1])?, hi: self.num(row, c[2])? })
    }
}

pub(super) fn index_of(list: &mut Vec<String>, name: &str) -> usize {
    list.iter().position(|s| s == name).unwrap_or_else(|| {
        list.push(name.to_string());
        list.len() - 1
    })
}

pub(super) fn read_summary(file: &Path) -> Result<Option<Vec<StrategyRow>>, ChartError> {
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

pub(super) fn read_sweep(file: &Path, metric: &str) -> Result<Option<Sweep>, ChartError> {
    let Some(mut t) = Table::open(file)? else {
        return Ok(None);
    };
    let (cp, cs, cm) = (t.col("point")?, t.col("strategy")?, t.col("metric")?);
    let c = [t.col("mean")?, t.col("ci95_low")?, t.col("ci95_high")?];
    let axes: Vec<String> = t.headers.get(cp + 1..cs).unwrap_or(&[]).to_vec();
    let mut sw = Sweep { axes, points: Vec::new(), strategies: Vec::new(), metric: metric.to_string(), values: BTreeMap::new() };
    let mut ids: Vec<String> = Vec::new();
    for row in t.rows()? {
        let id = row.get(cp).unwrap_or("");
        let p = index_of(&mut ids, id);
        if p == sw.points.len() {
            sw.points.push((cp + 1..cs).map(|i| row.get(i).unwrap_or("").trim().to_string()).collect());
        }
        let s = index_of(&mut sw.strategies, row.get(cs).unwrap_or(""));
        if row.get(cm).map(str::trim) == Some(metric) {
            sw.values.insert((p, s), t.stat(&row, c)?);
        }
    }
    Ok(if sw.points.is_empty() { None } else { Some(sw) })
}

/// Latencies per strategy (summary order first, then any others in file order).
pub(super) type Latencies = Vec<(String, Vec<f64>)>;

pub(super) fn read_latencies(file: &Path, names: &[String]) -> Result<Option<Latencies>, ChartError> {
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
pub(super) fn read_deadlines(file: &Path) -> Result<Vec<(f64, String)>, ChartError> {
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
