//! The streaming JSON masker: one pass from any [`Read`] to any [`Write`], no tree.
//!
//! Memory is bounded by [`StreamLimits`]: an input window and an output buffer of
//! `buffer_bytes` each, plus the few tokens that must be held whole to decide masking (the
//! current string or number, the whitespace and key of the member being decided, the keys of the
//! current path), each capped by `max_token_bytes`. Nothing grows with the document's size.
//! Bytes the policy does not touch are copied through unchanged (whitespace included, except
//! around removed members).

use std::borrow::Cow;
use std::io::{ErrorKind, Read, Write};

use serde::Deserialize;

use crate::masker::{Action, REDACTED, ReportEntry, STEP_PLACEHOLDER};
use crate::path::{KeyPath, Location, RenderedPrefix};
use crate::policy::Keep;
use crate::{Error, MAX_DEPTH, Masker, Operator, Report, Result};

/// Memory limits of the streaming JSON and text maskers.
///
/// ```
/// use palisade_mask::StreamLimits;
/// let limits: StreamLimits = serde_json::from_str(r#"{"max_token_bytes": 1048576}"#)?;
/// assert!(limits.validate().is_empty());
/// assert_eq!(limits.buffer_bytes, StreamLimits::default().buffer_bytes);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamLimits {
    /// Size of the input window and of the output buffer (bytes each). Default 64 KiB.
    pub buffer_bytes: usize,
    /// The longest single thing held whole to decide masking: a string (key or value), a number,
    /// a whitespace run, the head of an object member (whitespace + key + `:`), the keys of the
    /// current path together, a container selected for the pseudonym operator, a text line (or a
    /// PEM private-key block in text mode). Longer input fails with [`Error::TooLarge`].
    /// Default 16 MiB.
    pub max_token_bytes: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self { buffer_bytes: 64 * 1024, max_token_bytes: 16 * 1024 * 1024 }
    }
}

impl StreamLimits {
    /// No limit on tokens: for inputs already in memory ([`Masker::mask_json`]).
    pub(crate) fn in_memory() -> Self {
        Self { buffer_bytes: 64 * 1024, max_token_bytes: usize::MAX }
    }

    /// [`StreamLimits::validate`] as an error.
    pub(crate) fn check(&self) -> Result<()> {
        let problems = self.validate();
        if problems.is_empty() { Ok(()) } else { Err(Error::Policy(problems)) }
    }

    /// Every problem of these limits (empty = valid).
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.buffer_bytes < 64 {
            problems.push(format!("buffer_bytes is {}; use at least 64", self.buffer_bytes));
        }
        if self.max_token_bytes < 64 {
            problems.push(format!("max_token_bytes is {}; use at least 64", self.max_token_bytes));
        }
        problems
    }
}

/// What a streaming pass did, besides the report entries it handed out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamStats {
    /// Input bytes consumed.
    pub bytes_in: u64,
    /// Output bytes written.
    pub bytes_out: u64,
    /// Masked locations (report entries handed to the callback).
    pub masked: u64,
    /// The most bytes the masker held at once: input window, output buffer, token and path
    /// buffers (allocated capacity, so it is an upper bound of what was in use).
    pub peak_buffered_bytes: usize,
}

impl Masker {
    /// Masks raw JSON bytes already in memory, appending the masked document to `out`.
    ///
    /// A thin wrapper over [`Masker::mask_json_stream`] with no token limit. On any error the
    /// error carries the byte offset and `out` is restored to its length before the call:
    /// nothing half-masked is left behind.
    pub fn mask_json(&self, input: &[u8], out: &mut Vec<u8>) -> Result<Report> {
        let start = out.len();
        let mut report = Report::default();
        let limits = StreamLimits::in_memory();
        match self.mask_json_stream(input, &mut *out, &limits, |e| report.masked.push(e)) {
            Ok(_) => Ok(report),
            Err(e) => {
                out.truncate(start);
                Err(e)
            }
        }
    }

    /// Masks JSON from `input` to `output` with the default [`StreamLimits`], collecting the
    /// report (which grows with the number of masked locations; use
    /// [`Masker::mask_json_stream`] to hand entries out as they come).
    ///
    /// Same contract as [`Masker::mask_json_stream`]: on error, discard what `output` received.
    pub fn mask_json_read(&self, input: impl Read, output: impl Write) -> Result<Report> {
        let mut report = Report::default();
        self.mask_json_stream(input, output, &StreamLimits::default(), |e| report.masked.push(e))?;
        Ok(report)
    }

