//! The streaming text masker: log lines from any [`Read`] to any [`Write`], one line at a time.

use std::io::{BufRead, BufReader, BufWriter, ErrorKind, Read, Write};

use crate::masker::ReportEntry;
use crate::{Error, Masker, Result, StreamLimits, StreamStats};

impl Masker {
    /// Masks text (log lines) from `input` to `output` as [`Masker::mask_text`] does (detectors
    /// and named values), a line at a time, so
    /// memory is bounded by `limits` (a line longer than `max_token_bytes` fails with
    /// [`Error::TooLarge`]). A line opening a PEM private-key block is held with the following
    /// lines until the block's END line (or the end of the input), so the whole block is masked.
    ///
    /// Same error contract as [`Masker::mask_json_stream`]: text that is not UTF-8 fails with
    /// [`Error::Malformed`] and its absolute byte offset, and whatever `output` received must
    /// then be discarded.
    ///
    /// ```
    /// use palisade_mask::{Masker, StreamLimits};
    /// let mut out = Vec::new();
    /// let input = "login jo@example.com\nok\n".as_bytes();
    /// Masker::builtin().mask_text_stream(input, &mut out, &StreamLimits::default(), |_| {})?;
    /// assert_eq!(out, b"login [REDACTED:email]\nok\n");
    /// # Ok::<(), palisade_mask::Error>(())
    /// ```
    pub fn mask_text_stream<R: Read, W: Write>(
        &self,
        input: R,
        output: W,
        limits: &StreamLimits,
        mut on_masked: impl FnMut(ReportEntry),
    ) -> Result<StreamStats> {
        limits.check()?;
        let mut reader = BufReader::with_capacity(limits.buffer_bytes, input);
        let mut writer = BufWriter::with_capacity(limits.buffer_bytes, output);
        let mut held: Vec<u8> = Vec::new();
        let mut held_start = 0usize;
        let mut stats = StreamStats::default();
        loop {
            let before = held.len();
            let eof = read_line(&mut reader, &mut held, limits.max_token_bytes, held_start)?;
            stats.bytes_in += (held.len() - before) as u64;
            if held.is_empty() && eof {
                break;
            }
            let text = std::str::from_utf8(&held).map_err(|e| Error::Malformed {
                offset: held_start + e.valid_up_to(),
                reason: "input is not UTF-8 text",
            })?;
            if !eof && inside_private_key(text) {
                continue;
            }
            let mut p = || "$".to_owned();
            let mut count = |e: ReportEntry| {
                stats.masked += 1;
                on_masked(e);
            };
            let masked = self.mask_line(text, &mut p, &mut count);
            let bytes = masked.as_ref().map_or(held.as_slice(), |m| m.as_bytes());
            writer.write_all(bytes).map_err(|e| Error::Io(e.to_string()))?;
            stats.bytes_out += bytes.len() as u64;
            held_start += held.len();
            held.clear();
            if eof {
                break;
            }
        }
        writer.flush().map_err(|e| Error::Io(e.to_string()))?;
        stats.peak_buffered_bytes = reader.capacity() + writer.capacity() + held.capacity();
        Ok(stats)
    }
}

/// Appends one line (with its `\n`) to `held`; returns whether the input ended.
fn read_line(reader: &mut impl BufRead, held: &mut Vec<u8>, max: usize, start: usize) -> Result<bool> {
    loop {
        let buf = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Read { offset: start + held.len(), message: e.to_string() }),
        };
        if buf.is_empty() {
            return Ok(true);
        }
        let (n, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        held.extend_from_slice(buf.get(..n).unwrap_or(&[]));
        reader.consume(n);
        if held.len() > max {
            return Err(Error::TooLarge { offset: start, limit: max });
        }
        if done {
            return Ok(false);
        }
    }
}

/// Whether `text` ends inside a PEM private-key block (a BEGIN line without its END yet).
fn inside_private_key(text: &str) -> bool {
    let Some(begin) = text.rfind("-----BEGIN ") else { return false };
    let tail = text.get(begin + 11..).unwrap_or("");
    let Some(label_end) = tail.find("-----") else { return false };
    tail.get(..label_end).is_some_and(|label| label.ends_with("PRIVATE KEY"))
        && !tail.get(label_end + 5..).unwrap_or("").contains("-----END ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn run(input: &[u8], limits: &StreamLimits) -> Result<(String, u64)> {
        let mut out = Vec::new();
        let stats = Masker::builtin().mask_text_stream(input, &mut out, limits, |_| {})?;
        Ok((String::from_utf8(out).unwrap(), stats.masked))
    }

    #[test]
    fn lines_and_pem_blocks() {
        let limits = StreamLimits { buffer_bytes: 64, max_token_bytes: 4096 };
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END RSA PRIVATE KEY-----\n";
        let input = format!("a jo@example.com\n{key}tail 4111 1111 1111 1111\nno newline");
        let (out, masked) = run(input.as_bytes(), &limits).unwrap();
        assert_eq!(out, "a [REDACTED:email]\n[REDACTED:pem_private_key]\ntail [REDACTED:card]\nno newline");
        assert_eq!(masked, 3);
        // Unterminated block: masked to the end.
        let (out, _) = run(b"x\n-----BEGIN PRIVATE KEY-----\nMIIB\nAAAA\n", &limits).unwrap();
        assert_eq!(out, "x\n[REDACTED:pem_private_key]");
        // Public material is left alone.
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        assert_eq!(run(cert.as_bytes(), &limits).unwrap().0, cert);
    }

    #[test]
    fn errors_have_offsets() {
        let limits = StreamLimits { buffer_bytes: 64, max_token_bytes: 100 };
        assert_eq!(
            run(b"ok\nb\xffad\n", &limits).unwrap_err(),
            Error::Malformed { offset: 4, reason: "input is not UTF-8 text" }
        );
        let long = format!("ok\n{}\n", "x".repeat(200));
        assert_eq!(run(long.as_bytes(), &limits).unwrap_err(), Error::TooLarge { offset: 3, limit: 100 });
    }
}
