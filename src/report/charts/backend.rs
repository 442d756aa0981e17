//! A drawing-backend adaptor that gives the SVG and the PNG of a chart one text layout, and
//! the PNG crisp text at a higher pixel density.
//!
//! plotters' own bitmap text drops each glyph's left side bearing and rounds every pen
//! position down to a whole pixel: digits then sit unevenly and a decimal point hugs the
//! digit before it ("$0.010" reads as "$0 010"). It also sizes text by the font's
//! ascent-to-descent height while the SVG backend sizes it by the em. Here:
//! - every chart is laid out in logical pixels (`W` x `H`); the PNG is drawn `k` times
//!   larger (all coordinates, stroke widths and radii scaled), so it has `k`x the density;
//! - text is measured with the embedded DejaVu font's advances and kerning at the same em
//!   size the SVG backend writes (`size / 1.24`), so both outputs agree on what fits;
//! - PNG text is rasterised glyph by glyph at sub-pixel pen positions with their bearings.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind, FontStyle};

/// Em size in pixels of a plotters text size: what plotters' SVG backend writes as
/// `font-size`, so that SVG and PNG text have the same size.
pub(super) fn em(size: f64) -> f32 {
    (size / 1.24) as f32
}

/// The embedded DejaVu Sans, regular and bold.
fn fonts() -> Result<&'static [FontRef<'static>; 2], ab_glyph::InvalidFont> {
    static FONTS: std::sync::OnceLock<Option<[FontRef<'static>; 2]>> = std::sync::OnceLock::new();
    FONTS
        .get_or_init(|| {
            let regular = FontRef::try_from_slice(dejavu::sans::regular()).ok()?;
            let bold = FontRef::try_from_slice(dejavu::sans::bold()).ok()?;
            Some([regular, bold])
        })
        .as_ref()
        .ok_or(ab_glyph::InvalidFont)
}

fn font_for(style: FontStyle) -> Result<&'static FontRef<'static>, ab_glyph::InvalidFont> {
    let [regular, bold] = fonts()?;
    Ok(if matches!(style, FontStyle::Bold) { bold } else { regular })
}

/// ab_glyph scales by ascent-to-descent height; this is the scale whose em is `em_px`.
fn scale_for(font: &FontRef<'_>, em_px: f32) -> PxScale {
    let upem = font.units_per_em().unwrap_or(2048.0);
    PxScale::from(em_px * font.height_unscaled() / upem)
}

/// Width in pixels of `text` at `em_px`, from the font's advances and kerning.
fn advance(font: &FontRef<'_>, em_px: f32, text: &str) -> f32 {
    let sf = font.as_scaled(scale_for(font, em_px));
    let mut x = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let id = sf.glyph_id(c);
        if let Some(p) = prev {
            x += sf.kern(p, id);
        }
        x += sf.h_advance(id);
        prev = Some(id);
    }
    x
}

/// Where the baseline sits below the anchor point, in ems: the SVG backend's `dy` for top
/// (0.76 em); for centre, half the digit and capital height (0.73 em) so that numbers sit
/// centred on their tick; for bottom, DejaVu's descent.
fn baseline(v: VPos) -> f32 {
    match v {
        VPos::Top => 0.76,
        VPos::Center => 0.365,
        VPos::Bottom => -0.24,
    }
}

fn font_err<E: std::error::Error + Send + Sync>(e: ab_glyph::InvalidFont) -> DrawingErrorKind<E> {
    DrawingErrorKind::FontError(Box::new(e))
}

/// A backend drawn in logical pixels and scaled by `k` onto `inner`.
pub(super) struct Crisp<B> {
    inner: B,
    k: i32,
    /// Rasterise text here (bitmap backends) rather than hand it on (SVG).
    raster: bool,
}

impl<B: DrawingBackend> Crisp<B> {
    /// `inner` must be `k` times the logical size in each direction.
    pub(super) fn new(inner: B, k: u32, raster: bool) -> Self {
        Crisp { inner, k: k.max(1) as i32, raster }
    }
    fn at(&self, (x, y): BackendCoord) -> BackendCoord {
        (x * self.k, y * self.k)
    }
}