    /// Masks JSON in one streaming pass from `input` to `output`, calling `on_masked` for each
    /// masked location (path and rule, never the value), with memory bounded by `limits`.
    ///
    /// **Error contract.** Malformed input fails with [`Error::Malformed`] carrying the absolute
    /// byte offset in the input; a token over `limits.max_token_bytes` with
    /// [`Error::TooLarge`]; I/O failures with [`Error::Read`] / [`Error::Io`]. Output is
    /// written in blocks of `limits.buffer_bytes` as the pass goes, so on error `output` has
    /// received a prefix of the masked document (never unmasked data, but an incomplete
    /// document): **the error means discard it**. A document whose masked form is shorter than
    /// `buffer_bytes` is written only on success. To publish only complete documents, write to
    /// a temporary file or a buffer and commit it after `Ok` (as [`Masker::mask_json`] does).
    ///
    /// A whole-step policy validates the input in the same pass and writes only the
    /// placeholder (`keep = "top_level_keys"` writes the top-level keys in document order,
    /// `keep = "types"` the document's shape with each scalar replaced by its type name).
    ///
    /// ```
    /// use palisade_mask::{Masker, StreamLimits};
    /// let masker = Masker::builtin();
    /// let input = std::io::Cursor::new(br#"{"user":"jo","password":"hunter2"}"#);
    /// let mut output = Vec::new();
    /// let mut masked = Vec::new();
    /// let stats = masker.mask_json_stream(input, &mut output, &StreamLimits::default(), |e| masked.push(e.path))?;
    /// assert_eq!(output, br#"{"user":"jo","password":"[REDACTED]"}"#);
    /// assert_eq!(masked, ["$.password"]);
    /// assert!(stats.peak_buffered_bytes < 200_000);
    /// # Ok::<(), palisade_mask::Error>(())
    /// ```
    pub fn mask_json_stream<R: Read, W: Write>(
        &self,
        input: R,
        output: W,
        limits: &StreamLimits,
        mut on_masked: impl FnMut(ReportEntry),
    ) -> Result<StreamStats> {
        limits.check()?;
        let mut pass = Pass::new(self, input, output, limits, &mut on_masked);
        let result = pass.document().and_then(|()| pass.finish());
        let result = match (pass.inp.err.take(), result) {
            (Some((offset, e)), _) => Err(Error::Read { offset, message: e.to_string() }),
            (None, r) => r,
        };
        result.map(|()| pass.stats())
    }
}

/// How a value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Masked, whitespace kept.
    Emit,
    /// Verbatim, no rules (capturing a selected value).
    Raw,
    /// Validated only.
    Skip,
    /// Whole-step `types`: compact, scalars replaced by their type names.
    Types,
    /// Whole-step `top_level_keys`: the top-level object's keys, each with the placeholder.
    TopKeys,
}

/// Where a whitespace run goes.
#[derive(Clone, Copy)]
enum Hold {
    Drop,
    Head,
    Pending,
}

/// The input window over a reader; offsets are absolute.
struct Input<R> {
    r: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    base: usize,
    eof: bool,
    /// A read error, reported in place of whatever the parser concluded.
    err: Option<(usize, std::io::Error)>,
}

impl<R: Read> Input<R> {
    fn offset(&self) -> usize {
        self.base + self.pos
    }

    fn window(&self) -> &[u8] {
        self.buf.get(self.pos..self.end).unwrap_or(&[])
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        match self.buf.get(self.pos) {
            Some(&b) if self.pos < self.end => Some(b),
            _ => self.fill(),
        }
    }

    #[cold]
    fn fill(&mut self) -> Option<u8> {
        while !self.eof && self.pos >= self.end {
            self.base += self.end;
            self.pos = 0;
            self.end = 0;
            match self.r.read(&mut self.buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end = n.min(self.buf.len()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    self.err = Some((self.base, e));
                    self.eof = true;
                }
            }
        }
        self.buf.get(self.pos).copied().filter(|_| self.pos < self.end)
    }

    fn bump(&mut self) {
        self.pos += 1;
    }

    fn take(&mut self, b: u8, dst: &mut Vec<u8>) {
        dst.push(b);
        self.bump();
    }

    /// Reads a string token (quotes included, validated: escapes, control characters, UTF-8),
    /// appending it to `dst`; returns whether it holds escapes. Over `max_token` bytes it fails
    /// with [`Error::TooLarge`].
    fn string(&mut self, dst: &mut Vec<u8>, max_token: usize) -> Result<bool> {
        let start = self.offset();
        let at = dst.len();
        self.take(b'"', dst);
        let mut escaped = false;
        loop {
            let run = self.window();
            let n = run
                .iter()
                .position(|&b| ENDS_PLAIN_RUN.get(usize::from(b)).copied().unwrap_or(true))
                .unwrap_or(run.len());
            dst.extend_from_slice(run.get(..n).unwrap_or(&[]));
            self.pos += n;
            if dst.len() - at > max_token {
                return Err(Error::TooLarge { offset: start, limit: max_token });
            }
            match self.peek() {
                None => return err(start, "unterminated string"),
                Some(b'"') => {
                    self.take(b'"', dst);
                    break;
                }
                Some(b'\\') => {
                    escaped = true;
                    self.take(b'\\', dst);
                    match self.peek() {
                        Some(c @ (b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't')) => {
                            self.take(c, dst)
                        }
                        Some(b'u') => {
                            let escape_at = self.offset();
                            self.take(b'u', dst);
                            for _ in 0..4 {
                                match self.peek() {
                                    Some(h) if h.is_ascii_hexdigit() => self.take(h, dst),
                                    _ => return err(escape_at, "invalid \\u escape: expected 4 hex digits"),
                                }
                            }
                        }
                        _ => return err(self.offset(), "invalid escape in string"),
                    }
                }
                Some(b) if b < 0x20 => {
                    return err(self.offset(), "control character in string: escape it");
                }
                // A window boundary: keep scanning.
                Some(_) => {}
            }
        }
        let inner = dst.get(at + 1..dst.len() - 1).unwrap_or(&[]);
        if !inner.is_ascii()
            && let Err(e) = std::str::from_utf8(inner)
        {
            return err(start + 1 + e.valid_up_to(), "invalid UTF-8 in string");
        }
        Ok(escaped)
    }
}

