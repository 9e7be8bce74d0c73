//! The streaming JSON masker: one pass over the raw bytes, no tree. Memory is the output plus a
//! path stack and the current string; bytes the policy does not touch are copied through
//! unchanged (whitespace included, except around removed members).

use crate::masker::{Action, REDACTED, ReportEntry};
use crate::path::{Seg, render};
use crate::{Error, MAX_DEPTH, Masker, Report, Result};

struct Pass<'a> {
    m: &'a Masker,
    s: &'a [u8],
    i: usize,
    out: &'a mut Vec<u8>,
    path: Vec<Seg>,
    report: Report,
}

type Span = (usize, usize);

fn err<T>(offset: usize, reason: &'static str) -> Result<T> {
    Err(Error::Malformed { offset, reason })
}

impl Masker {
    /// Masks raw JSON bytes in one streaming pass, appending the masked document to `out`.
    ///
    /// On malformed input the error carries the byte offset and `out` is restored to its length
    /// before the call: nothing half-masked is left behind. A whole-step policy parses the input
    /// (to validate it and to keep keys or types) and writes the placeholder.
    pub fn mask_json(&self, input: &[u8], out: &mut Vec<u8>) -> Result<Report> {
        let start = out.len();
        let mut pass = Pass { m: self, s: input, i: 0, out, path: Vec::new(), report: Report::default() };
        let result = pass.document();
        let report = std::mem::take(&mut pass.report);
        match result {
            Ok(()) => {
                if let Some(step) = &self.whole_step_keep() {
                    out.truncate(start);
                    let value: serde_json::Value = serde_json::from_slice(input).map_err(|_| {
                        Error::Malformed { offset: 0, reason: "not representable as a JSON value" }
                    })?;
                    let placeholder = crate::masker::step_placeholder(&value, *step);
                    serde_json::to_writer(&mut *out, &placeholder).map_err(|e| Error::Io(e.to_string()))?;
                    return Ok(Report {
                        masked: vec![ReportEntry { path: "$".into(), rule: "whole_step".into() }],
                    });
                }
                Ok(report)
            }
            Err(e) => {
                out.truncate(start);
                Err(e)
            }
        }
    }
}

