//! The per-tenant hash chain: how an event becomes a stored entry line, and how a line is read
//! back and checked.
//!
//! An entry line is the RFC 8785 canonical JSON of
//! `{"v":1,"seq":N,"prev":"<hex>","event":{...},"hash":"<hex>"}` followed by `\n`, where `hash`
//! is SHA-256 over the canonical JSON of the same object without its `hash` member, and `prev`
//! is the `hash` of entry `N-1` (64 zeros for entry 1). Hashes are taken over the JSON as stored,
//! not over a re-serialization, so entries written by other tools verify as long as they follow
//! this rule.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::event::AuditEvent;
use crate::jcs;

/// Version of the entry and checkpoint line format.
pub const FORMAT_VERSION: u64 = 1;

/// A SHA-256 digest: an entry's hash, or a chain head.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The `prev` of the first entry of a chain: 32 zero bytes.
    pub const GENESIS: Digest = Digest([0u8; 32]);

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for b in self.0 {
            out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            out.push(char::from_digit(u32::from(b & 0x0f), 16).unwrap_or('0'));
        }
        out
    }

    /// Parses 64 lower-case hex digits: the only form written, so that a log line has exactly one
    /// valid spelling and any changed byte (even a changed letter case) is detected.
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}
impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}
impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::from_hex(&s).ok_or_else(|| de::Error::custom("expected 64 hex digits"))
    }
}

/// The end of a tenant's chain: how many entries it has and the hash of the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainHead {
    /// Sequence number of the last entry (= number of entries; the first is 1).
    pub seq: u64,
    /// Hash of the last entry ([`Digest::GENESIS`] when empty).
    pub hash: Digest,
}

impl ChainHead {
    /// The head of an empty chain.
    pub const EMPTY: ChainHead = ChainHead { seq: 0, hash: Digest::GENESIS };
}

/// A stored entry: an event with its place in its tenant's chain.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredEntry {
    /// Position in the tenant's chain, from 1.
    pub seq: u64,
    /// Hash of the previous entry.
    pub prev: Digest,
    /// This entry's hash.
    pub hash: Digest,
    /// The event.
    pub event: AuditEvent,
}

impl StoredEntry {
    /// The entry's line as the stores write it (canonical JSON + `\n`).
    pub fn to_line(&self) -> Result<Vec<u8>> {
        let mut obj = Map::new();
        obj.insert("v".into(), Value::from(FORMAT_VERSION));
        obj.insert("seq".into(), Value::from(self.seq));
        obj.insert("prev".into(), Value::String(self.prev.to_hex()));
        obj.insert("event".into(), serde_json::to_value(&self.event)?);
        obj.insert("hash".into(), Value::String(self.hash.to_hex()));
        let mut line = jcs::to_vec(&Value::Object(obj));
        line.push(b'\n');
        Ok(line)
    }
}

/// An event canonicalized and half hashed, ready to be chained: the costly part of sealing,
/// which needs no chain head and so can run on the caller's thread, in parallel with other
/// appends, before the one writer assigns `seq` and `prev`.
pub struct Prepared {
    event: AuditEvent,
    /// The canonical JSON of the event.
    json: Vec<u8>,
    /// SHA-256 state after `{"event":<json>,`.
    prefix: Sha256,
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prepared").field("event", &self.event).finish_non_exhaustive()
    }
}

