//! Shared drawing vocabulary: canvas size, fonts, colours, markers, legends, scales, axes
//! and number formats.

use super::ChartError;
use super::input::*;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::register_font;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub(super) const W: u32 = 1000;
pub(super) const H: u32 = 600;

pub(super) type Area<DB> = DrawingArea<DB, Shift>;
pub(super) type R<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

pub(super) fn ensure_fonts() -> Result<(), ChartError> {
    static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *OK.get_or_init(|| {
        register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if ok { Ok(()) } else { Err(ChartError::Font) }
}

/// Where a text's reference point sits: (horizontal, vertical).
pub(super) type Anchor = (HPos, VPos);
pub(super) const CB: Anchor = (HPos::Center, VPos::Bottom);
pub(super) const CC: Anchor = (HPos::Center, VPos::Center);
pub(super) const CT: Anchor = (HPos::Center, VPos::Top);
pub(super) const LC: Anchor = (HPos::Left, VPos::Center);
pub(super) const LT: Anchor = (HPos::Left, VPos::Top);
pub(super) const RC: Anchor = (HPos::Right, VPos::Center);
pub(super) const RT: Anchor = (HPos::Right, VPos::Top);

// Okabe–Ito, ordered so neighbours also differ in lightness (greyscale printing).
pub(super) const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(213, 94, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];
pub(super) const GRID: RGBColor = RGBColor(225, 225, 225);
pub(super) const DARK: RGBColor = RGBColor(40, 40, 40);
pub(super) const MUTED: RGBColor = RGBColor(110, 110, 110);

pub(super) fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Black or white, whichever reads better on `c`.
pub(super) fn ink_on(c: &RGBColor) -> RGBColor {
    let y = 0.2126 * f64::from(c.0) + 0.7152 * f64::from(c.1) + 0.0722 * f64::from(c.2);
    if y > 120.0 { BLACK } else { WHITE }
}

pub(super) fn font(size: f64, bold: bool) -> TextStyle<'static> {
    let style = if bold { FontStyle::Bold } else { FontStyle::Normal };
    TextStyle::from(FontDesc::new(FontFamily::SansSerif, size, style))
}

pub(super) fn text<DB: DrawingBackend>(a: &Area<DB>, s: &str, at: (i32, i32), size: f64, (h, v): Anchor, c: &RGBColor) -> R<DB> {
    a.draw_text(s, &font(size, false).color(c).pos(Pos::new(h, v)), at)
}

pub(super) fn width<DB: DrawingBackend>(a: &Area<DB>, s: &str, size: f64) -> Result<i32, DrawingAreaErrorKind<DB::ErrorType>> {
    Ok(a.estimate_text_size(s, &font(size, false))?.0 as i32)
}

pub(super) fn line<DB: DrawingBackend>(a: &Area<DB>, pts: Vec<(i32, i32)>, c: &RGBColor, w: u32, dash: u32) -> R<DB> {
    let style = c.stroke_width(w);
    if dash == 0 { a.draw(&PathElement::new(pts, style)) } else { a.draw(&DashedPathElement::new(pts, dash, dash.div_ceil(2) + 2, style)) }
}

pub(super) fn rect<DB: DrawingBackend>(a: &Area<DB>, p0: (i32, i32), p1: (i32, i32), c: &RGBColor) -> R<DB> {
    a.draw(&Rectangle::new([p0, p1], c.filled()))?;
    a.draw(&Rectangle::new([p0, p1], WHITE.stroke_width(1)))
}

/// Marker shapes differ per strategy so lines stay distinguishable in greyscale.
pub(super) fn marker<DB: DrawingBackend>(a: &Area<DB>, (x, y): (i32, i32), kind: usize, c: &RGBColor) -> R<DB> {
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

pub(super) const DASHES: [u32; 4] = [0, 10, 4, 16];

pub(super) enum Swatch {
    Fill(RGBColor),
    Line(RGBColor, u32, Option<usize>),
    Mark(RGBColor, usize),
    Ring,
    /// No symbol: the label heads the items that follow it.
    Caption,
}

/// Title plus a wrapped, centred legend row; returns the y where the plot may start.
pub(super) fn header<DB: DrawingBackend>(
    a: &Area<DB>,
    title: &str,
    items: &[(Swatch, String)],
) -> Result<i32, DrawingAreaErrorKind<DB::ErrorType>> {
    a.draw_text(title, &font(22.0, true).color(&DARK).pos(Pos::new(CT.0, CT.1)), (W as i32 / 2, 12))?;
    let mut rows: Vec<Vec<(usize, i32)>> = vec![Vec::new()];
    let mut used = 0;
    let indent = |s: &Swatch| if matches!(s, Swatch::Caption) { 0 } else { 34 };
    for (i, (swatch, label)) in items.iter().enumerate() {
        let w = indent(swatch) + width(a, label, 14.0)? + 18;
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
                Swatch::Caption => {}
            }
            text(a, label, (x + indent(swatch), y), 14.0, LC, &DARK)?;
            x += w;
        }
        y += 22;
    }
    Ok(y + 4)
}

