//! Case-insensitive field-name patterns.

/// Lower-cases and drops `_ - . space`, so `API_Key`, `api-key` and `apiKey` compare equal.
pub fn normalize(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, '_' | '-' | '.' | ' ')).flat_map(char::to_lowercase).collect()
}

/// A compiled glob over normalized names.
#[derive(Debug, Clone)]
pub struct NamePattern {
    source: String,
    parts: Vec<String>,
    anchored_start: bool,
    anchored_end: bool,
}

impl NamePattern {
    /// Compiles a pattern (`*` = any run of characters).
    pub fn new(pattern: &str) -> Self {
        let norm = normalize(pattern);
        Self {
            source: pattern.to_owned(),
            anchored_start: !norm.starts_with('*'),
            anchored_end: !norm.ends_with('*'),
            parts: norm.split('*').filter(|p| !p.is_empty()).map(str::to_owned).collect(),
        }
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether an already-normalized name matches.
    pub fn matches_normalized(&self, name: &str) -> bool {
        let mut rest = name;
        let last = self.parts.len().saturating_sub(1);
        for (i, part) in self.parts.iter().enumerate() {
            if i == 0 && self.anchored_start {
                match rest.strip_prefix(part.as_str()) {
                    Some(r) => rest = r,
                    None => return false,
                }
                if i == last && self.anchored_end {
                    return rest.is_empty();
                }
                continue;
            }
            if i == last && self.anchored_end {
                return rest.ends_with(part.as_str());
            }
            match rest.find(part.as_str()) {
                Some(pos) => rest = rest.get(pos + part.len()..).unwrap_or(""),
                None => return false,
            }
        }
        !self.anchored_end || rest.is_empty() || self.parts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing() {
        let m = |p: &str, n: &str| NamePattern::new(p).matches_normalized(&normalize(n));
        assert!(m("*password*", "userPassword"));
        assert!(m("*password*", "PASSWORD_HASH"));
        assert!(m("*apikey*", "x-api-key"));
        assert!(m("*apikey*", "Api_Key"));
        assert!(m("pwd", "PWD"));
        assert!(!m("pwd", "pwdx"));
        assert!(!m("ssn", "lessons"));
        assert!(m("ssn", "SSN"));
        assert!(m("a*c", "abc"));
        assert!(!m("a*c", "abcd"));
        assert!(m("*key", "privateKey"));
        assert!(!m("*key", "keyring"));
        assert!(!m("*token*", "username"));
    }
}