/// A style whose stroke is `k` times wider.
struct Thick<'a, S>(&'a S, u32);

impl<S: BackendStyle> BackendStyle for Thick<'_, S> {
    fn color(&self) -> BackendColor {
        self.0.color()
    }
    fn stroke_width(&self) -> u32 {
        self.0.stroke_width() * self.1
    }
}

impl<B: DrawingBackend> DrawingBackend for Crisp<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        let (w, h) = self.inner.get_size();
        (w / self.k as u32, h / self.k as u32)
    }
    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }
    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }
    fn draw_pixel(&mut self, p: BackendCoord, color: BackendColor) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let (x, y) = self.at(p);
        self.inner.draw_rect((x, y), (x + self.k - 1, y + self.k - 1), &color, true)
    }
    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let (from, to) = (self.at(from), self.at(to));
        self.inner.draw_line(from, to, &Thick(style, self.k as u32))
    }
    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        // A logical pixel is k device pixels: the inclusive bottom-right corner grows by k-1.
        let (ul, br) = (self.at(upper_left), self.at(bottom_right));
        let br = if fill { (br.0 + self.k - 1, br.1 + self.k - 1) } else { br };
        self.inner.draw_rect(ul, br, &Thick(style, self.k as u32), fill)
    }
    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let pts: Vec<BackendCoord> = path.into_iter().map(|p| self.at(p)).collect();
        self.inner.draw_path(pts, &Thick(style, self.k as u32))
    }
    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let c = self.at(center);
        self.inner.draw_circle(c, radius * self.k as u32, &Thick(style, self.k as u32), fill)
    }
    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let pts: Vec<BackendCoord> = vert.into_iter().map(|p| self.at(p)).collect();
        self.inner.fill_polygon(pts, style)
    }
    fn draw_text<T: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &T,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if !self.raster {
            let pos = self.at(pos);
            return self.inner.draw_text(text, style, pos);
        }
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let font = font_for(style.style()).map_err(font_err)?;
        let em_px = em(style.size()) * self.k as f32;
        let sf = font.as_scaled(scale_for(font, em_px));
        let anchor = style.anchor();
        let w = advance(font, em_px, text);
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -w / 2.0,
            HPos::Right => -w,
        };
        let base = baseline(anchor.v_pos) * em_px;
        let trans = style.transform();
        let origin = self.at(pos);
        let mut pen = dx;
        let mut prev = None;
        for c in text.chars() {
            let id = sf.glyph_id(c);
            if let Some(p) = prev {
                pen += sf.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(sf.scale(), point(pen, base));
            pen += sf.h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let b = outline.px_bounds();
            let mut pixels = Vec::new();
            outline.draw(|x, y, coverage| pixels.push((b.min.x as i32 + x as i32, b.min.y as i32 + y as i32, coverage)));
            for (x, y, coverage) in pixels {
                if coverage <= 0.0 {
                    continue;
                }
                let (tx, ty) = trans.transform(x, y);
                let c = BackendColor { alpha: color.alpha * f64::from(coverage.min(1.0)), rgb: color.rgb };
                self.inner.draw_pixel((origin.0 + tx, origin.1 + ty), c)?;
            }
        }
        Ok(())
    }
    fn estimate_text_size<T: BackendTextStyle>(&self, text: &str, style: &T) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let font = font_for(style.style()).map_err(font_err)?;
        let e = em(style.size());
        Ok((advance(font, e, text).ceil() as u32, e.round() as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_come_from_the_fonts_advances_at_the_svg_em() {
        let font = font_for(FontStyle::Normal).unwrap();
        // DejaVu Sans: every digit advances 1303 units of 2048 per em, the full stop 651.
        let e = em(12.4);
        assert!((e - 10.0).abs() < 1e-6);
        let digits = advance(font, e, "0123456789");
        assert!((digits - 10.0 * 10.0 * 1303.0 / 2048.0).abs() < 0.01, "{digits}");
        let stop = advance(font, e, ".");
        assert!((stop - 10.0 * 651.0 / 2048.0).abs() < 0.01, "{stop}");
    }
}