/// A value scale, linear or log10, from `lo` to `hi`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Scale {
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) log: bool,
}

impl Scale {
    /// Fits the finite values; log10 when positive values span more than two decades.
    pub(super) fn fit(vals: impl IntoIterator<Item = f64>, allow_log: bool, from_zero: bool) -> Scale {
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
    pub(super) fn frac(&self, v: f64) -> f64 {
        let f = if self.log {
            (v.max(self.lo * 1e-3).log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        if f.is_nan() { 0.0 } else { f.clamp(0.0, 1.0) }
    }
    pub(super) fn ticks(&self) -> Vec<f64> {
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
pub(super) struct Plot {
    pub(super) l: i32,
    pub(super) t: i32,
    pub(super) r: i32,
    pub(super) b: i32,
}

impl Plot {
    pub(super) fn x(&self, s: &Scale, v: f64) -> i32 {
        self.l + (s.frac(v) * f64::from(self.r - self.l)).round() as i32
    }
    pub(super) fn y(&self, s: &Scale, v: f64) -> i32 {
        self.b - (s.frac(v) * f64::from(self.b - self.t)).round() as i32
    }
}

/// Rounds to `n` significant digits, dropping trailing zeros.
pub(super) fn sig(x: f64, n: i32) -> String {
    if x == 0.0 || !x.is_finite() {
        return if x == 0.0 { "0".into() } else { format!("{x}") };
    }
    let decimals = (n - 1 - x.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// Compact number with k/M/B suffix: 1234 -> "1.23k".
pub(super) fn num(v: f64) -> String {
    let a = v.abs();
    for (div, suf) in [(1e9, "B"), (1e6, "M"), (1e3, "k")] {
        if a >= div {
            return format!("{}{suf}", sig(v / div, 3));
        }
    }
    sig(v, 3)
}

/// Money ticks: "$0.01", "$0.20", "$5", "$1.2k" (one decimal is padded to cents).
pub(super) fn usd(v: f64) -> String {
    let sign = if v < 0.0 { "-" } else { "" };
    let mut body = num(v.abs());
    if v.abs() < 1000.0 && body.find('.').is_some_and(|i| i + 2 == body.len()) {
        body.push('0');
    }
    format!("{sign}${body}")
}

/// Money for value labels: cents where they matter ("$0.10", "$0.0023", "$47.40", "$1.2k").
pub(super) fn money(v: f64) -> String {
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
pub(super) fn dur(s: f64) -> String {
    match s {
        s if s < 60.0 => format!("{} s", sig(s, 3)),
        s if s < 3600.0 => format!("{} min", sig(s / 60.0, 3)),
        s if s < 86400.0 => format!("{} h", sig(s / 3600.0, 3)),
        s => format!("{} d", sig(s / 86400.0, 3)),
    }
}

/// Round clock values, roughly a decade apart: 1 ms to 100 days.
pub(super) const CLOCK: [f64; 13] =
    [0.001, 0.01, 0.1, 1.0, 10.0, 60.0, 600.0, 3600.0, 36000.0, 86400.0, 864000.0, 2_592_000.0, 8_640_000.0];

/// Ticks for a log-scaled seconds axis at round clock values (1 min, 1 h, not 1000 s).
pub(super) fn time_ticks(sc: &Scale) -> Vec<f64> {
    let inside = |c: &[f64]| c.iter().copied().filter(|v| *v >= sc.lo * 0.999 && *v <= sc.hi * 1.001).collect::<Vec<f64>>();
    let coarse = inside(&CLOCK);
    if coarse.len() >= 4 {
        return coarse;
    }
    inside(&[
        0.001,
        0.002,
        0.005,
        0.01,
        0.02,
        0.05,
        0.1,
        0.2,
        0.5,
        1.0,
        2.0,
        5.0,
        10.0,
        20.0,
        30.0,
        60.0,
        120.0,
        300.0,
        600.0,
        1200.0,
        1800.0,
        3600.0,
        7200.0,
        14400.0,
        28800.0,
        36000.0,
        86400.0,
        172800.0,
        604800.0,
        864000.0,
        2_592_000.0,
        8_640_000.0,
    ])
}

/// Text on an opaque white box, so no line or bar runs through a label.
pub(super) fn boxed<DB: DrawingBackend>(a: &Area<DB>, s: &str, at: (i32, i32), (h, v): Anchor, c: &RGBColor) -> R<DB> {
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
    a.draw(&Rectangle::new([(x0 - 3, y0 - 2), (x0 + w + 3, y0 + ht + 2)], WHITE.filled()))?;
    text(a, s, at, 13.0, (h, v), c)
}

/// Axis ticks in the unit of `metric`: USD for `*_usd`, clock durations for `*_s`,
/// percentages for rates and shares, compact numbers otherwise.
pub(super) fn tick_format(metric: &str) -> fn(f64) -> String {
    if metric.ends_with("_usd") { usd } else { value_format(metric) }
}

/// Value labels in the unit of `metric` (money with its significant cents for `*_usd`).
pub(super) fn value_format(metric: &str) -> fn(f64) -> String {
    if metric.ends_with("_usd") {
        money
    } else if metric.ends_with("_s") {
        |v| if v < 0.0 { format!("-{}", dur(-v)) } else { dur(v) }
    } else if metric.ends_with("_rate") || metric.ends_with("_share") {
        |v| format!("{}%", sig(v * 100.0, 3))
    } else {
        num
    }
}

pub(super) fn pct(v: f64) -> String {
    format!("{}%", sig(v * 100.0, 2))
}

/// Vertical value axis on the left with grid lines and a rotated label.
pub(super) fn y_axis<DB: DrawingBackend>(a: &Area<DB>, p: &Plot, s: &Scale, label: &str, fmt: &dyn Fn(f64) -> String) -> R<DB> {
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
pub(super) fn x_axis<DB: DrawingBackend>(
    a: &Area<DB>,
    p: &Plot,
    s: &Scale,
    ticks: Vec<f64>,
    label: &str,
    fmt: &dyn Fn(f64) -> String,
) -> R<DB> {
    for v in ticks {
        let x = p.x(s, v);
        line(a, vec![(x, p.t), (x, p.b)], &GRID, 1, 0)?;
        text(a, &fmt(v), (x, p.b + 6), 13.0, CT, &DARK)?;
    }
    text(a, label, ((p.l + p.r) / 2, p.b + 28), 15.0, CT, &DARK)?;
    line(a, vec![(p.l, p.b), (p.r, p.b)], &DARK, 1, 0)
}

/// Splits a long name at separators into at most two lines of at most `max` pixels.
pub(super) fn wrap<DB: DrawingBackend>(a: &Area<DB>, s: &str, max: i32) -> Result<Vec<String>, DrawingAreaErrorKind<DB::ErrorType>> {
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
pub(super) fn name_column<DB: DrawingBackend>(a: &Area<DB>, names: &[&str]) -> Result<i32, DrawingAreaErrorKind<DB::ErrorType>> {
    let mut w = 60;
    for n in names {
        w = w.max(width(a, n, 14.0)?);
    }
    Ok(w.min(230) + 16)
}

/// Strategy names centred on each row of a horizontal bar chart.
pub(super) fn row_labels<DB: DrawingBackend>(
    a: &Area<DB>,
    p: &Plot,
    names: &[&str],
    col: i32,
) -> Result<i32, DrawingAreaErrorKind<DB::ErrorType>> {
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

pub(super) fn names(s: &[StrategyRow]) -> Vec<&str> {
    s.iter().map(|r| r.name.as_str()).collect()
}