impl Pass<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) -> Span {
        let start = self.i;
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
        (start, self.i)
    }

    fn put(&mut self, span: Span) {
        self.out.extend_from_slice(self.s.get(span.0..span.1).unwrap_or(&[]));
    }

    fn document(&mut self) -> Result<()> {
        let lead = self.ws();
        if self.peek().is_none() {
            return err(self.i, "empty input: expected a JSON value");
        }
        self.put(lead);
        self.value(true)?;
        let trail = self.ws();
        if self.i < self.s.len() {
            return err(self.i, "unexpected data after the JSON value");
        }
        self.put(trail);
        Ok(())
    }

    /// Parses one value; when `emit`, writes its masked form.
    fn value(&mut self, emit: bool) -> Result<()> {
        if self.path.len() > MAX_DEPTH {
            return err(self.i, "nesting deeper than 256 levels");
        }
        match self.peek() {
            Some(b'{') => self.object(emit),
            Some(b'[') => self.array(emit),
            Some(b'"') => {
                let (span, escaped) = self.string()?;
                if emit {
                    self.emit_string(span, escaped)?;
                }
                Ok(())
            }
            Some(b't') => self.literal(b"true", emit),
            Some(b'f') => self.literal(b"false", emit),
            Some(b'n') => self.literal(b"null", emit),
            Some(b'-' | b'0'..=b'9') => {
                let span = self.number()?;
                if emit {
                    self.put(span);
                }
                Ok(())
            }
            Some(_) => err(self.i, "expected a JSON value"),
            None => err(self.i, "unexpected end of input: expected a JSON value"),
        }
    }

    fn literal(&mut self, word: &'static [u8], emit: bool) -> Result<()> {
        if self.s.get(self.i..self.i + word.len()) != Some(word) {
            return err(self.i, "invalid literal (expected true, false or null)");
        }
        self.i += word.len();
        if emit {
            self.out.extend_from_slice(word);
        }
        Ok(())
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Span> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return err(self.i, "invalid number: expected a digit"),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return err(self.i, "invalid number: expected a digit after '.'");
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return err(self.i, "invalid number: expected a digit in the exponent");
            }
        }
        Ok((start, self.i))
    }

    /// Parses a string; returns its span (quotes included) and whether it holds escapes.
    fn string(&mut self) -> Result<(Span, bool)> {
        let start = self.i;
        self.i += 1;
        let mut escaped = false;
        loop {
            match self.peek() {
                None => return err(start, "unterminated string"),
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    escaped = true;
                    self.i += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            let hex = self.s.get(self.i + 1..self.i + 5);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return err(self.i, "invalid \\u escape: expected 4 hex digits");
                            }
                            self.i += 5;
                        }
                        _ => return err(self.i, "invalid escape in string"),
                    }
                }
                Some(b) if b < 0x20 => return err(self.i, "control character in string: escape it"),
                Some(_) => self.i += 1,
            }
        }
        let inner = self.s.get(start + 1..self.i - 1).unwrap_or(&[]);
        if let Err(e) = std::str::from_utf8(inner) {
            return err(start + 1 + e.valid_up_to(), "invalid UTF-8 in string");
        }
        Ok(((start, self.i), escaped))
    }

    fn decode(&self, span: Span, escaped: bool) -> Result<String> {
        let raw = self.s.get(span.0..span.1).unwrap_or(&[]);
        if !escaped {
            return Ok(std::str::from_utf8(raw.get(1..raw.len().saturating_sub(1)).unwrap_or(&[]))
                .unwrap_or_default()
                .to_owned());
        }
        serde_json::from_slice::<String>(raw).map_err(|_| Error::Malformed {
            offset: span.0,
            reason: "string holds an unpaired surrogate escape",
        })
    }

    fn emit_string(&mut self, span: Span, escaped: bool) -> Result<()> {
        let masked = if self.m.has_detectors() {
            let path = &self.path;
            let p = || render(path);
            let raw = self.s.get(span.0 + 1..span.1.saturating_sub(1)).unwrap_or(&[]);
            match (escaped, std::str::from_utf8(raw)) {
                (false, Ok(text)) => self.m.mask_detected(text, &p, &mut self.report),
                _ => {
                    let text = self.decode(span, escaped)?;
                    self.m.mask_detected(&text, &p, &mut self.report)
                }
            }
        } else {
            None
        };
        match masked {
            Some(m) => push_json_string(self.out, &m),
            None => self.put(span),
        }
        Ok(())
    }

    /// Parses the value at a selected location without emitting it; returns its replacement
    /// text (`None` = remove).
    fn selected(&mut self, op: &crate::Operator) -> Result<Option<Vec<u8>>> {
        let start = self.i;
        let kind = self.peek();
        self.value(false)?;
        let span = (start, self.i);
        let text = match kind {
            Some(b'"') => self.decode(span, true)?,
            Some(b'n') => {
                return Ok((*op != crate::Operator::Remove).then(|| b"null".to_vec()));
            }
            Some(b'{' | b'[') => match op {
                crate::Operator::Remove => return Ok(None),
                crate::Operator::Pseudonym => {
                    String::from_utf8_lossy(self.s.get(span.0..span.1).unwrap_or(&[])).into_owned()
                }
                _ => return Ok(Some(json_string(REDACTED))),
            },
            _ => String::from_utf8_lossy(self.s.get(span.0..span.1).unwrap_or(&[])).into_owned(),
        };
        Ok(self.m.apply(op, &text, REDACTED).map(|r| json_string(&r)))
    }

    fn object(&mut self, emit: bool) -> Result<()> {
        self.i += 1;
        if emit {
            self.out.push(b'{');
        }
        let mut wrote_any = false;
        let mut pending: Option<Span> = None;
        let lead = self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            if emit {
                self.put(lead);
                self.out.push(b'}');
            }
            return Ok(());
        }
        let mut lead = lead;
        loop {
            if self.peek() != Some(b'"') {
                return err(self.i, "expected a string key");
            }
            let (kspan, kesc) = self.string()?;
            let key = self.decode(kspan, kesc)?;
            let before_colon = self.ws();
            if self.peek() != Some(b':') {
                return err(self.i, "expected ':' after the key");
            }
            self.i += 1;
            let after_colon = self.ws();
            self.path.push(Seg::Key(key));
            let action = if emit { self.m.action(&self.path) } else { Action::Keep };
            let write_head = |this: &mut Self, wrote_any: bool, pending: Option<Span>| {
                if wrote_any {
                    if let Some(p) = pending {
                        this.put(p);
                    }
                    this.out.push(b',');
                }
                this.put(lead);
                this.put(kspan);
                this.put(before_colon);
                this.out.push(b':');
                this.put(after_colon);
            };
            match action {
                Action::Keep => {
                    if emit {
                        write_head(self, wrote_any, pending);
                        wrote_any = true;
                    }
                    self.value(emit)?;
                }
                Action::Apply(op, rule) => {
                    let rep = self.selected(op)?;
                    self.report.masked.push(ReportEntry { path: render(&self.path), rule });
                    if let Some(rep) = rep {
                        write_head(self, wrote_any, pending);
                        self.out.extend_from_slice(&rep);
                        wrote_any = true;
                    }
                }
            }
            self.path.pop();
            let trail = self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    pending = Some(trail);
                    lead = self.ws();
                }
                Some(b'}') => {
                    self.i += 1;
                    if emit {
                        self.put(trail);
                        self.out.push(b'}');
                    }
                    return Ok(());
                }
                Some(_) => return err(self.i, "expected ',' or '}' in object"),
                None => return err(self.i, "unexpected end of input inside an object"),
            }
        }
    }

    fn array(&mut self, emit: bool) -> Result<()> {
        self.i += 1;
        if emit {
            self.out.push(b'[');
        }
        let mut lead = self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            if emit {
                self.put(lead);
                self.out.push(b']');
            }
            return Ok(());
        }
        let mut wrote_any = false;
        let mut pending: Option<Span> = None;
        let mut index = 0usize;
        loop {
            self.path.push(Seg::Index(index));
            let action = if emit { self.m.action(&self.path) } else { Action::Keep };
            let write_head = |this: &mut Self, wrote_any: bool, pending: Option<Span>| {
                if wrote_any {
                    if let Some(p) = pending {
                        this.put(p);
                    }
                    this.out.push(b',');
                }
                this.put(lead);
            };
            match action {
                Action::Keep => {
                    if emit {
                        write_head(self, wrote_any, pending);
                        wrote_any = true;
                    }
                    self.value(emit)?;
                }
                Action::Apply(op, rule) => {
                    let rep = self.selected(op)?;
                    self.report.masked.push(ReportEntry { path: render(&self.path), rule });
                    if let Some(rep) = rep {
                        write_head(self, wrote_any, pending);
                        self.out.extend_from_slice(&rep);
                        wrote_any = true;
                    }
                }
            }
            self.path.pop();
            index += 1;
            let trail = self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    pending = Some(trail);
                    lead = self.ws();
                }
                Some(b']') => {
                    self.i += 1;
                    if emit {
                        self.put(trail);
                        self.out.push(b']');
                    }
                    return Ok(());
                }
                Some(_) => return err(self.i, "expected ',' or ']' in array"),
                None => return err(self.i, "unexpected end of input inside an array"),
            }
        }
    }
}

