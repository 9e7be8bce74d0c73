//! QR codes of a key URI, as PNG and SVG, for the enrollment screen.
//!
//! Error correction level M, a 4-module quiet zone. The image encodes the secret, so it comes
//! back in a secret holder: serve it once, with `Cache-Control: no-store`, and do not log it.
//!
//! ```
//! use palisade_totp::qr;
//! let png = qr::png("otpauth://totp/ACME:alice?secret=JBSWY3DPEHPK3PXP&issuer=ACME", 4)?;
//! assert!(png.expose_secret().starts_with(b"\x89PNG\r\n\x1a\n"));
//! let svg = qr::svg("otpauth://totp/ACME:alice?secret=JBSWY3DPEHPK3PXP&issuer=ACME")?;
//! assert!(svg.expose_secret().contains("<svg"));
//! # Ok::<(), palisade_totp::Error>(())
//! ```

use palisade_core::{SecretBytes, SecretString};
use qrcode::{Color, EcLevel, QrCode};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Modules of white border around the code, as the QR specification asks.
pub const QUIET_ZONE: usize = 4;

/// The largest pixels-per-module accepted by [`png()`].
pub const MAX_SCALE: u32 = 32;

fn code(data: &str) -> Result<QrCode> {
    QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).map_err(|e| Error::Qr(e.to_string()))
}

/// A greyscale PNG of `data` with `scale` pixels per module (1 to [`MAX_SCALE`]; 6 to 8 suits a
/// phone camera on a laptop screen).
pub fn png(data: &str, scale: u32) -> Result<SecretBytes> {
    if scale == 0 || scale > MAX_SCALE {
        return Err(Error::InvalidParameter(format!(
            "QR scale {scale}: use 1 to {MAX_SCALE} pixels per module"
        )));
    }
    let code = code(data)?;
    let modules = code.width();
    let colors = code.to_colors();
    let scale = usize::try_from(scale).map_err(|_| Error::Qr("scale too large".to_owned()))?;
    let side_modules = modules + 2 * QUIET_ZONE;
    let side = side_modules * scale;
    let mut pixels = Zeroizing::new(vec![0xffu8; side * side]);
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules + QUIET_ZONE, i / modules + QUIET_ZONE);
        for y in my * scale..(my + 1) * scale {
            if let Some(row) = pixels.get_mut(y * side + mx * scale..y * side + (mx + 1) * scale) {
                row.fill(0);
            }
        }
    }
    let side32 = u32::try_from(side).map_err(|_| Error::Qr("image too large".to_owned()))?;
    let mut out = Zeroizing::new(Vec::new());
    {
        let mut encoder = ::png::Encoder::new(&mut *out, side32, side32);
        encoder.set_color(::png::ColorType::Grayscale);
        encoder.set_depth(::png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| Error::Qr(e.to_string()))?;
        writer.write_image_data(&pixels).map_err(|e| Error::Qr(e.to_string()))?;
        writer.finish().map_err(|e| Error::Qr(e.to_string()))?;
    }
    Ok(SecretBytes::from(out))
}

/// An SVG document of `data`, at least 256 × 256 units, black on white.
pub fn svg(data: &str) -> Result<SecretString> {
    let code = code(data)?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    Ok(SecretString::new(svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_long_data_is_an_error_not_a_panic() {
        let long = "A".repeat(8000);
        assert!(matches!(png(&long, 4), Err(Error::Qr(_))));
        assert!(matches!(svg(&long), Err(Error::Qr(_))));
        assert!(png("x", 0).is_err());
        assert!(png("x", MAX_SCALE + 1).is_err());
    }
}
