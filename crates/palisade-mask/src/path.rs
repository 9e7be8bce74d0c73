//! JSON path patterns for field rules: `customer.ssn`, `items[*].card`, `**.password`.
//!
//! Grammar: an optional `$` or `$.` prefix, then segments separated by `.`: a key (`name`, or
//! `["any key"]` for keys holding dots or brackets), `*` (any one key or index), `**` (zero or
//! more segments), or index selectors written right after a segment: `[3]`, `[*]`.

use std::borrow::Cow;

/// One segment of a concrete location in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
}

/// Renders a concrete location as `a.b[2].c` (keys holding `.`, `[`, `]`, `"` or `*` are quoted).
pub fn render(path: &[Seg]) -> String {
    let size: usize = path
        .iter()
        .map(|seg| match seg {
            Seg::Key(k) => k.len() + 1,
            Seg::Index(_) => 4,
        })
        .sum();
    let mut out = Vec::with_capacity(size + 1);
    out.push(b'$');
    for i in 0..path.depth() {
        if let Some(seg) = path.seg(i) {
            push_rendered(&mut out, seg);
        }
    }
    into_string(out)
}

/// Appends one segment as [`render`] writes it (UTF-8, since keys are).
fn push_rendered(out: &mut Vec<u8>, seg: SegRef<'_>) {
    match seg {
        SegRef::Key(k) if k.is_empty() || k.iter().copied().any(needs_quotes) => {
            let k = std::str::from_utf8(k).map_or_else(|_| String::from_utf8_lossy(k), Cow::Borrowed);
            out.push(b'[');
            // serde_json's string escaping never fails on a Vec.
            let _ = serde_json::to_writer(&mut *out, &*k);
            out.push(b']');
        }
        SegRef::Key(k) => {
            out.push(b'.');
            out.extend_from_slice(k);
        }
        SegRef::Index(i) => {
            out.push(b'[');
            push_decimal(out, i);
            out.push(b']');
        }
    }
}

/// Bytes rendered from UTF-8 keys as a `String` (lossy only if a caller broke that promise).
fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A key holding one of these bytes is rendered quoted (`["a.b"]`).
fn needs_quotes(b: u8) -> bool {
    matches!(b, b'.' | b'[' | b']' | b'"' | b'*')
}

/// One segment of a location, borrowed: a key (its UTF-8 bytes) or an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SegRef<'a> {
    Key(&'a [u8]),
    Index(usize),
}

/// A location in a document, read segment by segment: a `[Seg]`, or the streaming masker's
/// [`KeyPath`].
pub(crate) trait Location {
    /// How many segments.
    fn depth(&self) -> usize;
    /// Segment `i` (0 = outermost).
    fn seg(&self, i: usize) -> Option<SegRef<'_>>;
    /// The innermost segment.
    fn last_seg(&self) -> Option<SegRef<'_>> {
        self.depth().checked_sub(1).and_then(|i| self.seg(i))
    }
}

impl Location for [Seg] {
    fn depth(&self) -> usize {
        self.len()
    }

    fn seg(&self, i: usize) -> Option<SegRef<'_>> {
        self.get(i).map(|seg| match seg {
            Seg::Key(k) => SegRef::Key(k.as_bytes()),
            Seg::Index(i) => SegRef::Index(*i),
        })
    }
}

/// The streaming masker's current location: the keys' bytes in one buffer, so entering a member
/// allocates nothing. Pushed keys must be UTF-8 (they come from validated JSON strings).
#[derive(Debug, Default)]
pub(crate) struct KeyPath {
    bytes: Vec<u8>,
    segs: Vec<KeySeg>,
}

#[derive(Debug, Clone, Copy)]
enum KeySeg {
    /// `bytes[start..end]`.
    Key {
        start: usize,
        end: usize,
    },
    Index(usize),
}

impl KeyPath {
    #[inline]
    pub(crate) fn push_key(&mut self, key: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(key);
        self.segs.push(KeySeg::Key { start, end: self.bytes.len() });
    }

    pub(crate) fn push_index(&mut self, index: usize) {
        self.segs.push(KeySeg::Index(index));
    }

    pub(crate) fn pop(&mut self) {
        if let Some(KeySeg::Key { start, .. }) = self.segs.pop() {
            self.bytes.truncate(start);
        }
    }

    /// The bytes of all keys on the path.
    pub(crate) fn key_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Bytes held.
    pub(crate) fn capacity(&self) -> usize {
        self.bytes.capacity() + self.segs.capacity() * std::mem::size_of::<KeySeg>()
    }
}

impl Location for KeyPath {
    fn depth(&self) -> usize {
        self.segs.len()
    }

    fn seg(&self, i: usize) -> Option<SegRef<'_>> {
        match *self.segs.get(i)? {
            KeySeg::Key { start, end } => self.bytes.get(start..end).map(SegRef::Key),
            KeySeg::Index(index) => Some(SegRef::Index(index)),
        }
    }
}