struct Pass<'a, R, W> {
    m: &'a Masker,
    inp: Input<R>,
    w: W,
    out: Vec<u8>,
    /// Set while `out` is a capture buffer (a selected value being read for its operator).
    capturing: bool,
    capture_start: usize,
    capture_peak: usize,
    buffer: usize,
    max_token: usize,
    /// The current string (quotes included) or number.
    scratch: Vec<u8>,
    /// Whitespace + key + `:` of the member being decided.
    head: Vec<u8>,
    /// Whitespace after the previous member, written before the next `,`.
    pending: Vec<u8>,
    path: KeyPath,
    /// The rendering of `path` for reports, cut back at every pop.
    rendered: RenderedPrefix,
    /// The replacement (JSON) of the selected value being written, and its text before escaping.
    rep: Vec<u8>,
    replaced: String,
    rep_peak: usize,
    on_masked: &'a mut dyn FnMut(ReportEntry),
    masked: u64,
    bytes_out: u64,
}

fn err<T>(offset: usize, reason: &'static str) -> Result<T> {
    Err(Error::Malformed { offset, reason })
}

impl<'a, R: Read, W: Write> Pass<'a, R, W> {
    fn new(
        m: &'a Masker,
        r: R,
        w: W,
        limits: &StreamLimits,
        on_masked: &'a mut dyn FnMut(ReportEntry),
    ) -> Self {
        Self {
            m,
            inp: Input {
                r,
                buf: vec![0; limits.buffer_bytes],
                pos: 0,
                end: 0,
                base: 0,
                eof: false,
                err: None,
            },
            w,
            out: Vec::with_capacity(limits.buffer_bytes + 1024),
            capturing: false,
            capture_start: 0,
            capture_peak: 0,
            buffer: limits.buffer_bytes,
            max_token: limits.max_token_bytes,
            scratch: Vec::new(),
            head: Vec::new(),
            pending: Vec::new(),
            path: KeyPath::default(),
            rendered: RenderedPrefix::default(),
            rep: Vec::new(),
            replaced: String::new(),
            rep_peak: 0,
            on_masked,
            masked: 0,
            bytes_out: 0,
        }
    }

    fn stats(&self) -> StreamStats {
        let path = self.path.capacity() + self.rendered.capacity() + self.rep_peak;
        StreamStats {
            bytes_in: self.inp.offset() as u64,
            bytes_out: self.bytes_out,
            masked: self.masked,
            peak_buffered_bytes: self.inp.buf.capacity()
                + self.out.capacity()
                + self.capture_peak
                + self.scratch.capacity()
                + self.head.capacity()
                + self.pending.capacity()
                + path,
        }
    }

    fn report(&mut self, rule: String) {
        self.masked += 1;
        (self.on_masked)(ReportEntry { path: self.rendered.render(&self.path), rule });
    }

    fn too_large(&self, start: usize) -> Error {
        Error::TooLarge { offset: start, limit: self.max_token }
    }

    /// Writes the output buffer out when full (or checks a capture against the limit).
    fn checkpoint(&mut self) -> Result<()> {
        if self.capturing {
            if self.out.len() > self.max_token {
                return Err(self.too_large(self.capture_start));
            }
        } else if self.out.len() >= self.buffer {
            self.write_out()?;
        }
        Ok(())
    }

    fn write_out(&mut self) -> Result<()> {
        self.w.write_all(&self.out).map_err(|e| Error::Io(e.to_string()))?;
        self.bytes_out += self.out.len() as u64;
        self.out.clear();
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.write_out()?;
        self.w.flush().map_err(|e| Error::Io(e.to_string()))
    }

    /// The keys of the path may hold `extra` more bytes (the member starting at `at`).
    fn check_path(&self, extra: usize, at: usize) -> Result<()> {
        if self.path.key_bytes() + extra > self.max_token {
            return Err(self.too_large(at));
        }
        Ok(())
    }

