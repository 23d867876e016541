//! Charts and the enrolment QR code as SVG, drawn on the server: no script, no inline
//! style (presentation attributes and the stylesheet's classes only), every label escaped.
//! Every SVG element is closed explicitly (`{}`): in an HTML page, SVG is foreign content,
//! where `<line>` without `/>` or `</line>` would swallow what follows it.

use maud::{Markup, html};
use mlguard_vault::VaultError;

/// Activity per hour: `(hour, allowed, refused)`, refused stacked on allowed in red.
pub(crate) fn hourly(hours: &[(String, u64, u64)]) -> Markup {
    let (w, h, left, bottom) = (720.0, 180.0, 40.0, 40.0);
    let top = hours.iter().map(|(_, a, r)| a + r).max().unwrap_or(1).max(1) as f64;
    let slot = (w - left) / hours.len().max(1) as f64;
    let bar = (slot * 0.8).clamp(1.0, 40.0);
    let y = |n: f64| (h - bottom) * (1.0 - n / top);
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {w} {h}")) role="img" aria-label="Audit entries per hour" {
            line x1=(left) y1=(h - bottom) x2=(w) y2=(h - bottom) stroke="#888" {}
            text x="2" y="12" font-size="11" { (top as u64) }
            text x="2" y=(h - bottom) font-size="11" { "0" }
            @for (i, (hour, allowed, refused)) in hours.iter().enumerate() {
                @let x = left + i as f64 * slot;
                @let total = (allowed + refused) as f64;
                rect.allowed x=(fmt(x)) y=(fmt(y(total))) width=(fmt(bar)) height=(fmt(y(*refused as f64) - y(total))) fill="#4a7fb5" {
                    title { (hour) ":00 — " (allowed) " allowed, " (refused) " denied or failed" }
                }
                @if *refused > 0 {
                    rect.refused x=(fmt(x)) y=(fmt(y(*refused as f64))) width=(fmt(bar)) height=(fmt(h - bottom - y(*refused as f64))) fill="#c0392b" {
                        title { (hour) ":00 — " (refused) " denied or failed" }
                    }
                }
                @if i % (hours.len() / 8).max(1) == 0 {
                    text x=(fmt(x)) y=(h - bottom + 14.0) font-size="10" { (hour.get(5..).unwrap_or(hour)) "h" }
                }
            }
        }
    }
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// A curve on the unit square (ROC, calibration), with the diagonal when asked.
pub(crate) fn curve(
    label: &str,
    x_label: &str,
    y_label: &str,
    points: &[(f64, f64)],
    diagonal: bool,
) -> Markup {
    let (size, pad) = (300.0, 40.0);
    let side = size - 2.0 * pad;
    let at = |(x, y): (f64, f64)| {
        (pad + x.clamp(0.0, 1.0) * side, size - pad - y.clamp(0.0, 1.0) * side)
    };
    let path: Vec<String> = points
        .iter()
        .map(|p| {
            let (x, y) = at(*p);
            format!("{},{}", fmt(x), fmt(y))
        })
        .collect();
    html! {
        svg.chart.square xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {size} {size}")) role="img" aria-label=(label) {
            rect x=(pad) y=(pad) width=(side) height=(side) fill="none" stroke="#888" {}
            @if diagonal {
                line x1=(pad) y1=(size - pad) x2=(size - pad) y2=(pad) stroke="#bbb" stroke-dasharray="4 4" {}
            }
            polyline points=(path.join(" ")) fill="none" stroke="#4a7fb5" stroke-width="2" {}
            text x=(size / 2.0) y=(size - 8.0) font-size="11" text-anchor="middle" { (x_label) }
            text x="12" y=(size / 2.0) font-size="11" text-anchor="middle" transform=(format!("rotate(-90 12 {})", size / 2.0)) { (y_label) }
        }
    }
}

/// `text` (an otpauth URI) as a QR code.
pub(crate) fn qr(text: &str) -> Result<Markup, VaultError> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| VaultError::Internal(format!("the QR code: {e}")))?;
    let width = code.width();
    let colors = code.to_colors();
    let quiet = 4;
    let side = width + 2 * quiet;
    let mut path = String::new();
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            path.push_str(&format!("M{},{}h1v1h-1z", i % width + quiet, i / width + quiet));
        }
    }
    Ok(html! {
        svg.qr xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {side} {side}")) width="240" height="240" role="img" aria-label="TOTP enrolment QR code" shape-rendering="crispEdges" {
            rect width=(side) height=(side) fill="#fff" {}
            path d=(path) fill="#000" {}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_shapes_scale() {
        let hours = vec![("2026-12-07T09".to_owned(), 3, 1), ("<b>".to_owned(), 0, 2)];
        let svg = hourly(&hours).into_string();
        assert!(!svg.contains("<b>") && svg.contains("&lt;b&gt;"), "{svg}");
        assert_eq!(svg.matches("<rect class=\"refused\"").count(), 2);
        let c = curve("ROC", "x", "<y>", &[(0.0, 0.0), (0.5, 0.9), (1.0, 1.0)], true).into_string();
        assert!(c.contains("&lt;y&gt;") && c.contains("polyline"));
        // Closed, so the next element is not its child.
        assert!(svg.contains("</line><text") && c.contains("</polyline>"), "{svg}");
        assert!(c.contains("points=\"40.0,260.0 150.0,62.0 260.0,40.0\""), "{c}");
    }

    #[test]
    fn the_qr_code_draws_dark_modules() {
        let svg = qr("otpauth://totp/mlguard:a?secret=ABC").expect("qr").into_string();
        assert!(svg.starts_with("<svg") && svg.matches('M').count() > 50);
    }
}