/// The rendering of a path that changes by pushes and pops (the streaming masker's current
/// location), extended only when a report asks for it: members masked in one object share the
/// rendering of the object's path.
#[derive(Debug)]
pub(crate) struct RenderedPrefix {
    text: Vec<u8>,
    /// `ends[i]`: the length of `text` once segment `i` is rendered. Covers a prefix of the path.
    ends: Vec<usize>,
}

impl Default for RenderedPrefix {
    fn default() -> Self {
        Self { text: b"$".to_vec(), ends: Vec::new() }
    }
}

impl RenderedPrefix {
    /// The path shrank to `depth` segments: forget what was rendered below it.
    pub(crate) fn truncate(&mut self, depth: usize) {
        if self.ends.len() > depth {
            self.ends.truncate(depth);
            self.text.truncate(self.ends.last().copied().unwrap_or(1));
        }
    }

    /// `render(path)`, given that every pop of `path` was reported through `truncate`.
    pub(crate) fn render<L: Location + ?Sized>(&mut self, path: &L) -> String {
        self.truncate(path.depth());
        for i in self.ends.len()..path.depth() {
            if let Some(seg) = path.seg(i) {
                push_rendered(&mut self.text, seg);
            }
            self.ends.push(self.text.len());
        }
        into_string(self.text.clone())
    }

    /// Bytes held.
    pub(crate) fn capacity(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * std::mem::size_of::<usize>()
    }
}

/// Appends `n` in decimal (without the formatting machinery: report paths are rendered often).
fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(d) = digits.get_mut(start) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(start..).unwrap_or(&[]));
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pat {
    Key(String),
    AnyOne,
    Index(usize),
    AnyIndex,
    AnyDepth,
}

/// A compiled path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    segs: Vec<Pat>,
    /// How many `**` segments, and whether the only one leads (computed once at parse).
    any_depth: usize,
    leading_any_depth: bool,
}

