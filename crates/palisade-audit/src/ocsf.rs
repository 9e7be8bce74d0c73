//! Export to the Open Cybersecurity Schema Framework (OCSF 1.3), the shape most SIEMs ingest.
//!
//! | actions | OCSF class |
//! |---|---|
//! | `user.login.*`, `user.logout` | Authentication (3002): Logon (1) / Logoff (2) |
//! | `user.password.*`, `user.mfa.*`, `user.locked`, `user.unlocked`, `user.provisioned`, `user.deleted`, `role.*` | Account Change (3001) |
//! | everything else | API Activity (6003): Create / Read / Update / Delete / Other, from the verb |
//!
//! Fields that OCSF has no place for (the palisade action name, target, details, chain
//! position) go under `unmapped`.

use serde_json::{Value, json};

use crate::event::{ActorKind, AuditEvent, Outcome};

/// The OCSF schema version the mapping follows.
pub const OCSF_VERSION: &str = "1.3.0";

/// The OCSF class and activity an action maps to: `(class_uid, category_uid, activity_id, class_name, activity_name)`.
pub fn classify(action: &str) -> (u32, u32, u32, &'static str, &'static str) {
    const AUTH: (u32, u32, &str) = (3002, 3, "Authentication");
    const ACCOUNT: (u32, u32, &str) = (3001, 3, "Account Change");
    let a = |c: (u32, u32, &'static str), id: u32, name: &'static str| (c.0, c.1, id, c.2, name);
    if action.starts_with("user.login.") || action == "user.login" {
        return a(AUTH, 1, "Logon");
    }
    if action == "user.logout" {
        return a(AUTH, 2, "Logoff");
    }
    match action {
        "user.provisioned" | "user.created" => return a(ACCOUNT, 1, "Create"),
        "user.enabled" => return a(ACCOUNT, 2, "Enable"),
        "user.password.changed" => return a(ACCOUNT, 3, "Password Change"),
        "user.password.reset" => return a(ACCOUNT, 4, "Password Reset"),
        "user.disabled" => return a(ACCOUNT, 5, "Disable"),
        "user.deleted" => return a(ACCOUNT, 6, "Delete"),
        "role.assigned" => return a(ACCOUNT, 7, "Attach Policy"),
        "role.revoked" => return a(ACCOUNT, 8, "Detach Policy"),
        "user.locked" => return a(ACCOUNT, 9, "Lock"),
        "user.mfa.enrolled" => return a(ACCOUNT, 10, "MFA Factor Enable"),
        "user.mfa.reset" | "user.mfa.removed" => return a(ACCOUNT, 11, "MFA Factor Disable"),
        "user.unlocked" => return a(ACCOUNT, 12, "Unlock"),
        _ => {}
    }
    let verb = action.rsplit('.').next().unwrap_or_default();
    let (id, name) = match verb {
        "created" | "added" | "issued" | "provisioned" | "imported" => (1, "Create"),
        "read" | "viewed" | "exported" | "downloaded" | "listed" => (2, "Read"),
        "updated" | "changed" | "rotated" | "assigned" | "enabled" | "disabled" | "rewrapped" => {
            (3, "Update")
        }
        "deleted" | "removed" | "purged" | "destroyed" | "revoked" => (4, "Delete"),
        _ => (99, "Other"),
    };
    (6003, 6, id, "API Activity", name)
}

/// The event as an OCSF object. `seq` is its position in the tenant's chain, if known.
///
/// ```
/// use palisade_audit::{Actor, AuditEvent, ocsf};
/// use palisade_core::SystemClock;
/// let e = AuditEvent::new(&SystemClock, "acme".parse()?, Actor::system("ops"), "user.login.failed")?;
/// let o = ocsf::to_ocsf(&e, None);
/// assert_eq!(o["class_uid"], 3002);
/// assert_eq!(o["type_uid"], 300201);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_ocsf(event: &AuditEvent, seq: Option<u64>) -> Value {
    let (class_uid, category_uid, activity_id, class_name, activity_name) = classify(event.action.as_str());
    let (status_id, status, status_detail) = match &event.outcome {
        Outcome::Success => (1, "Success", None),
        Outcome::Failure { reason } => (2, "Failure", reason.clone()),
    };
    let user_type = match event.actor.kind {
        ActorKind::User => "User",
        ActorKind::ApiClient | ActorKind::System => "System",
    };
    let actor_user = json!({"uid": event.actor.id, "type": user_type, "type_id": if event.actor.kind == ActorKind::User { 1 } else { 3 }});
    let mut o = json!({
        "class_uid": class_uid,
        "class_name": class_name,
        "category_uid": category_uid,
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": u64::from(class_uid) * 100 + u64::from(activity_id),
        "time": i64::try_from(event.ts.unix_timestamp_nanos() / 1_000_000).unwrap_or(0),
        "severity_id": if status_id == 1 { 1 } else { 3 },
        "status_id": status_id,
        "status": status,
        "message": event.action.as_str(),
        "metadata": {
            "version": OCSF_VERSION,
            "uid": event.id.to_string(),
            "tenant_uid": event.tenant.as_str(),
            "product": {"name": "palisade", "vendor_name": "palisade"},
        },
        "actor": {"user": actor_user},
        "unmapped": {"palisade_action": event.action.as_str()},
    });
    let set = |o: &mut Value, k: &str, v: Value| {
        if let Value::Object(m) = o {
            m.insert(k.to_owned(), v);
        }
    };
    if let Some(d) = status_detail {
        set(&mut o, "status_detail", Value::String(d));
    }
    if let Some(r) = &event.request_id
        && let Some(Value::Object(m)) = o.get_mut("metadata")
    {
        m.insert("correlation_uid".into(), Value::String(r.clone()));
    }
    if let Some(ip) = event.actor.ip {
        set(&mut o, "src_endpoint", json!({"ip": ip.to_string()}));
    }
    if let Some(ua) = &event.actor.user_agent {
        set(&mut o, "http_request", json!({"user_agent": ua}));
    }
    let target = event.target.as_ref().map(|t| json!({"type": t.kind, "uid": t.id, "name": t.name}));
    match class_uid {
        3002 => {
            let user = match &event.target {
                Some(t) if t.kind == "user" => json!({"uid": t.id, "name": t.name}),
                _ => o.get("actor").and_then(|a| a.get("user")).cloned().unwrap_or(Value::Null),
            };
            set(&mut o, "user", user);
        }
        3001 => {
            if let Some(t) = &event.target {
                set(&mut o, "user", json!({"uid": t.id, "name": t.name}));
            }
        }
        _ => {
            set(&mut o, "api", json!({"operation": event.action.as_str()}));
            if let Some(t) = &target {
                set(&mut o, "resources", json!([t]));
            }
        }
    }
    if let Some(Value::Object(m)) = o.get_mut("unmapped") {
        if let Some(t) = target {
            m.insert("target".into(), t);
        }
        if let Some(d) = &event.details {
            m.insert("details".into(), d.clone());
        }
        if let Some(s) = seq {
            m.insert("chain_seq".into(), Value::from(s));
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(classify("user.login.succeeded").0, 3002);
        assert_eq!(classify("user.logout").2, 2);
        assert_eq!(classify("role.assigned"), (3001, 3, 7, "Account Change", "Attach Policy"));
        assert_eq!(classify("key.rotated"), (6003, 6, 3, "API Activity", "Update"));
        assert_eq!(classify("retention.purged").2, 4);
        assert_eq!(classify("recipe.started").2, 99);
    }
}
