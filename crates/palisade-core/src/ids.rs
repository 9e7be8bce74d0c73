//! Typed identifiers: a tenant (a workspace), a user, an environment.
//!
//! Each id is its own type, so a function that wants a [`TenantId`] cannot be handed a
//! [`UserId`] by mistake. All three share one syntax, checked on every way in (`FromStr`,
//! `TryFrom<String>`, serde): 1 to 64 ASCII characters, letters, digits, `-`, `_`, `.`, `@` and
//! `:`, starting with a letter or a digit. That covers UUIDs, slugs, e-mail-like user names and
//! URNs, and keeps ids safe to embed in storage keys, log lines and file names.
//!
//! ```
//! use palisade_core::{TenantId, UserId};
//!
//! let tenant: TenantId = "acme".parse()?;
//! let user = UserId::new("alice@acme.example")?;
//! assert_eq!(tenant.to_string(), "acme");
//! assert!("".parse::<TenantId>().is_err());
//! assert!("../etc".parse::<UserId>().is_err());
//! # let _ = user;
//! # Ok::<(), palisade_core::IdError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::IdError;

/// The longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 64;

fn validate(kind: &'static str, value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if value.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { kind, len: value.len(), max: MAX_ID_LEN });
    }
    let mut chars = value.char_indices();
    if let Some((_, first)) = chars.next()
        && !first.is_ascii_alphanumeric()
    {
        return Err(IdError::BadStart { kind, found: first });
    }
    for (at, c) in chars {
        if !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | ':')) {
            return Err(IdError::BadChar { kind, found: c, at });
        }
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Box<str>);

        impl $name {
            /// Validates `value` and wraps it.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                validate($kind, &value)?;
                Ok(Self(value.into_boxed_str()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), &*self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.into_string()
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A tenant: one customer workspace. Everything palisade stores is scoped by one.
    TenantId,
    "tenant id"
);
id_type!(
    /// A user of the host application, unique within the host (not only within a tenant).
    UserId,
    "user id"
);
id_type!(
    /// An environment of a tenant (`development`, `test`, `production`, or host-defined).
    EnvironmentId,
    "environment id"
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_common_shapes() {
        for ok in
            ["acme", "a", "0d3c9f1e-6a7b-4c1d-9e2f-3a4b5c6d7e8f", "alice@acme.example", "urn:x:1", "dev_2"]
        {
            assert_eq!(TenantId::new(ok).map(|t| t.to_string()), Ok(ok.to_owned()), "{ok}");
        }
        assert_eq!(TenantId::new("x".repeat(64)).map(|t| t.as_str().len()), Ok(64));
    }

    #[test]
    fn rejects_with_a_reason() {
        assert_eq!(TenantId::new(""), Err(IdError::Empty { kind: "tenant id" }));
        assert_eq!(UserId::new("x".repeat(65)), Err(IdError::TooLong { kind: "user id", len: 65, max: 64 }));
        assert_eq!(UserId::new("-bob"), Err(IdError::BadStart { kind: "user id", found: '-' }));
        assert_eq!(
            EnvironmentId::new("prod env"),
            Err(IdError::BadChar { kind: "environment id", found: ' ', at: 4 })
        );
        assert_eq!(TenantId::new("acmé"), Err(IdError::BadChar { kind: "tenant id", found: 'é', at: 3 }));
        let msg = TenantId::new("a/b").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("tenant id") && msg.contains("'/'") && msg.contains("use only"), "{msg}");
    }

    #[test]
    fn serde_validates() {
        let t: TenantId = serde_json::from_str("\"acme\"").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"acme\"");
        assert!(serde_json::from_str::<TenantId>("\"a b\"").is_err());
        assert!(serde_json::from_str::<UserId>("\"\"").is_err());
    }

    #[test]
    fn debug_names_the_kind() {
        assert_eq!(format!("{:?}", UserId::new("bob").unwrap()), "UserId(\"bob\")");
    }

    proptest! {
        #[test]
        fn parse_display_round_trip(s in "[a-zA-Z0-9][a-zA-Z0-9._@:-]{0,63}") {
            let id: UserId = s.parse().unwrap();
            prop_assert_eq!(id.to_string(), s);
        }

        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = TenantId::new(s);
        }
    }
}
