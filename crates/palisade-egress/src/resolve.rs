//! Name resolution behind a trait: the system resolver, or pinned answers (`--resolve`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use palisade_core::net::parse_addr_with_port;

use crate::error::{Error, Result};
use crate::host::normalize;

/// Resolves host names to addresses. Every address returned is checked against the policy, and
/// the connection goes to one of those addresses: there is no second lookup.
pub trait Resolver: Send + Sync + std::fmt::Debug {
    /// All addresses of `host` (already normalized).
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<IpAddr>>> + Send + 'a>>;
}

/// The operating system's resolver (through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<IpAddr>>> + Send + 'a>> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| Error::Resolve { host: host.to_owned(), reason: e.to_string() })?;
            let mut out: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
            out.dedup();
            Ok(out)
        })
    }
}

/// Fixed answers for some names (like curl's `--resolve`), falling back to another resolver —
/// or to none, in which case unknown names fail to resolve.
#[derive(Debug, Clone, Default)]
pub struct PinnedResolver {
    pins: HashMap<String, Vec<IpAddr>>,
    fallback: Option<Arc<dyn Resolver>>,
}

impl PinnedResolver {
    /// Pins parsed from `HOST=ADDR[,ADDR...]` strings; falls back to `fallback` for other names.
    pub fn from_pins(pins: &[String], fallback: Option<Arc<dyn Resolver>>) -> Result<Self> {
        let mut out = PinnedResolver { pins: HashMap::new(), fallback };
        for pin in pins {
            let (host, addrs) = pin.split_once('=').ok_or_else(|| Error::BadPin(pin.clone()))?;
            let host = normalize(host.trim());
            if host.is_empty() {
                return Err(Error::BadPin(pin.clone()));
            }
            let mut list = Vec::new();
            for a in addrs.split(',') {
                list.push(parse_addr_with_port(a).ok_or_else(|| Error::BadPin(pin.clone()))?);
            }
            out.pins.entry(host).or_default().extend(list);
        }
        Ok(out)
    }

    /// Pins `host` to `addrs`.
    pub fn pin(mut self, host: &str, addrs: Vec<IpAddr>) -> Self {
        self.pins.insert(normalize(host), addrs);
        self
    }
}

impl Resolver for PinnedResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<IpAddr>>> + Send + 'a>> {
        Box::pin(async move {
            if let Some(addrs) = self.pins.get(&normalize(host)) {
                return Ok(addrs.clone());
            }
            match &self.fallback {
                Some(f) => f.resolve(host, port).await,
                None => Err(Error::Resolve {
                    host: host.to_owned(),
                    reason: "not pinned and no fallback resolver".to_owned(),
                }),
            }
        })
    }
}