    fn pop_seg(&mut self) {
        self.path.pop();
        self.rendered.truncate(self.path.depth());
    }

    /// Skips whitespace, keeping it where `hold` says. Inlined: most calls find none.
    #[inline(always)]
    fn ws(&mut self, hold: Hold) -> Result<()> {
        match self.inp.peek() {
            Some(b' ' | b'\t' | b'\n' | b'\r') => self.ws_run(hold),
            _ => Ok(()),
        }
    }

    #[inline(never)]
    fn ws_run(&mut self, hold: Hold) -> Result<()> {
        let start = self.inp.offset();
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.inp.peek() {
            let run = self.inp.window();
            let n = run.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')).unwrap_or(run.len());
            let target = match hold {
                Hold::Drop => None,
                Hold::Head => Some(&mut self.head),
                Hold::Pending => Some(&mut self.pending),
            };
            if let Some(t) = target {
                t.extend_from_slice(run.get(..n).unwrap_or(&[]));
                if t.len() > self.max_token {
                    return Err(self.too_large(start));
                }
            }
            self.inp.pos += n;
        }
        Ok(())
    }

    fn document(&mut self) -> Result<()> {
        self.head.clear();
        self.ws(Hold::Head)?;
        let Some(first) = self.inp.peek() else {
            return err(self.inp.offset(), "empty input: expected a JSON value");
        };
        let mode = match self.m.whole_step_keep() {
            None => Mode::Emit,
            Some(Keep::Types) => Mode::Types,
            Some(Keep::TopLevelKeys) if first == b'{' => Mode::TopKeys,
            Some(_) => Mode::Skip,
        };
        if mode == Mode::Emit {
            self.out.extend_from_slice(&self.head);
        }
        self.value(mode)?;
        self.pending.clear();
        self.ws(if mode == Mode::Emit { Hold::Pending } else { Hold::Drop })?;
        if self.inp.peek().is_some() {
            return err(self.inp.offset(), "unexpected data after the JSON value");
        }
        if mode == Mode::Emit {
            self.out.extend_from_slice(&self.pending);
        } else {
            if mode == Mode::Skip {
                self.out.extend_from_slice(format!(r#"{{"data":"{STEP_PLACEHOLDER}"}}"#).as_bytes());
            }
            self.report("whole_step".into());
        }
        Ok(())
    }

    /// Parses one value, writing it as `mode` says.
    fn value(&mut self, mode: Mode) -> Result<()> {
        if self.path.depth() > MAX_DEPTH {
            return err(self.inp.offset(), "nesting deeper than 256 levels");
        }
        let start = self.inp.offset();
        match self.inp.peek() {
            Some(b'{') => self.container(mode, b'}'),
            Some(b'[') => self.container(mode, b']'),
            Some(b'"') => {
                match mode {
                    Mode::Emit => {
                        let at = self.out.len();
                        let escaped = self.inp.string(&mut self.out, self.max_token)?;
                        self.emit_string(at, escaped)?;
                    }
                    Mode::Raw => {
                        self.inp.string(&mut self.out, self.max_token)?;
                    }
                    Mode::Types => {
                        self.string()?;
                        self.out.extend_from_slice(b"\"string\"");
                    }
                    Mode::Skip | Mode::TopKeys => {
                        self.string()?;
                    }
                }
                self.checkpoint()
            }
            Some(b't') => self.literal(b"true", mode),
            Some(b'f') => self.literal(b"false", mode),
            Some(b'n') => self.literal(b"null", mode),
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                match mode {
                    Mode::Emit | Mode::Raw => self.out.extend_from_slice(&self.scratch),
                    Mode::Types => self.out.extend_from_slice(b"\"number\""),
                    Mode::Skip | Mode::TopKeys => {}
                }
                Ok(())
            }
            Some(_) => err(start, "expected a JSON value"),
            None => err(start, "unexpected end of input: expected a JSON value"),
        }
    }

    fn literal(&mut self, word: &'static [u8], mode: Mode) -> Result<()> {
        let start = self.inp.offset();
        for &b in word {
            if self.inp.peek() != Some(b) {
                return err(start, "invalid literal (expected true, false or null)");
            }
            self.inp.bump();
        }
        match mode {
            Mode::Emit | Mode::Raw => self.out.extend_from_slice(word),
            Mode::Types if word == b"null" => self.out.extend_from_slice(b"null"),
            Mode::Types => self.out.extend_from_slice(b"\"boolean\""),
            Mode::Skip | Mode::TopKeys => {}
        }
        Ok(())
    }

    /// Reads digits into `scratch`; returns how many.
    fn digits(&mut self, start: usize) -> Result<usize> {
        let mut count = 0;
        while let Some(b'0'..=b'9') = self.inp.peek() {
            let run = self.inp.window();
            let n = run.iter().position(|b| !b.is_ascii_digit()).unwrap_or(run.len());
            self.scratch.extend_from_slice(run.get(..n).unwrap_or(&[]));
            self.inp.pos += n;
            count += n;
            if self.scratch.len() > self.max_token {
                return Err(self.too_large(start));
            }
        }
        Ok(count)
    }

    fn take(&mut self, b: u8) {
        self.scratch.push(b);
        self.inp.bump();
    }

    /// Reads a number into `scratch`.
    fn number(&mut self) -> Result<()> {
        let start = self.inp.offset();
        self.scratch.clear();
        if self.inp.peek() == Some(b'-') {
            self.take(b'-');
        }
        match self.inp.peek() {
            Some(b'0') => self.take(b'0'),
            Some(b'1'..=b'9') => {
                self.digits(start)?;
            }
            _ => return err(self.inp.offset(), "invalid number: expected a digit"),
        }
        if self.inp.peek() == Some(b'.') {
            self.take(b'.');
            if self.digits(start)? == 0 {
                return err(self.inp.offset(), "invalid number: expected a digit after '.'");
            }
        }
        if let Some(e @ (b'e' | b'E')) = self.inp.peek() {
            self.take(e);
            if let Some(s @ (b'+' | b'-')) = self.inp.peek() {
                self.take(s);
            }
            if self.digits(start)? == 0 {
                return err(self.inp.offset(), "invalid number: expected a digit in the exponent");
            }
        }
        Ok(())
    }

    /// Reads a string (quotes included) into `scratch`; returns whether it holds escapes.
    fn string(&mut self) -> Result<bool> {
        self.scratch.clear();
        self.inp.string(&mut self.scratch, self.max_token)
    }

    /// Runs the detectors and the named-value search over the string token written to `out`
    /// from `at` on, replacing it when they find something.
    fn emit_string(&mut self, at: usize, escaped: bool) -> Result<()> {
        let token = self.out.get(at..).unwrap_or(&[]);
        let inner = token.get(1..token.len().saturating_sub(1)).unwrap_or(&[]);
        if !self.m.may_mask_string(inner, escaped) {
            return Ok(());
        }
        // The token moves to `scratch`, to be written back masked or as it was.
        self.scratch.clear();
        self.scratch.extend_from_slice(token);
        self.out.truncate(at);
        let (path, rendered) = (&self.path, &mut self.rendered);
        let mut p = || rendered.render(path);
        let mut found = 0u64;
        let sink = &mut *self.on_masked;
        let mut count = |e: ReportEntry| {
            found += 1;
            sink(e);
        };
        let inner = self.scratch.get(1..self.scratch.len().saturating_sub(1)).unwrap_or(&[]);
        let masked = match (escaped, std::str::from_utf8(inner)) {
            (false, Ok(text)) => self.m.mask_line(text, &mut p, &mut count),
            _ => {
                // Offsets of escapes were checked by `string`; only lone surrogates fail here.
                let text = serde_json::from_slice::<String>(&self.scratch).map_err(|_| Error::Malformed {
                    offset: self.inp.offset().saturating_sub(self.scratch.len()),
                    reason: "string holds an unpaired surrogate escape",
                })?;
                self.m.mask_line(&text, &mut p, &mut count)
            }
        };
        self.masked += found;
        match masked {
            Some(m) => push_json_string(&mut self.out, &m),
            None => self.out.extend_from_slice(&self.scratch),
        }
        Ok(())
    }

    /// Reads the value at a selected location and writes its replacement (JSON) to `rep`;
    /// `false` = remove the member.
    fn selected(&mut self, op: &Operator) -> Result<bool> {
        // Nested containers reuse `head` and `pending`: keep this member's.
        let head = std::mem::take(&mut self.head);
        let pending = std::mem::take(&mut self.pending);
        let result = self.selected_inner(op);
        self.head = head;
        self.pending = pending;
        result
    }

    fn selected_inner(&mut self, op: &Operator) -> Result<bool> {
        let start = self.inp.offset();
        self.rep.clear();
        let kept = match self.inp.peek() {
            Some(b'"') => {
                let escaped = self.string()?;
                // Escapes are decoded even when the text is not used: a lone surrogate is an error.
                let text = if escaped || op.uses_text() {
                    decode(&self.scratch, escaped, start)?
                } else {
                    Cow::Borrowed("")
                };
                replace(self.m, op, &text, &mut self.replaced, &mut self.rep)
            }
            Some(b'n') => {
                self.value(Mode::Skip)?;
                self.rep.extend_from_slice(b"null");
                *op != Operator::Remove
            }
            Some(b'{' | b'[') if *op != Operator::Pseudonym => {
                self.value(Mode::Skip)?;
                push_json_string(&mut self.rep, REDACTED);
                *op != Operator::Remove
            }
            _ => {
                // Numbers, booleans, and containers under the pseudonym operator: their text.
                let saved = std::mem::take(&mut self.out);
                let was = std::mem::replace(&mut self.capturing, true);
                let was_start = std::mem::replace(&mut self.capture_start, start);
                let result = self.value(Mode::Raw);
                let raw = std::mem::replace(&mut self.out, saved);
                self.capturing = was;
                self.capture_start = was_start;
                self.capture_peak = self.capture_peak.max(raw.capacity());
                result?;
                if raw.len() > self.max_token {
                    return Err(self.too_large(start));
                }
                let text = String::from_utf8(raw)
                    .map_err(|_| Error::Malformed { offset: start, reason: "invalid UTF-8" })?;
                replace(self.m, op, &text, &mut self.replaced, &mut self.rep)
            }
        };
        self.rep_peak = self.rep_peak.max(self.rep.capacity() + self.replaced.capacity());
        Ok(kept)
    }

    /// Reads an object key into `head` (and the path, in masking mode).
    fn key(&mut self, mode: Mode, index: usize) -> Result<()> {
        let start = self.inp.offset();
        if self.inp.peek() != Some(b'"') {
            return err(start, "expected a string key");
        }
        // The key token goes to `head` (`key_at..key_end`), or to `scratch` when skipping.
        let key_at = self.head.len();
        let escaped = if mode == Mode::Skip {
            self.string()?
        } else {
            self.inp.string(&mut self.head, self.max_token)?
        };
        let key_end = self.head.len();
        let keep_ws = matches!(mode, Mode::Emit | Mode::Raw);
        // An escaped key is decoded now, so a bad escape is reported before what follows it.
        let decoded = match (mode, escaped) {
            (Mode::Emit, true) => {
                Some(decode(self.head.get(key_at..key_end).unwrap_or(&[]), escaped, start)?.into_owned())
            }
            _ => None,
        };
        self.ws(if keep_ws { Hold::Head } else { Hold::Drop })?;
        if self.inp.peek() != Some(b':') {
            return err(self.inp.offset(), "expected ':' after the key");
        }
        self.inp.bump();
        if mode != Mode::Skip {
            self.head.push(b':');
        }
        self.ws(if keep_ws { Hold::Head } else { Hold::Drop })?;
        if self.head.len() > self.max_token {
            return Err(self.too_large(start));
        }
        match (mode, decoded) {
            (Mode::Emit, Some(key)) => {
                self.check_path(key.len(), start)?;
                self.path.push_key(key.as_bytes());
            }
            (Mode::Emit, None) => {
                let inner = self.head.get(key_at + 1..key_end.saturating_sub(1)).unwrap_or(&[]);
                self.check_path(inner.len(), start)?;
                self.path.push_key(inner);
            }
            _ => self.path.push_index(index),
        }
        Ok(())
    }

    /// An object (`close` = `}`) or an array (`close` = `]`); the cursor is on the opening byte.
    fn container(&mut self, mode: Mode, close: u8) -> Result<()> {
        let is_object = close == b'}';
        let keep_ws = matches!(mode, Mode::Emit | Mode::Raw);
        let writes = mode != Mode::Skip;
        self.inp.bump();
        if writes {
            self.out.push(if is_object { b'{' } else { b'[' });
        }
        if writes {
            self.head.clear();
        }
        self.ws(if keep_ws { Hold::Head } else { Hold::Drop })?;
        if self.inp.peek() == Some(close) {
            self.inp.bump();
            if keep_ws {
                self.out.extend_from_slice(&self.head);
            }
            if writes {
                self.out.push(close);
            }
            return Ok(());
        }
        let child = if mode == Mode::TopKeys { Mode::Skip } else { mode };
        let mut wrote_any = false;
        let mut index = 0usize;
        loop {
            if is_object {
                self.key(mode, index)?;
            } else {
                self.path.push_index(index);
            }
            // `None` = removed; `Some(false)` = the value as `child` writes it; `Some(true)` =
            // its replacement, in `rep`.
            let action = if mode == Mode::Emit { self.m.action(&self.path) } else { Action::Keep };
            let written = match action {
                Action::Keep => Some(false),
                Action::Apply(op, rule) => {
                    let kept = self.selected(op)?;
                    self.report(rule);
                    kept.then_some(true)
                }
            };
            if let Some(replaced) = written {
                if writes {
                    if wrote_any {
                        if keep_ws && !self.pending.is_empty() {
                            self.out.extend_from_slice(&self.pending);
                        }
                        self.out.push(b',');
                    }
                    self.out.extend_from_slice(&self.head);
                    wrote_any = true;
                }
                match replaced {
                    true => self.out.extend_from_slice(&self.rep),
                    false => {
                        if mode == Mode::TopKeys {
                            self.out.extend_from_slice(format!("\"{STEP_PLACEHOLDER}\"").as_bytes());
                        }
                        self.value(child)?;
                    }
                }
            }
            self.pop_seg();
            index += 1;
            self.checkpoint()?;
            if self.close_or_continue(close, keep_ws, writes)? {
                return Ok(());
            }
        }
    }

    /// After a member: reads `,` (and the next member's leading whitespace into `head`;
    /// returns `false`) or the closing byte (writes it; returns `true`).
    fn close_or_continue(&mut self, close: u8, keep_ws: bool, writes: bool) -> Result<bool> {
        self.pending.clear();
        self.ws(if keep_ws { Hold::Pending } else { Hold::Drop })?;
        match self.inp.peek() {
            Some(b',') => {
                self.inp.bump();
                self.head.clear();
                self.ws(if keep_ws { Hold::Head } else { Hold::Drop })?;
                Ok(false)
            }
            Some(c) if c == close => {
                self.inp.bump();
                if keep_ws && !self.pending.is_empty() {
                    self.out.extend_from_slice(&self.pending);
                }
                if writes {
                    self.out.push(close);
                }
                Ok(true)
            }
            Some(_) if close == b'}' => err(self.inp.offset(), "expected ',' or '}' in object"),
            Some(_) => err(self.inp.offset(), "expected ',' or ']' in array"),
            None if close == b'}' => err(self.inp.offset(), "unexpected end of input inside an object"),
            None => err(self.inp.offset(), "unexpected end of input inside an array"),
        }
    }
}

/// The bytes that end a run of plain string content: `"`, `\\` and control characters.
#[allow(clippy::indexing_slicing)] // evaluated at compile time: an out-of-range index fails the build
static ENDS_PLAIN_RUN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Decodes a JSON string token (quotes included) that [`Pass::string`] validated.
fn decode(raw: &[u8], escaped: bool, start: usize) -> Result<Cow<'_, str>> {
    if !escaped {
        let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or(&[]);
        return Ok(std::str::from_utf8(inner).map_or_else(|_| String::from_utf8_lossy(inner), Cow::Borrowed));
    }
    serde_json::from_slice::<String>(raw)
        .map(Cow::Owned)
        .map_err(|_| Error::Malformed { offset: start, reason: "string holds an unpaired surrogate escape" })
}

