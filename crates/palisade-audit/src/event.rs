//! The audit event: who did what to which thing in which tenant, when, and how it turned out.
//!
//! The JSON shape is version 1 of the schema (field `version`), documented in
//! `docs/audit-format.md`. New optional fields may be added within a version; a field's meaning
//! never changes without a new version.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use palisade_core::{Clock, TenantId, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, Result};

/// The schema version this crate writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Longest accepted free-text field (actor id, user agent, reason, display name), in bytes.
pub const MAX_TEXT_LEN: usize = 1024;

/// An event's id: a UUIDv7, so ids sort by creation time and double as de-duplication keys
/// downstream.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(Uuid);

impl EventId {
    /// A new UUIDv7 for an event at `at`: 48 bits of Unix milliseconds, then 74 bits from the
    /// OS CSPRNG.
    pub fn new_v7(at: OffsetDateTime) -> Result<Self> {
        let ms = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let random: [u8; 10] = palisade_core::random::array()?;
        Ok(Self(uuid::Builder::from_unix_timestamp_millis(ms, &random).into_uuid()))
    }

    /// The UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({})", self.0.hyphenated())
    }
}

impl FromStr for EventId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Uuid::parse_str(s).map(Self).map_err(|e| Error::invalid("event id", e.to_string()))
    }
}

/// A stable, dotted action name such as `user.login.succeeded`: 2 to 8 segments of lowercase
/// ASCII letters, digits and `_`, at most 128 bytes. See `docs/audit-actions.md` for the names
/// palisade's crates use.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Action(Box<str>);

impl Action {
    /// Validates and wraps `name`.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let bad = |why: &str| {
            Err(Error::invalid(
                "action",
                format!("{name:?} {why}; use lowercase dotted names like `user.login.succeeded`"),
            ))
        };
        if name.len() > 128 {
            return bad("is longer than 128 bytes");
        }
        let segments: Vec<&str> = name.split('.').collect();
        if !(2..=8).contains(&segments.len()) {
            return bad("must have 2 to 8 dot-separated segments");
        }
        for s in segments {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                return bad("has a segment that is empty or not made of [a-z0-9_]");
            }
        }
        Ok(Self(name.into_boxed_str()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this action is `prefix` or lies under it (`user.login` matches
    /// `user.login.succeeded`, not `user.loginx`). An empty prefix matches everything.
    pub fn matches_prefix(&self, prefix: &str) -> bool {
        let prefix = prefix.trim_end_matches('.');
        prefix.is_empty()
            || self.0.as_ref() == prefix
            || (self.0.starts_with(prefix) && self.0.as_bytes().get(prefix.len()) == Some(&b'.'))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Action({:?})", &*self.0)
    }
}
impl TryFrom<String> for Action {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Self::new(s)
    }
}
impl From<Action> for String {
    fn from(a: Action) -> String {
        a.0.into_string()
    }
}
impl FromStr for Action {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

/// What kind of principal acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActorKind {
    /// A person signed in to the host.
    User,
    /// An API client (token, OAuth client, service account).
    ApiClient,
    /// The host itself (a scheduled job, a retention sweep, an operator script).
    System,
}

impl ActorKind {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::ApiClient => "api_client",
            ActorKind::System => "system",
        }
    }
}

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The kind of principal.
    pub kind: ActorKind,
    /// Its id (a user id, a client id, a job name).
    pub id: String,
    /// The client's IP address, as the host determined it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// The client's user agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl Actor {
    /// A signed-in user.
    pub fn user(id: &UserId) -> Self {
        Self { kind: ActorKind::User, id: id.as_str().to_owned(), ip: None, user_agent: None }
    }
    /// An API client.
    pub fn api_client(id: impl Into<String>) -> Self {
        Self { kind: ActorKind::ApiClient, id: id.into(), ip: None, user_agent: None }
    }
    /// The host itself, e.g. `retention-sweeper`.
    pub fn system(id: impl Into<String>) -> Self {
        Self { kind: ActorKind::System, id: id.into(), ip: None, user_agent: None }
    }
    /// Adds the client's IP address.
    pub fn with_ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }
    /// Adds the client's user agent.
    pub fn with_user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = Some(ua.into());
        self
    }
}

/// What was acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Its type: `user`, `role`, `connection`, `recipe`, `key`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Its id.
    pub id: String,
    /// A display name, for people reading the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Target {
    /// A target of type `kind` with id `id`.
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> Self {
        Self { kind: kind.into(), id: id.into(), name: None }
    }
    /// Adds a display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// How the action turned out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// It succeeded.
    Success,
    /// It failed, and why.
    Failure {
        /// Why it failed (never a secret).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

impl Outcome {
    /// A failure with a reason.
    pub fn failure(reason: impl Into<String>) -> Self {
        Outcome::Failure { reason: Some(reason.into()) }
    }
    /// Whether it succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success)
    }
}

