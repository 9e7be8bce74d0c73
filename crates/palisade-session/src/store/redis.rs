//! [`RedisStore`]: sessions shared by every instance of a host through one Redis server
//! (cargo feature `redis`).
//!
//! Layout, under a key prefix (default `palisade:session:`):
//!
//! | key | type | content |
//! |---|---|---|
//! | `s:<session id>` | hash | `d` details (JSON), `ls`/`ex`/`pa` last-seen, expires-at, purge-at (µs since the epoch), `rv` revocation (JSON, once revoked), `uk` the user index key |
//! | `u:<tenant>/<user>` | sorted set | the user's session ids, scored by creation time |
//! | `t:<tenant>` | set | the tenant's users that have sessions |
//!
//! Every session key carries a server-side expiry at its absolute deadline (`PEXPIREAT`), so
//! Redis forgets sessions on its own; the indexes expire with their longest-lived member and are
//! tidied whenever a script walks them. Each write is one Lua script, so a validation racing a
//! revocation cannot resurrect the session, and a sign-in cannot slip past the concurrent-session
//! limit. Timestamps are kept to the microsecond.
//!
//! Scripts touch keys derived from index contents, so the store needs a single Redis primary
//! (optionally behind Sentinel); Redis Cluster is not supported.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use palisade_core::{TenantId, UserId};
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::policy::OverflowAction;
use crate::record::{Revocation, RevocationReason, SessionDetails, SessionRecord};
use crate::store::{SessionLimit, SessionStore, Touch, WriteOutcome};
use crate::token::SessionId;

const BACKEND: &str = "redis";

/// Extends a key's expiry to `at` (ms) unless it already lives longer (server clock).
const EXTEND: &str = r"
local function extend(key, at)
  local pttl = redis.call('PTTL', key)
  if pttl == -2 then return end
  if pttl == -1 then redis.call('PEXPIREAT', key, at) return end
  local t = redis.call('TIME')
  local cur = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + pttl
  if cur < tonumber(at) then redis.call('PEXPIREAT', key, at) end
end
";

const CREATE: &str = r"
-- KEYS: session, user index, tenant users
-- ARGV: 1 id, 2 details, 3 ls, 4 ex, 5 pa, 6 pa_ms, 7 max (0 = none), 8 overflow,
--       9 now, 10 session key prefix, 11 eviction JSON, 12 user, 13 created
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists'} end
local now = tonumber(ARGV[9])
local max = tonumber(ARGV[7])
local active = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local v = redis.call('HMGET', ARGV[10] .. m, 'ex', 'pa', 'rv')
  if v[1] == false then
    redis.call('ZREM', KEYS[2], m)
  elseif v[3] == false and tonumber(v[1]) > now and tonumber(v[2]) > now then
    table.insert(active, m)
  end