/// Writes the JSON replacement of a selected value's `text` to `rep` (`replaced` is scratch);
/// `false` = remove.
fn replace(m: &Masker, op: &Operator, text: &str, replaced: &mut String, rep: &mut Vec<u8>) -> bool {
    replaced.clear();
    let kept = m.apply_into(op, text, REDACTED, replaced);
    if kept {
        push_json_string(rep, replaced);
    }
    kept
}

/// Appends `s` as a JSON string, escaped exactly as serde_json escapes it.
pub(crate) fn push_json_string(out: &mut Vec<u8>, s: &str) {
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    // serde_json's string escaping never fails on a Vec.
    let _ = serde_json::to_writer(out, s);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::Policy;

    fn run(m: &Masker, input: &str) -> Result<String> {
        let mut out = Vec::new();
        m.mask_json(input.as_bytes(), &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    /// A reader handing out `n` bytes at a time.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            let (head, rest) = self.0.split_at(n);
            buf[..n].copy_from_slice(head);
            self.0 = rest;
            Ok(n)
        }
    }

    fn small() -> StreamLimits {
        StreamLimits { buffer_bytes: 64, max_token_bytes: 64 }
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
        let out = run(&m, "{ \"x\" : { \"y\" : [ 1 ] } , \"k\" : 1 }").unwrap();
        assert_eq!(out, "{ \"k\" : 1 }");
    }

    #[test]
    fn pseudonym_of_containers_and_scalars() {
        let p: Policy = serde_json::from_str(
            r#"{"fields":[{"path":"a","operator":{"op":"pseudonym"}},{"path":"b","operator":{"op":"pseudonym"}}],
                "detectors":[]}"#,
        )
        .unwrap();
        let m = Masker::new(p, Some(crate::PseudonymKey::new(&[1; 32]).unwrap())).unwrap();
        let once = run(&m, r#"{ "a" : {"x": [1, "y"]}, "b": 12.5e1 }"#).unwrap();
        let v: serde_json::Value = serde_json::from_str(&once).unwrap();
        assert!(v["a"].as_str().unwrap().starts_with("pseu_"));
        assert!(v["b"].as_str().unwrap().starts_with("pseu_"));
        assert!(once.starts_with("{ \"a\" : \"pseu_"), "{once}");
        // A selected container over the token limit is refused, not half-read.
        let big = format!(r#"{{"a":[{}1]}}"#, "1,".repeat(100));
        let err = m.mask_json_stream(big.as_bytes(), Vec::new(), &small(), |_| {}).unwrap_err();
        assert!(matches!(err, Error::TooLarge { offset: 5, limit: 64 }), "{err:?}");
    }

    #[test]
    fn whole_step_streams_placeholders() {
        let doc = r#" {"b": {"x": [1, "s", true, null]}, "a": 2, "b": 3} "#;
        let step = |keep: &str| {
            let p: Policy =
                serde_json::from_str(&format!(r#"{{"whole_step":{{"keep":"{keep}"}}}}"#)).unwrap();
            let m = Masker::new(p, None).unwrap();
            let mut entries = Vec::new();
            let mut out = Vec::new();
            m.mask_json_stream(Trickle(doc.as_bytes(), 3), &mut out, &small(), |e| entries.push(e)).unwrap();
            assert_eq!(entries, [ReportEntry { path: "$".into(), rule: "whole_step".into() }]);
            assert!(m.mask_json(b"{\"a\":", &mut Vec::new()).is_err());
            String::from_utf8(out).unwrap()
        };
        assert_eq!(step("nothing"), r#"{"data":"masked"}"#);
        assert_eq!(step("top_level_keys"), r#"{"b":"masked","a":"masked","b":"masked"}"#);
        assert_eq!(
            step("types"),
            r#"{"b":{"x":["number","string","boolean",null]},"a":"number","b":"number"}"#
        );
    }

    #[test]
    fn malformed_inputs_give_absolute_offsets_at_any_chunking() {
        let m = Masker::builtin();
        let cases = [
            ("", 0),
            ("   ", 3),
            ("{\"a\":1,}", 7),
            ("[1,2", 4),
            ("{\"a\" 1}", 5),
            ("[01]", 2),
            ("\"abc", 0),
            ("[tru]", 1),
            ("1 2", 2),
            ("\"\\x\"", 2),
            ("[\"\u{1}\"]", 2),
            ("[\"\\u12G4\"]", 3),
            ("[1.]", 3),
            ("[-]", 2),
            ("[\"ok\", \"\\ud800\"]", 7),
        ];
        for (input, offset) in cases {
            for chunk in [1, 2, 3, 1000] {
                let r = m.mask_json_stream(Trickle(input.as_bytes(), chunk), Vec::new(), &small(), |_| {});
                match r {
                    Err(Error::Malformed { offset: o, .. }) => assert_eq!(o, offset, "{input:?}"),
                    other => panic!("{input:?}: {other:?}"),
                }
            }
        }
        let mut out = b"keep".to_vec();
        assert!(m.mask_json(b"{\"a\":\"jo@example.com\",", &mut out).is_err());
        assert_eq!(out, b"keep");
        // Invalid UTF-8 far into a long stream: the offset is absolute.
        let mut doc = b"[".to_vec();
        for _ in 0..1000 {
            doc.extend_from_slice(b"\"abcdefgh\",");
        }
        let bad = doc.len() + 3;
        doc.extend_from_slice(b"\"ab\xffc\"]");
        match m.mask_json_stream(Trickle(&doc, 7), Vec::new(), &small(), |_| {}) {
            Err(Error::Malformed { offset, .. }) => assert_eq!(offset, bad),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn limits_are_enforced_and_typed() {
        let m = Masker::builtin();
        let long = format!("[1, \"{}\"]", "a".repeat(100));
        let r = m.mask_json_stream(long.as_bytes(), Vec::new(), &small(), |_| {});
        assert_eq!(r.unwrap_err(), Error::TooLarge { offset: 4, limit: 64 });
        let ws = format!("[1,{}2]", " ".repeat(100));
        assert!(matches!(
            m.mask_json_stream(ws.as_bytes(), Vec::new(), &small(), |_| {}),
            Err(Error::TooLarge { .. })
        ));
        let deep_keys = format!("{}1{}", r#"{"abcdefghijklmnopqrstuvwxyz":"#.repeat(4), "}".repeat(4));
        assert!(matches!(
            m.mask_json_stream(deep_keys.as_bytes(), Vec::new(), &small(), |_| {}),
            Err(Error::TooLarge { .. })
        ));
        let bad = StreamLimits { buffer_bytes: 0, max_token_bytes: 1 };
        assert!(
            matches!(m.mask_json_stream(&b"1"[..], Vec::new(), &bad, |_| {}), Err(Error::Policy(p)) if p.len() == 2)
        );
        let limits: std::result::Result<StreamLimits, _> = serde_json::from_str(r#"{"buffer": 1}"#);
        assert!(limits.is_err());
    }

    #[test]
    fn io_errors_are_reported() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk gone"))
            }
        }
        let m = Masker::builtin();
        let r = m.mask_json_stream(std::io::Read::chain(&b"[1,2"[..], Broken), Vec::new(), &small(), |_| {});
        assert!(matches!(r, Err(Error::Read { offset: 4, .. })), "{r:?}");
        // A complete value followed by a read error is still an error.
        let r = m.mask_json_stream(std::io::Read::chain(&b"[1] "[..], Broken), Vec::new(), &small(), |_| {});
        assert!(matches!(r, Err(Error::Read { .. })), "{r:?}");
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("no space"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        assert!(matches!(m.mask_json_stream(&b"[1]"[..], Full, &small(), |_| {}), Err(Error::Io(_))));
    }
}