impl Prepared {
    /// Canonicalizes `event` and hashes its bytes.
    ///
    /// In RFC 8785 member order the entry object is `{"event":…,"hash":…,"prev":…,"seq":…,"v":…}`,
    /// so the hashed bytes (without `hash`) and the line (with it) share the event's bytes and
    /// differ only by the `"hash":"…",` member; a unit test checks both against the generic
    /// `jcs` writer.
    pub fn new(event: AuditEvent) -> Result<Self> {
        let mut json = Vec::with_capacity(512);
        jcs::write(&serde_json::to_value(&event)?, &mut json);
        let mut prefix = Sha256::new();
        prefix.update(br#"{"event":"#);
        prefix.update(&json);
        prefix.update(b",");
        Ok(Self { event, json, prefix })
    }

    /// The event's tenant.
    pub fn tenant(&self) -> &palisade_core::TenantId {
        &self.event.tenant
    }

    /// Chains the event after `head`: returns the entry and its line (canonical JSON + `\n`).
    pub fn seal(self, head: ChainHead) -> Result<(StoredEntry, Vec<u8>)> {
        let seq =
            head.seq.checked_add(1).ok_or_else(|| Error::invalid("chain", "sequence number overflow"))?;
        let mut tail = Vec::with_capacity(100);
        tail.extend_from_slice(br#""prev":""#);
        tail.extend_from_slice(head.hash.to_hex().as_bytes());
        tail.extend_from_slice(br#"","seq":"#);
        tail.extend_from_slice(seq.to_string().as_bytes());
        tail.extend_from_slice(br#","v":"#);
        tail.extend_from_slice(FORMAT_VERSION.to_string().as_bytes());
        tail.push(b'}');
        let mut hasher = self.prefix;
        hasher.update(&tail);
        let hash = Digest(hasher.finalize().into());

        let mut line = Vec::with_capacity(self.json.len() + tail.len() + 96);
        line.extend_from_slice(br#"{"event":"#);
        line.extend_from_slice(&self.json);
        line.extend_from_slice(br#","hash":""#);
        line.extend_from_slice(hash.to_hex().as_bytes());
        line.extend_from_slice(br#"","#);
        line.extend_from_slice(&tail);
        line.push(b'\n');
        Ok((StoredEntry { seq, prev: head.hash, hash, event: self.event }, line))
    }
}

/// Builds the next entry after `head`: returns the entry and its line (canonical JSON + `\n`).
/// The same as [`Prepared::new`] then [`Prepared::seal`].
pub fn seal(head: ChainHead, event: AuditEvent) -> Result<(StoredEntry, Vec<u8>)> {
    Prepared::new(event)?.seal(head)
}

/// SHA-256 over the canonical JSON of `obj` without its `hash` member.
pub fn hash_of(obj: &Value) -> Digest {
    let mut bytes = Vec::with_capacity(512);
    match obj {
        Value::Object(m) => jcs::write_object(m, Some("hash"), &mut bytes),
        other => jcs::write(other, &mut bytes),
    }
    Digest(Sha256::digest(&bytes).into())
}

/// One line of a log file, parsed.
#[derive(Debug, Clone)]
pub enum Record {
    /// A chain entry.
    Entry(RawEntry),
    /// A signed checkpoint.
    Checkpoint(crate::checkpoint::SignedCheckpoint),
}

/// A chain entry as read from a line, before the chain is checked.
#[derive(Debug, Clone)]
pub struct RawEntry {
    /// `seq` as written.
    pub seq: u64,
    /// `prev` as written.
    pub prev: Digest,
    /// `hash` as written.
    pub hash: Digest,
    /// The hash recomputed from the line's content.
    pub computed: Digest,
    /// The tenant named in the event.
    pub tenant: String,
    /// The event as JSON, as written.
    pub event: Value,
}

impl RawEntry {
    /// Whether the line's content still matches its `hash`.
    pub fn hash_ok(&self) -> bool {
        palisade_core::ct_eq(&self.hash.0, &self.computed.0)
    }

    /// The typed event (fails on events this build cannot read).
    pub fn to_stored(&self) -> Result<StoredEntry> {
        Ok(StoredEntry {
            seq: self.seq,
            prev: self.prev,
            hash: self.hash,
            event: serde_json::from_value(self.event.clone())?,
        })
    }
}

/// Parses one line (without its `\n`) into a record. The error says what is malformed.
pub fn parse_line(line: &[u8]) -> std::result::Result<Record, String> {
    let text = std::str::from_utf8(line).map_err(|_| "not UTF-8".to_owned())?;
    let mut de = serde_json::Deserializer::from_str(text);
    let StrictValue(value) = StrictValue::deserialize(&mut de).map_err(|e| format!("not JSON: {e}"))?;
    de.end().map_err(|e| format!("trailing data after the JSON object: {e}"))?;
    let Value::Object(map) = &value else { return Err("not a JSON object".into()) };
    match map.get("v").and_then(Value::as_u64) {
        Some(FORMAT_VERSION) => {}
        Some(v) => return Err(format!("format version {v} is not supported (expected {FORMAT_VERSION})")),
        None => return Err("missing the format version member \"v\"".into()),
    }
    if map.contains_key("checkpoint") {
        return crate::checkpoint::SignedCheckpoint::from_value(&value).map(Record::Checkpoint);
    }
    let seq =
        map.get("seq").and_then(Value::as_u64).filter(|s| *s >= 1).ok_or("missing or invalid \"seq\"")?;
    let digest = |k: &str| {
        map.get(k)
            .and_then(Value::as_str)
            .and_then(Digest::from_hex)
            .ok_or_else(|| format!("missing or invalid {k:?}"))
    };
    let prev = digest("prev")?;
    let hash = digest("hash")?;
    let tenant = map
        .get("event")
        .filter(|e| e.is_object())
        .ok_or("missing \"event\" object")?
        .get("tenant")
        .and_then(Value::as_str)
        .ok_or("event has no \"tenant\"")?
        .to_owned();
    let computed = hash_of(&value);
    let Value::Object(mut map) = value else { return Err("not a JSON object".into()) };
    let event = map.remove("event").unwrap_or_default();
    Ok(Record::Entry(RawEntry { seq, prev, hash, computed, tenant, event }))
}

/// A JSON value that refuses duplicate object members: with duplicates, two readers could see
/// two different values behind one hash.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = StrictValue;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<StrictValue, E> {
        Ok(StrictValue(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<StrictValue, E> {
        Ok(StrictValue(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<StrictValue, E> {
        Ok(StrictValue(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<StrictValue, E> {
        Number::from_f64(v)
            .map(|n| StrictValue(Value::Number(n)))
            .ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v)))
    }
    fn visit_unit<E>(self) -> std::result::Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }
    fn visit_none<E>(self) -> std::result::Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<StrictValue, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(StrictValue(Value::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<StrictValue, A::Error> {
        let mut seen = BTreeMap::new();
        while let Some((k, StrictValue(v))) = map.next_entry::<String, StrictValue>()? {
            if seen.contains_key(&k) {
                return Err(de::Error::custom(format!("duplicate member {k:?}")));
            }
            seen.insert(k, v);
        }
        Ok(StrictValue(Value::Object(seen.into_iter().collect())))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::event::Actor;
    use palisade_core::ManualClock;
    use time::macros::datetime;

    fn event() -> AuditEvent {
        let clock = ManualClock::new(datetime!(2026-03-01 09:00 UTC));
        AuditEvent::new(&clock, "acme".parse().unwrap(), Actor::system("t"), "user.login.succeeded").unwrap()
    }

    #[test]
    fn sealed_lines_parse_and_verify() {
        let (e1, l1) = seal(ChainHead::EMPTY, event()).unwrap();
        let (e2, l2) = seal(ChainHead { seq: e1.seq, hash: e1.hash }, event()).unwrap();
        assert_eq!(e2.prev, e1.hash);
        for (e, l) in [(e1, l1), (e2, l2)] {
            let Record::Entry(raw) = parse_line(l.strip_suffix(b"\n").unwrap()).unwrap() else { panic!() };
            assert!(raw.hash_ok());
            assert_eq!(raw.seq, e.seq);
            assert_eq!(raw.to_stored().unwrap(), e);
        }
    }

    #[test]
    fn sealed_line_is_the_generic_canonical_form() {
        let (e1, _) = seal(ChainHead::EMPTY, event()).unwrap();
        let head = ChainHead { seq: e1.seq, hash: e1.hash };
        let (e2, line) = seal(head, event()).unwrap();
        let mut obj = Map::new();
        obj.insert("v".into(), Value::from(FORMAT_VERSION));
        obj.insert("seq".into(), Value::from(e2.seq));
        obj.insert("prev".into(), Value::String(e1.hash.to_hex()));
        obj.insert("event".into(), serde_json::to_value(&e2.event).unwrap());
        let obj = Value::Object(obj);
        assert_eq!(hash_of(&obj), e2.hash);
        let Value::Object(mut with_hash) = obj else { panic!("an object") };
        with_hash.insert("hash".into(), Value::String(e2.hash.to_hex()));
        let mut expected = jcs::to_vec(&Value::Object(with_hash));
        expected.push(b'\n');
        assert_eq!(line, expected);
    }

    #[test]
    fn non_canonical_but_equal_json_verifies() {
        let (_, line) = seal(ChainHead::EMPTY, event()).unwrap();
        let v: Value = serde_json::from_slice(&line).unwrap();
        let pretty = serde_json::to_vec_pretty(&v).unwrap();
        let Record::Entry(raw) = parse_line(&pretty).unwrap() else { panic!() };
        assert!(raw.hash_ok());
    }

    #[test]
    fn duplicate_members_are_malformed() {
        let err = parse_line(br#"{"v":1,"seq":1,"seq":2}"#).unwrap_err();
        assert!(err.contains("duplicate"), "{err}");
    }

    #[test]
    fn one_changed_byte_breaks_the_hash() {
        let (_, line) = seal(ChainHead::EMPTY, event()).unwrap();
        let text = String::from_utf8(line).unwrap().replace("succeeded", "succeedex");
        let Record::Entry(raw) = parse_line(text.trim_end().as_bytes()).unwrap() else { panic!() };
        assert!(!raw.hash_ok());
    }
}
