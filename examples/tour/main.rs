//! The palisade tour: what a host application gets from palisade, step by step.
//!
//! Runs with no setup — every chapter uses embedded defaults, in-memory stores and a manual
//! clock — and prints what happens. Each capability adds a chapter module beside this file.
//!
//! ```sh
//! cargo run --example tour
//! ```

mod audit;
mod core;
mod egress;
mod ipfilter;
mod keys;
mod mask;
mod oauth;
mod password;
mod rbac;
mod retention;
mod saml;
mod session;
mod totp;

/// Prints a chapter heading, numbering chapters as they come.
pub fn chapter(title: &str) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed) + 1;
    println!("\n== {n}. {title} ==");
}

/// Prints one step of a chapter.
pub fn step(text: impl AsRef<str>) {
    println!("  - {}", text.as_ref());
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    println!("palisade tour: enterprise-grade account and data security for a multi-tenant service");

    chapter("Shared foundations: ids, clock, secrets, throttling");
    core::run().await?;

    chapter("IP allowlists per tenant, behind trusted proxies");
    ipfilter::run().await?;
    chapter("Passwords: policy, Argon2id storage, expiry, login throttling");
    password::run().await?;
    chapter("Role-based access control: workspaces, environments, roles, folders");
    rbac::run().await?;
    chapter("Two-factor authentication with authenticator apps, required by the organization");
    totp::run().await?;
    chapter("Tamper-evident audit log: record, sign, tamper with one byte, detect it");
    audit::run().await?;
    chapter("Sessions: per-organization timeouts, hashed tokens, rotation, revocation");
    session::run().await?;

    chapter("Outbound allowlists: SSRF-proof connections");
    egress::run().await?;
    chapter("Single sign-on with SAML 2.0 (palisade-saml)");
    saml::run().await?;
    chapter("Tenant keys: envelope and double encryption, rotation, crypto-shredding");
    keys::run().await?;
    chapter("Sign in with OpenID Connect (Google, Microsoft 365, any provider)");
    oauth::run().await?;

    chapter("Masking payloads before they are displayed or stored");
    mask::run().await?;

    chapter("Retention: periods per plan and tenant, legal holds, resumable purge, crypto-shredding");
    retention::run().await?;

    println!("\ntour complete");
    Ok(())
}
