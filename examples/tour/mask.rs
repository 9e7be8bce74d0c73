//! Masking chapter: what a host gets before a payload is displayed or stored.

use palisade::mask::{Keep, Masker, Policy, PseudonymKey, Sensitive};
use serde_json::json;

use crate::step;

pub async fn run() -> anyhow::Result<()> {
    let payload = json!({
        "customer": {"name": "Jane", "ssn": "123-45-6789", "email": "jane@example.com"},
        "items": [{"sku": "A-1", "card": "4111 1111 1111 1111"}],
        "connection": {"host": "api.example.com", "apiKey": "k-123"},
        "note": "call back, auth was Bearer abcdef0123456789abcdef"
    });

    let builtin = Masker::builtin();
    let (masked, report) = builtin.mask_value(payload.clone());
    step(format!("built-in policy: {}", masked.as_inner()));
    for e in &report.masked {
        step(format!("  report: {} by {}", e.path, e.rule));
    }

    let policy: Policy = serde_json::from_str(
        r#"{"fields": [
              {"path": "items[*].card", "operator": {"op": "partial", "keep_last": 4}},
              {"path": "customer.email", "operator": {"op": "pseudonym"}},
              {"path": "customer.ssn", "operator": {"op": "remove"}}],
            "detectors": [{"kind": "auth_credential"}]}"#,
    )?;
    let tenant_a = Masker::new(policy.clone(), Some(PseudonymKey::new(&[1; 32])?))?;
    let tenant_b = Masker::new(policy, Some(PseudonymKey::new(&[2; 32])?))?;
    let mut out = Vec::new();
    // Any `Read` to any `Write` (a file, a socket, a request body), in bounded memory.
    let body = payload.to_string();
    tenant_a.mask_json_read(body.as_bytes(), &mut out)?;
    step(format!("streaming, tenant A: {}", String::from_utf8_lossy(&out)));
    let (b, _) = tenant_b.mask_value(payload.clone());
    step(format!(
        "tenant B pseudonym for the same e-mail: {}",
        b.as_inner().pointer("/customer/email").unwrap_or(&serde_json::Value::Null)
    ));

    let step_view = Masker::mask_sensitive_step(&payload, Keep::TopLevelKeys);
    step(format!("sensitive step, keeping top-level keys: {}", step_view.as_inner()));

    let (line, _) =
        builtin.mask_text("login jane@example.com from 10.0.0.1 with AKIAIOSFODNN7EXAMPLE password=hunter2 via redis://:pw123@cache:6379");
    step(format!("log line: {}", line.as_inner()));

    match builtin.mask_json(br#"{"a": 1,}"#, &mut Vec::new()) {
        Err(e) => step(format!("malformed input: {e}")),
        Ok(_) => anyhow::bail!("malformed input accepted"),
    }

    let field = Sensitive::new("hunter2".to_owned());
    step(format!("Sensitive<String> in logs: {field} / {field:?}"));
    Ok(())
}
