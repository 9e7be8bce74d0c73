//! `Sensitive<T>` for hosts' own fields, and `Masked<T>`, the proof that a value went through the
//! masker.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that must not show: `Debug`, `Display` and `Serialize` print `[REDACTED]`; the raw
/// value only through [`Sensitive::expose`] / [`Sensitive::into_exposed`]. Deserializes
/// transparently.
///
/// ```
/// use palisade_mask::Sensitive;
/// let ssn = Sensitive::new("123-45-6789".to_owned());
/// assert_eq!(format!("{ssn:?} {ssn}"), "Sensitive([REDACTED]) [REDACTED]");
/// assert_eq!(serde_json::to_string(&ssn)?, "\"[REDACTED]\"");
/// assert_eq!(ssn.expose(), "123-45-6789");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }
    /// The raw value: an explicit, greppable call.
    pub fn expose(&self) -> &T {
        &self.0
    }
    /// Unwraps the raw value.
    pub fn into_exposed(self) -> T {
        self.0
    }
}

impl<T> std::fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sensitive([REDACTED])")
    }
}

impl<T> std::fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(crate::REDACTED)
    }
}

impl<T> Serialize for Sensitive<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(crate::REDACTED)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sensitive<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Self)
    }
}

/// A value produced by a [`crate::Masker`]. Its field is private and there is no public
/// constructor, so only the masker makes one.
///
/// # The compile-time pattern
/// Make every sink of displayed or stored data (job history writer, audit streamer, UI API)
/// accept `Masked<T>` instead of `T`. Writing unmasked data is then a type error, not a review
/// finding:
///
/// ```
/// use palisade_mask::{Masked, Masker};
/// fn write_history(entry: &Masked<serde_json::Value>) -> String {
///     serde_json::to_string(entry).unwrap_or_default()
/// }
/// let masker = Masker::builtin();
/// let (masked, _report) = masker.mask_value(serde_json::json!({"token": "abc"}));
/// assert_eq!(write_history(&masked), r#"{"token":"[REDACTED]"}"#);
/// ```
///
/// Handing it raw data does not compile:
///
/// ```compile_fail
/// use palisade_mask::Masked;
/// fn write_history(entry: &Masked<serde_json::Value>) {}
/// write_history(&serde_json::json!({"token": "abc"})); // error: expected `Masked<Value>`
/// ```
///
/// Nor can a host forge one:
///
/// ```compile_fail
/// let forged = palisade_mask::Masked(serde_json::json!({})); // error: private field
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked<T>(pub(crate) T);

impl<T> Masked<T> {
    /// The masked value.
    pub fn as_inner(&self) -> &T {
        &self.0
    }
    /// Unwraps the masked value (its provenance is no longer tracked).
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: Serialize> Serialize for Masked<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}
