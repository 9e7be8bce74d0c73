//! # palisade-egress
//!
//! Outbound allowlists for connections and on-premises agents, SSRF-proof by construction: a
//! platform whose users configure their own connection URLs must never become a proxy into its
//! own network (cloud metadata at 169.254.169.254, loopback admin ports, private ranges).
//!
//! * [`EgressPolicy`] (serde): allow rules (exact hosts, `*.domain`, IPs and CIDRs, optional
//!   ports and schemes), deny rules that win, and built-in denied ranges ([`BUILTIN_DENIED`]) that
//!   a policy opts out of explicitly, one range at a time.
//! * [`Target::parse`]: one standard URL parser (WHATWG, the `url` crate), so numeric hosts
//!   (`2130706433`, `0x7f.1`, `0177.0.0.1`), IDN, trailing dots, upper case and userinfo are all
//!   decided on the normalized host.
//! * [`Egress`]: the compiled policy. Every address a name resolves to must pass; IPv6 forms
//!   that embed an IPv4 address are checked as that address too.
//! * [`Resolver`]: resolution happens once and the connection goes to a checked address — with
//!   the `reqwest` feature, [`reqwest::EgressResolver`] and a redirect policy enforce this inside
//!   reqwest, on every redirect hop.
//! * [`Decision`]: which rule allowed or denied, and why, for the audit log.
//!
//! ```
//! use palisade_egress::{Egress, EgressPolicy, PinnedResolver};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let egress = Egress::new(&EgressPolicy::public_internet())?;
//! // DNS rebinding: the attacker's name answers with a public and a loopback address.
//! let dns = PinnedResolver::default().pin("rebind.attacker.test", vec!["93.184.215.14".parse()?, "127.0.0.1".parse()?]);
//! let d = egress.check("http://rebind.attacker.test/", &dns).await?;
//! assert!(!d.allowed);
//! assert_eq!(d.explain(), "denied: rebind.attacker.test resolves to 127.0.0.1: built-in deny 127.0.0.0/8 (loopback)");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod builtin;
pub mod decision;
pub mod egress;
pub mod error;
pub mod host;
pub mod policy;
#[cfg(feature = "reqwest")]
pub mod reqwest;
pub mod resolve;

pub use builtin::{BUILTIN_DENIED, BuiltinRange};
pub use decision::{AddressVerdict, Decision, Reason};
pub use egress::{Egress, Target};
pub use error::{Error, Result};
pub use policy::{DefaultAction, EgressPolicy, Rule};
pub use resolve::{PinnedResolver, Resolver, SystemResolver};