/// One audit event, version 1 of the schema.
///
/// `details` is free-form JSON. Hosts pass it through `palisade-mask` before recording so that
/// no secret or personal data the tenant has not agreed to keep lands in a log that cannot be
/// edited afterwards (a hash chain makes later redaction visible as tampering).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Schema version, [`SCHEMA_VERSION`].
    pub version: u32,
    /// Time-ordered unique id.
    pub id: EventId,
    /// When it happened (UTC, RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub ts: OffsetDateTime,
    /// The tenant whose log this belongs to.
    pub tenant: TenantId,
    /// Who acted.
    pub actor: Actor,
    /// What they did.
    pub action: Action,
    /// What they did it to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// How it turned out.
    pub outcome: Outcome,
    /// The request or correlation id, to join with the host's own logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Extra, action-specific data, already masked by the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl AuditEvent {
    /// Starts an event at the clock's current time with a fresh UUIDv7 and outcome `success`.
    ///
    /// ```
    /// use palisade_audit::{Actor, AuditEvent, Outcome, Target};
    /// use palisade_core::{ManualClock, TenantId, UserId};
    /// use time::macros::datetime;
    ///
    /// let clock = ManualClock::new(datetime!(2026-03-01 09:00 UTC));
    /// let alice: UserId = "alice".parse()?;
    /// let event = AuditEvent::new(&clock, "acme".parse()?, Actor::user(&alice), "role.assigned")?
    ///     .with_target(Target::new("user", "bob").with_name("Bob"))
    ///     .with_outcome(Outcome::Success);
    /// assert_eq!(event.action.as_str(), "role.assigned");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(clock: &dyn Clock, tenant: TenantId, actor: Actor, action: &str) -> Result<Self> {
        let ts = clock.now().to_offset(time::UtcOffset::UTC);
        Ok(Self {
            version: SCHEMA_VERSION,
            id: EventId::new_v7(ts)?,
            ts,
            tenant,
            actor,
            action: Action::new(action)?,
            target: None,
            outcome: Outcome::Success,
            request_id: None,
            details: None,
        })
    }

    /// Sets the target.
    pub fn with_target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }
    /// Sets the outcome.
    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
    /// Sets the request/correlation id.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
    /// Sets the (already masked) details.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Checks the limits a stored event must respect: schema version, text lengths, no control
    /// characters in single-line fields.
    pub fn validate(&self) -> Result<()> {
        if self.version != SCHEMA_VERSION {
            return Err(Error::invalid(
                "event",
                format!(
                    "schema version {} is not supported (this build writes {SCHEMA_VERSION})",
                    self.version
                ),
            ));
        }
        let texts: [(&'static str, Option<&str>); 6] = [
            ("actor id", Some(&self.actor.id)),
            ("user agent", self.actor.user_agent.as_deref()),
            ("target type", self.target.as_ref().map(|t| t.kind.as_str())),
            ("target id", self.target.as_ref().map(|t| t.id.as_str())),
            ("target name", self.target.as_ref().and_then(|t| t.name.as_deref())),
            ("request id", self.request_id.as_deref()),
        ];
        for (what, text) in texts {
            if let Some(t) = text {
                check_text(what, t)?;
            }
        }
        if self.actor.id.is_empty() {
            return Err(Error::invalid("actor id", "is empty"));
        }
        if let Outcome::Failure { reason: Some(r) } = &self.outcome {
            check_text("failure reason", r)?;
        }
        Ok(())
    }
}

fn check_text(what: &'static str, t: &str) -> Result<()> {
    if t.len() > MAX_TEXT_LEN {
        return Err(Error::invalid(what, format!("is {} bytes, the limit is {MAX_TEXT_LEN}", t.len())));
    }
    if t.chars().any(char::is_control) {
        return Err(Error::invalid(what, "contains control characters; strip them before recording"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use palisade_core::ManualClock;
    use time::macros::datetime;

    #[test]
    fn v7_ids_sort_by_time() {
        let a = EventId::new_v7(datetime!(2026-01-01 00:00 UTC)).unwrap();
        let b = EventId::new_v7(datetime!(2026-01-01 00:00:00.001 UTC)).unwrap();
        assert!(a < b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn action_names() {
        assert!(Action::new("user.login.succeeded").is_ok());
        for bad in ["user", "User.login", "user..login", "user.login.", "user.log-in", ""] {
            assert!(Action::new(bad).is_err(), "{bad}");
        }
        let a = Action::new("user.login.succeeded").unwrap();
        assert!(a.matches_prefix("user.login"));
        assert!(a.matches_prefix("user."));
        assert!(a.matches_prefix(""));
        assert!(!a.matches_prefix("user.log"));
    }

    #[test]
    fn json_round_trip() {
        let clock = ManualClock::new(datetime!(2026-03-01 09:00 UTC));
        let e = AuditEvent::new(&clock, "acme".parse().unwrap(), Actor::system("cron"), "retention.purged")
            .unwrap()
            .with_outcome(Outcome::failure("disk full"));
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["outcome"]["status"], "failure");
        assert_eq!(v["ts"], "2026-03-01T09:00:00Z");
        let back: AuditEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }
}
