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

/// Defines a validated string newtype: an `Arc<str>` that can only be built through `new`, which
/// runs `validate`, on every way in (`FromStr`, `TryFrom<String>`, serde). It gets `as_str`,
/// `Display`, a `Debug` that names the type, `AsRef<str>`, `Into<String>`, ordering and hashing
/// by the text, and serde as a plain string; and `Borrow<str>` (so that maps keyed by it can be
/// searched with a `&str`) when the invocation ends with `, Borrow<str>`. Clones share the text
/// (a reference count, no copy), so a store can keep one copy of a tenant id for all its records.
///
/// palisade's own ids ([`TenantId`], [`UserId`], [`EnvironmentId`]) are defined with it; crates
/// with their own name syntax (role names, asset types, ...) use it too, so that every
/// validated name in the workspace behaves alike.
///
/// ```
/// #[derive(Debug)]
/// pub struct NotShort;
/// impl std::fmt::Display for NotShort {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("use at most 8 characters")
///     }
/// }
/// palisade_core::validated_string!(
///     /// A short name.
///     pub ShortName, NotShort, |v: &str| if v.len() <= 8 { Ok(()) } else { Err(NotShort) }
/// );
/// let n: ShortName = "abc".parse()?;
/// assert_eq!((n.as_str(), format!("{n:?}")), ("abc", r#"ShortName("abc")"#.to_owned()));
/// assert!(ShortName::new("much too long").is_err());
/// assert!(serde_json::from_str::<ShortName>(r#""much too long""#).is_err());
/// # Ok::<(), NotShort>(())
/// ```
#[macro_export]
macro_rules! validated_string {
    ($(#[$doc:meta])* $vis:vis $name:ident, $err:ty, $validate:expr, Borrow<str>) => {
        $crate::validated_string!($(#[$doc])* $vis $name, $err, $validate);

        impl ::core::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
    ($(#[$doc:meta])* $vis:vis $name:ident, $err:ty, $validate:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis struct $name(::std::sync::Arc<str>);

        impl $name {
            /// Validates `value` and wraps it.
            pub fn new(value: impl Into<String>) -> ::core::result::Result<Self, $err> {
                let value: String = value.into();
                ($validate)(value.as_str())?;
                Ok(Self(::std::sync::Arc::from(value)))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), &*self.0)
            }
        }

        impl ::core::str::FromStr for $name {
            type Err = $err;
            fn from_str(s: &str) -> ::core::result::Result<Self, $err> {
                Self::new(s)
            }
        }

        impl ::core::convert::TryFrom<String> for $name {
            type Error = $err;
            fn try_from(s: String) -> ::core::result::Result<Self, $err> {
                Self::new(s)
            }
        }

        impl ::core::convert::From<$name> for String {
            fn from(v: $name) -> String {
                ::std::string::String::from(&*v.0)
            }
        }

        impl ::core::convert::AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                let text = <String as $crate::__private::serde::Deserialize>::deserialize(deserializer)?;
                Self::new(text).map_err(<D::Error as $crate::__private::serde::de::Error>::custom)
            }
        }
    };
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        crate::validated_string!($(#[$doc])* pub $name, IdError, |v: &str| validate($kind, v));
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
