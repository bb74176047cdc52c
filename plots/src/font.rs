//! The embedded font: a subset of DejaVu Sans (Latin, punctuation, arrows; 37 KB), registered
//! with plotters' `ab_glyph` text renderer as "sans-serif". PNG text is drawn from it, so no
//! system font or font library is needed. SVG text names the family "sans-serif" and is drawn
//! by the viewer. License: plots/fonts/LICENSE-DejaVu.txt; how the subset was made:
//! plots/fonts/README.md.
use std::sync::Once;

use plotters::style::{register_font, FontStyle};

/// The font file, embedded in the binary.
pub const DEJAVU_SANS_SUBSET: &[u8] = include_bytes!("../fonts/DejaVuSans-subset.ttf");

/// Registers the font once per process (idempotent; called by every render).
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // A font that does not parse is a build defect, caught by the tests; text is then missing
        // from PNGs but the plot is still drawn.
        let _ = register_font("sans-serif", FontStyle::Normal, DEJAVU_SANS_SUBSET);
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_font_parses_and_has_the_glyphs_labels_use() {
        use plotters::style::{FontDesc, FontFamily, FontStyle};
        assert!(plotters::style::register_font("test-sans", FontStyle::Normal, super::DEJAVU_SANS_SUBSET).is_ok());
        let f = FontDesc::new(FontFamily::Name("test-sans"), 20.0, FontStyle::Normal);
        let (w, _) = f.box_size("10.0.0.1:5201 → 10.0.1.1:80 µs").expect("layout");
        assert!(w > 100, "text has width {w}");
    }
}
