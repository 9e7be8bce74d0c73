//! The masking policy: serde-loadable from TOML or JSON, validated as a whole.

use serde::{Deserialize, Serialize};

use crate::detect::DetectorKind;
use crate::path::PathPattern;

/// What replaces a selected value.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Operator {
    /// A fixed placeholder (`[REDACTED]` for fields, `[REDACTED:<detector>]` for detected values).
    #[default]
    Redact,
    /// Keep the last `keep_last` letters/digits (at most half of them), star the others; separators
    /// stay. `4111 1111 1111 1111` → `**** **** **** 1111`.
    Partial {
        /// How many trailing letters/digits to keep.
        keep_last: usize,
    },
    /// `pseu_` + 24 hex digits of HMAC-SHA256(tenant key, value): equal inputs give equal tokens
    /// within a tenant, unrelated tokens across tenants. Needs a [`crate::PseudonymKey`].
    Pseudonym,
    /// Drop the member / array element (for detected spans inside text: drop the span).
    Remove,
    /// Keep only the first `max_chars` characters.
    Truncate {
        /// How many leading characters to keep.
        max_chars: usize,
    },
}

impl Operator {
    /// Whether the replacement depends on the value's text (`redact` and `remove` do not).
    pub(crate) fn uses_text(&self) -> bool {
        matches!(self, Self::Partial { .. } | Self::Pseudonym | Self::Truncate { .. })
    }
}

/// What a sensitive step's placeholder keeps of the real payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// Nothing: the payload becomes `{"data":"masked"}`.
    #[default]
    Nothing,
    /// The top-level keys of an object, each value `"masked"`.
    TopLevelKeys,
    /// The shape: keys kept, every scalar replaced by its type name (`"string"`, `"number"`, …).
    Types,
}

/// Whole-step masking: the entire payload is replaced by a placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WholeStep {
    /// What the placeholder keeps.
    #[serde(default)]
    pub keep: Keep,
}

/// A rule selecting values by their JSON path.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    /// The path pattern, e.g. `customer.ssn`, `items[*].card`, `**.password`.
    pub path: String,
    /// What to do with the selected value.
    #[serde(default)]
    pub operator: Operator,
    /// The rule's name in reports (defaults to `path:<path>`).
    #[serde(default)]
    pub name: Option<String>,
}

/// Field-name patterns: any member whose key matches is selected, wherever it is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldNames {
    /// Include the built-in set ([`DEFAULT_FIELD_NAMES`]). On by default.
    #[serde(default = "yes")]
    pub defaults: bool,
    /// Extra patterns. Matching ignores case and the characters `_ - . space`; `*` matches any
    /// run of characters (`*token*`, `pin`).
    #[serde(default)]
    pub patterns: Vec<String>,
    /// What to do with selected values.
    #[serde(default)]
    pub operator: Operator,
}

fn yes() -> bool {
    true
}

impl Default for FieldNames {
    fn default() -> Self {
        Self { defaults: true, patterns: Vec::new(), operator: Operator::Redact }
    }
}

/// The built-in field-name patterns (normalized: lower case, without `_ - . space`).
pub const DEFAULT_FIELD_NAMES: &[&str] = &[
    "*password*",
    "*passwd*",
    "pwd",
    "*passphrase*",
    "*secret*",
    "*token*",
    "*authorization*",
    "*apikey*",
    "*accesskey*",
    "*cookie*",
    "*privatekey*",
    "*credential*",
    "*sessionid*",
    "*signature*",
    "ssn",
    "*cardnumber*",
    "cvv",
    "cvc",
];

/// A value detector, enabled with an operator.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorRule {
    /// Which detector.
    pub kind: DetectorKind,
    /// What to do with detected spans.
    #[serde(default)]
    pub operator: Operator,
}

/// A masking policy.
///
/// Defaults are the safe choice: the built-in field-name set and every detector, redacting. An
/// explicit `detectors = []` turns detectors off.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// When set, the whole payload is replaced by a placeholder (a step marked sensitive).
    #[serde(default)]
    pub whole_step: Option<WholeStep>,
    /// Path rules; the first matching rule wins, and path rules win over field-name patterns.
    #[serde(default)]
    pub fields: Vec<FieldRule>,
    /// Field-name patterns.
    #[serde(default)]
    pub field_names: FieldNames,
    /// Enabled detectors; absent = all of them with `redact`.
    #[serde(default)]
    pub detectors: Option<Vec<DetectorRule>>,
}

/// Longest accepted `keep_last` / `max_chars`.
pub const MAX_KEEP: usize = 64;

impl Policy {
    /// The built-in policy: default field-name set and every detector, redact.
    pub fn builtin() -> Self {
        Self::default()
    }

    /// Parses a JSON policy document (hosts loading TOML deserialize [`Policy`] with `toml`).
    pub fn from_json(text: &str) -> crate::Result<Self> {
        serde_json::from_str(text).map_err(|e| crate::Error::Policy(vec![e.to_string()]))
    }

    /// Every problem with this policy (empty when valid).
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut check_op = |what: &str, op: &Operator| match op {
            Operator::Partial { keep_last } if *keep_last > MAX_KEEP => {
                problems.push(format!("{what}: keep_last {keep_last} is above {MAX_KEEP}"))
            }
            Operator::Truncate { max_chars } if *max_chars > MAX_KEEP => {
                problems.push(format!("{what}: max_chars {max_chars} is above {MAX_KEEP}"))
            }
            _ => {}
        };
        for rule in &self.fields {
            check_op(&format!("field rule {:?}", rule.path), &rule.operator);
        }
        check_op("field_names", &self.field_names.operator);
        if let Some(dets) = &self.detectors {
            for d in dets {
                check_op(&format!("detector {:?}", d.kind), &d.operator);
            }
        }
        for rule in &self.fields {
            if let Err(e) = PathPattern::parse(&rule.path) {
                problems.push(format!("field rule: {e}"));
            }
        }
        for p in &self.field_names.patterns {
            if crate::names::normalize(p).trim_matches('*').is_empty() {
                problems.push(format!(
                    "field name pattern {p:?} matches every key; use a path rule `**` instead"
                ));
            }
        }
        problems
    }

    /// Whether any rule uses the pseudonym operator (then a key is required).
    pub fn needs_key(&self) -> bool {
        self.fields.iter().any(|r| r.operator == Operator::Pseudonym)
            || self.field_names.operator == Operator::Pseudonym
            || self.detectors.iter().flatten().any(|d| d.operator == Operator::Pseudonym)
    }
}