fn json_string(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 2);
    push_json_string(&mut v, s);
    v
}

fn push_json_string(out: &mut Vec<u8>, s: &str) {
    // serde_json's string escaping never fails on a Vec.
    let _ = serde_json::to_writer(out, s);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Policy;

    fn run(m: &Masker, input: &str) -> Result<String> {
        let mut out = Vec::new();
        m.mask_json(input.as_bytes(), &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn passes_untouched_bytes_through() {
        let m = Masker::builtin();
        let doc = "{ \"a\" : [1, 2.5e3 , -0, true,null] ,\n \"b\":{\"c\":\"d\\u00e9\"} }";
        assert_eq!(run(&m, doc).unwrap(), doc);
    }

    #[test]
    fn masks_fields_and_detected_values() {
        let m = Masker::builtin();
        let out = run(&m, r#"{"password": {"x":[1,2]}, "n":"mail a\u0040example.com", "ok": 1}"#).unwrap();
        assert_eq!(out, r#"{"password": "[REDACTED]", "n":"mail [REDACTED:email]", "ok": 1}"#);
    }

    #[test]
    fn removal_keeps_valid_json() {
        let p: Policy = serde_json::from_str(
            r#"{"fields":[{"path":"**.x","operator":{"op":"remove"}},{"path":"a[0]","operator":{"op":"remove"}}]}"#,
        )
        .unwrap();
        let m = Masker::new(p, None).unwrap();
        let out = run(&m, r#"{"x":1,"a":[1,2,{"x":3}],"b":{"x":[],"y":2,"x":4}}"#).unwrap();
        assert_eq!(out, r#"{"a":[2,{}],"b":{"y":2}}"#);
    }

    #[test]
    fn malformed_inputs_give_offsets() {
        let m = Masker::builtin();
        let cases = [
            ("", 0),
            ("{\"a\":1,}", 7),
            ("[1,2", 4),
            ("{\"a\" 1}", 5),
            ("[01]", 2),
            ("\"abc", 0),
            ("[tru]", 1),
            ("1 2", 2),
            ("\"\\x\"", 2),
            ("[\"\u{1}\"]", 2),
        ];
        for (input, offset) in cases {
            match run(&m, input) {
                Err(Error::Malformed { offset: o, .. }) => assert_eq!(o, offset, "{input:?}"),
                other => panic!("{input:?}: {other:?}"),
            }
        }
        let mut out = b"keep".to_vec();
        assert!(m.mask_json(b"{\"a\":\"jo@example.com\",", &mut out).is_err());
        assert_eq!(out, b"keep");
    }
}
