//! A large document generated on the fly (never stored) is masked through the streaming path
//! with memory bounded by the limits, not by the document's size.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{Read, Write};

use palisade_mask::{Error, Masker, Policy, StreamLimits};

/// Generates `{"workspace":"acme","jobs":[{...},{...},...]}` of at least `target` bytes.
struct Jobs {
    target: u64,
    produced: u64,
    next: u64,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Jobs {
    fn new(target: u64) -> Self {
        Self {
            target,
            produced: 0,
            next: 0,
            chunk: b"{\"workspace\":\"acme\",\"jobs\":[".to_vec(),
            pos: 0,
            done: false,
        }
    }

    fn refill(&mut self) {
        self.chunk.clear();
        self.pos = 0;
        if self.done {
            return;
        }
        if self.produced >= self.target {
            self.chunk.extend_from_slice(b"\n]}\n");
            self.done = true;
            return;
        }
        let i = self.next;
        self.next += 1;
        let sep = if i == 0 { "" } else { "," };
        let record = format!(
            "{sep}\n  {{\"id\": \"job_{i:08}\", \"status\": \"ok\", \"input\": {{\"customer\": {{\"name\": \"C {i}\", \
             \"email\": \"user{i}@example.com\", \"ssn\": \"123-45-6789\"}}, \"items\": [{{\"sku\": \"A-1\", \
             \"qty\": {q}, \"card\": \"4111 1111 1111 1111\"}}], \"connection\": {{\"password\": \"hunter2-{i}\", \
             \"api_key\": \"k-{i}\"}}, \"notes\": \"deliver after 5pm \\u00e9\"}}, \"output\": [true, null, {q}.5e-3]}}",
            q = i % 97
        );
        self.chunk.extend_from_slice(record.as_bytes());
    }
}

impl Read for Jobs {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.chunk.len() {
            self.refill();
        }
        let rest = &self.chunk[self.pos..];
        let n = rest.len().min(buf.len()).min(4093);
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        self.produced += n as u64;
        Ok(n)
    }
}

/// Counts output and fails the test if a sensitive value appears (across write boundaries too).
#[derive(Default)]
struct Checker {
    written: u64,
    tail: Vec<u8>,
    card_masks: u64,
}

const NEEDLES: [&[u8]; 4] = [b"hunter2", b"4111 1111 1111 1111", b"@example.com", b"123-45-6789"];

impl Write for Checker {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut window = std::mem::take(&mut self.tail);
        window.extend_from_slice(buf);
        for needle in NEEDLES {
            assert!(
                !window.windows(needle.len()).any(|w| w == needle),
                "{} leaked",
                String::from_utf8_lossy(needle)
            );
        }
        self.card_masks += window.windows(9).filter(|w| w == b"**** 1111").count() as u64;
        let keep = window.len().min(32);
        // Count each occurrence once: drop matches fully inside the kept tail from the next round.
        let tail = window[window.len() - keep..].to_vec();
        self.card_masks -= tail.windows(9).filter(|w| w == b"**** 1111").count() as u64;
        self.tail = tail;
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.card_masks += self.tail.windows(9).filter(|w| w == b"**** 1111").count() as u64;
        self.tail.clear();
        Ok(())
    }
}

fn policy() -> Policy {
    serde_json::from_str(
        r#"{"fields": [{"path": "jobs[*].input.items[*].card", "operator": {"op": "partial", "keep_last": 4}},
                       {"path": "**.ssn"}],
            "detectors": [{"kind": "email"}, {"kind": "card"}]}"#,
    )
    .unwrap()
}

#[test]
fn sixty_four_mib_document_with_bounded_buffers() {
    let target = 64 * 1024 * 1024;
    let masker = Masker::new(policy(), None).unwrap();
    let limits = StreamLimits { buffer_bytes: 64 * 1024, max_token_bytes: 64 * 1024 };
    let mut out = Checker::default();
    let mut masked = 0u64;
    let stats = masker.mask_json_stream(Jobs::new(target), &mut out, &limits, |_| masked += 1).unwrap();
    assert!(stats.bytes_in >= target, "{stats:?}");
    assert_eq!(stats.bytes_out, out.written);
    assert_eq!(stats.masked, masked);
    let jobs = masked / 5; // card, ssn, e-mail, password (name rule), api_key (name rule)
    assert!(jobs > 100_000, "{stats:?}");
    assert_eq!(out.card_masks, jobs, "every card kept its last 4 only");
    // Input window + output buffer (64 KiB each) and a few short tokens: far below the 64 MiB read.
    assert!(stats.peak_buffered_bytes < 200 * 1024, "peak {} bytes", stats.peak_buffered_bytes);
}

#[test]
fn a_string_over_the_limit_is_a_typed_error_with_its_offset() {
    let masker = Masker::builtin();
    let limits = StreamLimits { buffer_bytes: 4096, max_token_bytes: 1024 * 1024 };
    // 20 MiB of one string, generated on the fly: refused once 1 MiB is held.
    let head = b"[\"".as_slice();
    let body = std::io::repeat(b'a').take(20 * 1024 * 1024);
    let input = head.chain(body).chain(b"\"]".as_slice());
    let mut sink = Vec::new();
    let err = masker.mask_json_stream(input, &mut sink, &limits, |_| {}).unwrap_err();
    assert_eq!(err, Error::TooLarge { offset: 1, limit: 1024 * 1024 });
    assert!(sink.is_empty());
}
