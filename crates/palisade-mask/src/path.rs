//! JSON path patterns for field rules: `customer.ssn`, `items[*].card`, `**.password`.
//!
//! Grammar: an optional `$` or `$.` prefix, then segments separated by `.`: a key (`name`, or
//! `["any key"]` for keys holding dots or brackets), `*` (any one key or index), `**` (zero or
//! more segments), or index selectors written right after a segment: `[3]`, `[*]`.

/// One segment of a concrete location in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
}

/// Renders a concrete location as `a.b[2].c` (keys holding `.`, `[`, `]` or `"` are quoted).
pub fn render(path: &[Seg]) -> String {
    let mut out = String::from("$");
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if k.is_empty() || k.contains(['.', '[', ']', '"', '*']) {
                    out.push('[');
                    out.push_str(&serde_json::Value::String(k.clone()).to_string());
                    out.push(']');
                } else {
                    out.push('.');
                    out.push_str(k);
                }
            }
            Seg::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
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

    /// Whether the concrete location matches this pattern exactly (anchored at both ends).
    pub fn matches(&self, path: &[Seg]) -> bool {
        // Fast paths without allocation: no `**`, or one leading `**` (`**.password`). Compared
        // from the last segment, the one most likely to differ.
        let exact = |pats: &[Pat], segs: &[Seg]| {
            pats.len() == segs.len()
                && pats.iter().rev().zip(segs.iter().rev()).all(|(p, s)| seg_matches(p, s))
        };
        if self.any_depth == 0 {
            return exact(&self.segs, path);
        }
        if self.leading_any_depth {
            let rest = self.segs.get(1..).unwrap_or(&[]);
            return path.len() >= rest.len()
                && exact(rest, path.get(path.len() - rest.len()..).unwrap_or(&[]));
        }
        // dp[j] = pattern prefix of length i matches path prefix of length j.
        let n = path.len();
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
                            && path.get(j).is_some_and(|seg| seg_matches(pat, seg))
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

fn seg_matches(pat: &Pat, seg: &Seg) -> bool {
    match (pat, seg) {
        (Pat::Key(k), Seg::Key(s)) => k == s,
        (Pat::Index(i), Seg::Index(s)) => i == s,
        (Pat::AnyIndex, Seg::Index(_)) | (Pat::AnyOne, _) | (Pat::AnyDepth, _) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn p(segs: &[&str]) -> Vec<Seg> {
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
    }
}