end
local out = {'ok'}
if max > 0 and #active >= max then
  if ARGV[8] == 'refuse' then return {'refused', tostring(#active)} end
  for i = 1, #active - max + 1 do
    redis.call('HSET', ARGV[10] .. active[i], 'rv', ARGV[11])
    table.insert(out, active[i])
  end
end
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'ls', ARGV[3], 'ex', ARGV[4], 'pa', ARGV[5], 'uk', KEYS[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[13], ARGV[1])
extend(KEYS[2], ARGV[6])
redis.call('SADD', KEYS[3], ARGV[12])
extend(KEYS[3], ARGV[6])
return out
";

const TOUCH: &str = r"
-- KEYS: session; ARGV: ls, ex, pa, pa_ms
local v = redis.call('HMGET', KEYS[1], 'ls', 'rv', 'uk')
if v[1] == false then return {'missing'} end
if v[2] ~= false then return {'revoked', v[2]} end
if tonumber(ARGV[1]) > tonumber(v[1]) then
  redis.call('HSET', KEYS[1], 'ls', ARGV[1], 'ex', ARGV[2], 'pa', ARGV[3])
  redis.call('PEXPIREAT', KEYS[1], ARGV[4])
  if v[3] ~= false then extend(v[3], ARGV[4]) end
end
return {'applied'}
";

const ROTATE: &str = r"
-- KEYS: old session, new session, user index
-- ARGV: 1 revocation, 2 new id, 3 details, 4 ls, 5 ex, 6 pa, 7 pa_ms, 8 created, 9 old id
local v = redis.call('HMGET', KEYS[1], 'ls', 'rv', 'uk')
if v[1] == false or v[3] ~= KEYS[3] then return {'missing'} end
if v[2] ~= false then return {'revoked', v[2]} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'exists'} end
redis.call('HSET', KEYS[1], 'rv', ARGV[1])
redis.call('HSET', KEYS[2], 'd', ARGV[3], 'ls', ARGV[4], 'ex', ARGV[5], 'pa', ARGV[6], 'uk', KEYS[3])
redis.call('PEXPIREAT', KEYS[2], ARGV[7])
redis.call('ZREM', KEYS[3], ARGV[9])
redis.call('ZADD', KEYS[3], ARGV[8], ARGV[2])
extend(KEYS[3], ARGV[7])
return {'applied'}
";

const REVOKE: &str = r"
-- KEYS: session; ARGV: revocation
local v = redis.call('HMGET', KEYS[1], 'ls', 'rv')
if v[1] == false or v[2] ~= false then return 0 end
redis.call('HSET', KEYS[1], 'rv', ARGV[1])
return 1
";

const REVOKE_USER: &str = r"
-- KEYS: user index; ARGV: session key prefix, revocation, excepted id ('' = none)
local n = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local k = ARGV[1] .. m
  local v = redis.call('HMGET', k, 'ls', 'rv')
  if v[1] == false then
    redis.call('ZREM', KEYS[1], m)
  elseif v[2] == false and m ~= ARGV[3] then
    redis.call('HSET', k, 'rv', ARGV[2])
    n = n + 1
  end
end
return n
";

struct Scripts {
    create: Script,
    touch: Script,
    rotate: Script,
    revoke: Script,
    revoke_user: Script,
}

/// A [`SessionStore`] in Redis, shared by every instance of a host. See the module docs for the
/// key layout and the atomicity guarantees.
///
/// ```no_run
/// # async fn demo() -> palisade_session::Result<()> {
/// use std::sync::Arc;
/// use palisade_session::{RedisStore, SessionStore};
///
/// let store: Arc<dyn SessionStore> =
///     Arc::new(RedisStore::connect("redis://127.0.0.1:6379/0", "myapp:session:").await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: Arc<str>,
    scripts: Arc<Scripts>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

fn store_err(e: redis::RedisError) -> Error {
    Error::Store { backend: BACKEND, message: e.to_string() }
}

fn corrupt(message: impl Into<String>) -> Error {
    Error::CorruptRecord { backend: BACKEND, message: message.into() }
}

fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

/// Milliseconds, rounded up, for `PEXPIREAT`.
fn millis_ceil(t: OffsetDateTime) -> i64 {
    let n = t.unix_timestamp_nanos();
    i64::try_from((n + 999_999).div_euclid(1_000_000)).unwrap_or(i64::MAX)
}

fn from_micros(field: &str, text: Option<&String>) -> Result<OffsetDateTime> {
    let us: i64 = text
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| corrupt(format!("field {field} is missing or not a number")))?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .map_err(|_| corrupt(format!("field {field} is out of range")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| corrupt(format!("cannot encode: {e}")))
}

fn revocation_from(json: &str) -> Result<Revocation> {
    serde_json::from_str(json).map_err(|e| corrupt(format!("revocation: {e}")))
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`, `rediss://` for TLS) with automatic
    /// reconnection; keys start with `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self> {
        let client = redis::Client::open(url).map_err(store_err)?;
        let conn = ConnectionManager::new(client).await.map_err(store_err)?;
        Ok(Self::new(conn, prefix))
    }

    /// A store over an existing connection manager; keys start with `prefix`.
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        let with = |body: &str| Script::new(&format!("{EXTEND}\n{body}"));
        Self {
            conn,
            prefix: prefix.into(),
            scripts: Arc::new(Scripts {
                create: with(CREATE),
                touch: with(TOUCH),
                rotate: with(ROTATE),
                revoke: Script::new(REVOKE),
                revoke_user: Script::new(REVOKE_USER),
            }),
        }
    }

    fn session_prefix(&self) -> String {
        format!("{}s:", self.prefix)
    }

    fn session_key(&self, id: &SessionId) -> String {
        format!("{}s:{id}", self.prefix)
    }

    // Ids cannot contain '/', so `tenant/user` is unambiguous.
    fn user_key(&self, tenant: &TenantId, user: &UserId) -> String {
        format!("{}u:{tenant}/{user}", self.prefix)
    }

    fn tenant_key(&self, tenant: &TenantId) -> String {
        format!("{}t:{tenant}", self.prefix)
    }

    fn parse(&self, fields: &HashMap<String, String>) -> Result<Option<SessionRecord>> {
        let Some(d) = fields.get("d") else { return Ok(None) };
        let details: SessionDetails =
            serde_json::from_str(d).map_err(|e| corrupt(format!("details: {e}")))?;
        let revoked = fields.get("rv").map(|j| revocation_from(j)).transpose()?;
        Ok(Some(SessionRecord {
            details: Arc::new(details),
            last_seen_at: from_micros("ls", fields.get("ls"))?,
            expires_at: from_micros("ex", fields.get("ex"))?,
            purge_at: from_micros("pa", fields.get("pa"))?,
            revoked,
        }))
    }

    fn outcome(reply: &[String]) -> Result<WriteOutcome> {
        match reply {
            [s] if s == "applied" => Ok(WriteOutcome::Applied),
            [s] if s == "missing" => Ok(WriteOutcome::Missing),
            [s, rv] if s == "revoked" => Ok(WriteOutcome::Revoked(revocation_from(rv)?)),
            [s] if s == "exists" => Err(Error::Store {
                backend: BACKEND,
                message: "session id collision; issue a new token".to_owned(),
            }),
            other => Err(corrupt(format!("unexpected script reply {other:?}"))),
        }
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn create(
        &self,
        record: SessionRecord,
        limit: Option<SessionLimit>,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>> {
        let d = &record.details;
        let eviction = to_json(&Revocation { at: now, reason: RevocationReason::Evicted })?;
        let (max, overflow) = match limit {
            Some(l) => (l.max, if l.overflow == OverflowAction::Refuse { "refuse" } else { "evict" }),
            None => (0, "evict"),
        };
        let reply: Vec<String> = self
            .scripts
            .create
            .key(self.session_key(&d.id))
            .key(self.user_key(&d.tenant, &d.user))
            .key(self.tenant_key(&d.tenant))
            .arg(d.id.to_string())
            .arg(to_json(&**d)?)
            .arg(micros(record.last_seen_at))
            .arg(micros(record.expires_at))
            .arg(micros(record.purge_at))
            .arg(millis_ceil(record.purge_at))
            .arg(max)
            .arg(overflow)
            .arg(micros(now))
            .arg(self.session_prefix())
            .arg(eviction)
            .arg(d.user.as_str())
            .arg(micros(d.created_at))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(store_err)?;
        match reply.split_first() {
            Some((s, evicted)) if s == "ok" => evicted
                .iter()
                .map(|id| id.parse().map_err(|_| corrupt(format!("index holds a bad session id {id:?}"))))
                .collect(),
            Some((s, rest)) if s == "refused" => {
                let active = rest.first().and_then(|n| n.parse().ok()).unwrap_or(0);
                Err(Error::SessionLimitReached { active, max })
            }
            _ => Self::outcome(&reply).map(|_| Vec::new()),
        }
    }

    async fn load(&self, id: &SessionId, now: OffsetDateTime) -> Result<Option<SessionRecord>> {
        let fields: HashMap<String, String> =
            self.conn.clone().hgetall(self.session_key(id)).await.map_err(store_err)?;
        Ok(self.parse(&fields)?.filter(|r| r.purge_at > now && r.details.id == *id))
    }

    async fn touch(&self, id: &SessionId, touch: Touch) -> Result<WriteOutcome> {
        let reply: Vec<String> = self
            .scripts
            .touch
            .key(self.session_key(id))
            .arg(micros(touch.seen_at))
            .arg(micros(touch.expires_at))
            .arg(micros(touch.purge_at))
            .arg(millis_ceil(touch.purge_at))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(store_err)?;
        Self::outcome(&reply)
    }

    async fn rotate(
        &self,
        old: &SessionId,
        revocation: Revocation,
        new: SessionRecord,
    ) -> Result<WriteOutcome> {
        let d = &new.details;
        let reply: Vec<String> = self
            .scripts
            .rotate
            .key(self.session_key(old))
            .key(self.session_key(&d.id))
            .key(self.user_key(&d.tenant, &d.user))
            .arg(to_json(&revocation)?)
            .arg(d.id.to_string())
            .arg(to_json(&**d)?)
            .arg(micros(new.last_seen_at))
            .arg(micros(new.expires_at))
            .arg(micros(new.purge_at))
            .arg(millis_ceil(new.purge_at))
            .arg(micros(d.created_at))
            .arg(old.to_string())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(store_err)?;
        Self::outcome(&reply)
    }

    async fn revoke(&self, id: &SessionId, revocation: Revocation) -> Result<bool> {
        let n: i64 = self
            .scripts
            .revoke
            .key(self.session_key(id))
            .arg(to_json(&revocation)?)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(store_err)?;
        Ok(n == 1)
    }

    async fn revoke_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        revocation: Revocation,
        except: Option<&SessionId>,
    ) -> Result<usize> {
        let n: usize = self
            .scripts
            .revoke_user
            .key(self.user_key(tenant, user))
            .arg(self.session_prefix())
            .arg(to_json(&revocation)?)
            .arg(except.map(ToString::to_string).unwrap_or_default())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(store_err)?;
        Ok(n)
    }

    async fn revoke_tenant(&self, tenant: &TenantId, revocation: Revocation) -> Result<usize> {
        // One atomic script per user: a tenant may have many users, and one script over all of
        // them would stall the server.
        let users: Vec<String> =
            self.conn.clone().smembers(self.tenant_key(tenant)).await.map_err(store_err)?;
        let mut n = 0;
        for user in users {
            let Ok(user) = UserId::new(user.as_str()) else { continue };
            n += self.revoke_user(tenant, &user, revocation, None).await?;
        }
        Ok(n)
    }

    async fn list_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionRecord>> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> = conn.zrange(self.user_key(tenant, user), 0, -1).await.map_err(store_err)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hgetall(format!("{}{id}", self.session_prefix()));
        }
        let all: Vec<HashMap<String, String>> = pipe.query_async(&mut conn).await.map_err(store_err)?;
        let mut out = Vec::new();
        for fields in &all {
            if let Some(r) = self.parse(fields)?
                && r.is_active(now)
                && r.details.tenant == *tenant
                && r.details.user == *user
            {
                out.push(r);
            }
        }
        out.sort_by_key(|r| (r.details.created_at, r.id()));
        Ok(out)
    }

    async fn purge_expired(&self, _now: OffsetDateTime) -> Result<usize> {
        // Redis expires each session key at its purge_at on its own; indexes are tidied by the
        // scripts that walk them.
        Ok(0)
    }
}
