//! The generated QR PNG decodes (with `rqrr`, an independent decoder) back to the key URI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use palisade_totp::{KeyUri, TotpParams, qr, secret};

fn decode_png(bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    let (_meta, content) = grids[0].decode().unwrap();
    content
}

#[test]
fn png_decodes_back_to_the_uri() {
    let key = secret::generate().unwrap();
    for (issuer, account) in
        [("Acme Integrations", "alice@acme.example"), ("Ünïcode & Co", "bob+ops@x.example")]
    {
        let uri = KeyUri::new(issuer, account, TotpParams::default()).unwrap().to_uri(&key);
        for scale in [2, 6] {
            let png = qr::png(uri.expose_secret(), scale).unwrap();
            let decoded = decode_png(png.expose_secret());
            assert_eq!(decoded, uri.expose_secret());
            let (parsed, k) = KeyUri::parse(&decoded).unwrap();
            assert_eq!(parsed.issuer.as_deref(), Some(issuer));
            assert_eq!(parsed.account, account);
            assert_eq!(k, key);
        }
    }
}

#[test]
fn svg_is_a_standalone_document_with_modules() {
    let key = secret::generate().unwrap();
    let uri = KeyUri::new("Acme", "alice", TotpParams::default()).unwrap().to_uri(&key);
    let svg = qr::svg(uri.expose_secret()).unwrap();
    let s = svg.expose_secret();
    assert!(s.starts_with("<?xml"), "{}", &s[..40]);
    assert!(s.contains("<svg") && s.contains("</svg>"));
    assert!(s.contains("#000000") && s.contains("<path"));
}