impl PathPattern {
    /// Parses a pattern; the error says what is wrong.
    pub fn parse(src: &str) -> Result<Self, String> {
        let mut rest = src.trim();
        if rest.is_empty() {
            return Err("empty path".into());
        }
        if let Some(r) = rest.strip_prefix('$') {
            rest = r.strip_prefix('.').unwrap_or(r);
        }
        let chars: Vec<char> = rest.chars().collect();
        let mut segs = Vec::new();
        let mut i = 0;
        let mut expect_segment = true;
        while i < chars.len() {
            let c = chars.get(i).copied().unwrap_or('.');
            if c == '[' {
                let close = chars.get(i..).unwrap_or(&[]).iter().position(|&c| c == ']').map(|p| p + i);
                let Some(close) = close else { return Err(format!("unclosed '[' in path {src:?}")) };
                let inner: String = chars.get(i + 1..close).unwrap_or(&[]).iter().collect();
                if inner == "*" {
                    segs.push(Pat::AnyIndex);
                } else if let Ok(n) = inner.parse::<usize>() {
                    segs.push(Pat::Index(n));
                } else if inner.starts_with('"') {
                    let key: String = serde_json::from_str(&inner)
                        .map_err(|_| format!("bad quoted key {inner} in path {src:?}"))?;
                    segs.push(Pat::Key(key));
                } else {
                    return Err(format!("bad selector [{inner}] in path {src:?}: use [N], [*] or [\"key\"]"));
                }
                i = close + 1;
                expect_segment = false;
                continue;
            }
            if c == '.' {
                if expect_segment {
                    return Err(format!("empty segment in path {src:?}"));
                }
                expect_segment = true;
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && !matches!(chars.get(i), Some('.') | Some('[')) {
                i += 1;
            }
            let name: String = chars.get(start..i).unwrap_or(&[]).iter().collect();
            if !expect_segment {
                return Err(format!("missing '.' before {name:?} in path {src:?}"));
            }
            segs.push(match name.as_str() {
                "**" => Pat::AnyDepth,
                "*" => Pat::AnyOne,
                n if n.contains('*') => {
                    return Err(format!("'*' must be a whole segment in path {src:?}"));
                }
                n => Pat::Key(n.to_owned()),
            });
            expect_segment = false;
        }
        if expect_segment && !segs.is_empty() {
            return Err(format!("path {src:?} ends with '.'"));
        }
        if segs.is_empty() {
            return Err(format!("path {src:?} selects nothing"));
        }
        let any_depth = segs.iter().filter(|p| **p == Pat::AnyDepth).count();
        let leading_any_depth = any_depth == 1 && segs.first() == Some(&Pat::AnyDepth);
        Ok(Self { segs, any_depth, leading_any_depth })
    }

    /// The last segment when it is a literal key (`password` in `**.password`): a location
    /// can match only if its last segment is that key.
    pub(crate) fn last_key(&self) -> Option<&str> {
        match self.segs.last() {
            Some(Pat::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// Whether the concrete location matches this pattern exactly (anchored at both ends).
    pub fn matches(&self, path: &[Seg]) -> bool {
        self.matches_at(path)
    }

    /// [`PathPattern::matches`] over any [`Location`].
    pub(crate) fn matches_at<L: Location + ?Sized>(&self, path: &L) -> bool {
        let n = path.depth();
        // Fast paths without allocation: no `**`, or one leading `**` (`**.password`). Compared
        // from the last segment, the one most likely to differ.
        let exact = |pats: &[Pat], offset: usize| {
            pats.iter()
                .enumerate()
                .rev()
                .all(|(i, p)| path.seg(offset + i).is_some_and(|s| seg_matches(p, s)))
        };
        if self.any_depth == 0 {
            return self.segs.len() == n && exact(&self.segs, 0);
        }
        if self.leading_any_depth {
            let rest = self.segs.get(1..).unwrap_or(&[]);
            return n >= rest.len() && exact(rest, n - rest.len());
        }
        // dp[j] = pattern prefix of length i matches path prefix of length j.
        let mut dp = vec![false; n + 1];
        if let Some(first) = dp.first_mut() {
            *first = true;
        }
        for pat in &self.segs {
            let mut next = vec![false; n + 1];
            match pat {
                Pat::AnyDepth => {
                    let mut any = false;
                    for j in 0..=n {
                        any |= dp.get(j).copied().unwrap_or(false);
                        if let Some(slot) = next.get_mut(j) {
                            *slot = any;
                        }
                    }
                }
                _ => {
                    for j in 0..n {
                        if dp.get(j).copied().unwrap_or(false)
                            && path.seg(j).is_some_and(|seg| seg_matches(pat, seg))
                            && let Some(slot) = next.get_mut(j + 1)
                        {
                            *slot = true;
                        }
                    }
                }
            }
            dp = next;
        }
        dp.get(n).copied().unwrap_or(false)
    }
}

fn seg_matches(pat: &Pat, seg: SegRef<'_>) -> bool {
    match (pat, seg) {
        (Pat::Key(k), SegRef::Key(s)) => k.as_bytes() == s,
        (Pat::Index(i), SegRef::Index(s)) => *i == s,
        (Pat::AnyIndex, SegRef::Index(_)) | (Pat::AnyOne, _) | (Pat::AnyDepth, _) => true,
        _ => false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A path from its parts: numbers are indexes, the rest keys. (Shared with other modules'
    /// tests.)
    pub(crate) fn p(segs: &[&str]) -> Vec<Seg> {
        segs.iter()
            .map(|s| s.parse::<usize>().map(Seg::Index).unwrap_or_else(|_| Seg::Key((*s).to_owned())))
            .collect()
    }

    #[test]
    fn matching() {
        let m = |pat: &str, path: &[&str]| PathPattern::parse(pat).unwrap().matches(&p(path));
        assert!(m("customer.ssn", &["customer", "ssn"]));
        assert!(m("$.customer.ssn", &["customer", "ssn"]));
        assert!(!m("customer.ssn", &["customer", "ssn", "x"]));
        assert!(!m("customer.ssn", &["x", "customer", "ssn"]));
        assert!(m("items[*].card", &["items", "3", "card"]));
        assert!(!m("items[*].card", &["items", "card"]));
        assert!(m("items[1].card", &["items", "1", "card"]));
        assert!(!m("items[1].card", &["items", "2", "card"]));
        assert!(m("**.password", &["password"]));
        assert!(m("**.password", &["a", "0", "b", "password"]));
        assert!(!m("**.password", &["a", "password", "x"]));
        assert!(m("a.*.c", &["a", "zz", "c"]));
        assert!(m("a.**", &["a", "b", "c"]));
        assert!(m("[\"a.b\"].c", &["a.b", "c"]));
    }

    #[test]
    fn bad_paths() {
        for bad in ["", "a..b", "a.", "a[x]", "a[", "a*b", "a[1]b"] {
            assert!(PathPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rendering() {
        assert_eq!(render(&p(&["a", "1", "b.c"])), "$.a[1][\"b.c\"]");
        assert_eq!(
            render(&p(&["0", "", "x*", "10", "18446744073709551615"])),
            "$[0][\"\"][\"x*\"][10][18446744073709551615]"
        );
        assert_eq!(render(&[]), "$");
    }

    #[test]
    fn rendered_prefix_follows_pushes_and_pops() {
        let mut cache = RenderedPrefix::default();
        let mut path = Vec::new();
        let mut keys = KeyPath::default();
        assert_eq!(cache.render(&keys), "$");
        for step in ["a", "0", "b.c", "-", "d", "-", "-", "1", "e", "-", "-", "-", "-", "x", "y"] {
            if step == "-" {
                path.pop();
                keys.pop();
                cache.truncate(path.len());
            } else {
                let seg = p(&[step]).remove(0);
                match &seg {
                    Seg::Key(k) => keys.push_key(k.as_bytes()),
                    Seg::Index(i) => keys.push_index(*i),
                }
                path.push(seg);
            }
            assert_eq!(cache.render(&keys), render(&path), "{path:?}");
            assert_eq!(keys.depth(), path.len());
            assert_eq!(
                keys.key_bytes(),
                path.iter().map(|s| if let Seg::Key(k) = s { k.len() } else { 0 }).sum::<usize>()
            );
            let all = PathPattern::parse("**").unwrap();
            assert!(all.matches_at(&keys) && all.matches(&path));
        }
    }
}
