//! The palisade tour: what a host application gets from palisade, step by step.
//!
//! Runs with no setup — every chapter uses embedded defaults, in-memory stores and a manual
//! clock — and prints what happens. Each capability adds a chapter module beside this file.
//!
//! ```sh
//! cargo run --example tour
//! ```

mod core;
mod ipfilter;
mod retention;

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

    chapter("Retention: periods per plan and tenant, legal holds, resumable purge, crypto-shredding");
    retention::run().await?;

    println!("\ntour complete");
    Ok(())
}
