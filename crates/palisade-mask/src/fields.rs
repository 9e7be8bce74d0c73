//! Field rules compiled for lookup at every member: most rules end with a literal key
//! (`**.password`, `customer.ssn`), so a member whose key is none of those literals is ruled out
//! without walking its path. Only the rules that could match the last segment are tried, in
//! policy order (the first match wins).

use crate::Operator;
use crate::path::{Location, PathPattern, SegRef};

/// One field rule, compiled.
#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub(crate) pattern: PathPattern,
    pub(crate) op: Operator,
    pub(crate) name: String,
}

/// The field rules with an index from a member's key to the rules that could select it.
#[derive(Debug, Default)]
pub(crate) struct FieldRules {
    rules: Vec<CompiledRule>,
    /// The literal last keys, in [`SLOTS`] buckets by [`slot`], each with the indexes
    /// (ascending) of the rules ending with it merged with `wild`.
    by_key: Vec<Vec<(String, Box<[usize]>)>>,
    /// Rules whose last segment is not a literal key (`[*]`, `[2]`, `*`, `**`): tried everywhere.
    wild: Box<[usize]>,
}

/// How many buckets the literal keys are spread over.
const SLOTS: usize = 64;

/// A key's bucket, from its length and first and last bytes (cheap, and enough to tell most
/// keys of a document from the handful a policy names).
fn slot(key: &[u8]) -> usize {
    let first = usize::from(key.first().copied().unwrap_or(0));
    let last = usize::from(key.last().copied().unwrap_or(0));
    (key.len().wrapping_mul(7) ^ first ^ last.wrapping_mul(3)) % SLOTS
}

impl FieldRules {
    pub(crate) fn new(rules: Vec<CompiledRule>) -> Self {
        let wild: Box<[usize]> = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.pattern.last_key().is_none())
            .map(|(i, _)| i)
            .collect();
        let mut by_key: Vec<Vec<(String, Box<[usize]>)>> = vec![Vec::new(); SLOTS];
        for rule in &rules {
            let Some(key) = rule.pattern.last_key() else { continue };
            let Some(bucket) = by_key.get_mut(slot(key.as_bytes())) else { continue };
            if bucket.iter().any(|(k, _)| k == key) {
                continue;
            }
            let candidates = rules
                .iter()
                .enumerate()
                .filter(|(i, r)| r.pattern.last_key() == Some(key) || wild.contains(i))
                .map(|(i, _)| i)
                .collect();
            bucket.push((key.to_owned(), candidates));
        }
        Self { rules, by_key, wild }
    }

    /// The first rule (in policy order) whose pattern matches `path`.
    #[inline]
    pub(crate) fn find<L: Location + ?Sized>(&self, path: &L) -> Option<&CompiledRule> {
        let candidates = match path.last_seg() {
            Some(SegRef::Key(k)) => self
                .by_key
                .get(slot(k))
                .and_then(|bucket| bucket.iter().find(|(key, _)| key.as_bytes() == k))
                .map_or(&*self.wild, |(_, c)| &**c),
            _ => &*self.wild,
        };
        candidates.iter().filter_map(|&i| self.rules.get(i)).find(|r| r.pattern.matches_at(path))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rules(patterns: &[&str]) -> FieldRules {
        FieldRules::new(
            patterns
                .iter()
                .map(|p| CompiledRule {
                    pattern: PathPattern::parse(p).unwrap(),
                    op: Operator::Redact,
                    name: (*p).to_owned(),
                })
                .collect(),
        )
    }

    use crate::path::tests::p as path;

    #[test]
    fn first_matching_rule_wins_across_literal_and_wild_rules() {
        let r = rules(&["a.b", "**", "**.b", "x[*]", "c.b", "*.*"]);
        let name = |segs: &[&str]| r.find(path(segs).as_slice()).map(|f| f.name.as_str());
        assert_eq!(name(&["a", "b"]), Some("a.b"));
        assert_eq!(name(&["c", "b"]), Some("**"));
        assert_eq!(name(&["x", "0"]), Some("**"));
        let r = rules(&["a.b", "x[*]", "**.b", "c.b", "*.*", "q[2]"]);
        let name = |segs: &[&str]| r.find(path(segs).as_slice()).map(|f| f.name.as_str());
        assert_eq!(name(&["c", "b"]), Some("**.b"));
        assert_eq!(name(&["x", "3"]), Some("x[*]"));
        assert_eq!(name(&["q", "2"]), Some("*.*"));
        assert_eq!(name(&["q", "2", "b"]), Some("**.b"));
        assert_eq!(name(&["q", "bb"]), Some("*.*"));
        assert_eq!(name(&["q", "b", "z"]), None);
        assert_eq!(name(&[]), None);
    }
}
