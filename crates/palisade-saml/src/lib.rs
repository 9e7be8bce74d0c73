//! # palisade-saml
//!
//! A SAML 2.0 service provider built so that the signature-wrapping family of bugs cannot happen:
//! **one parse, one tree**, and an API that hands back only what was signed.
//!
//! * [`xml`]: a strict XML reader (no DOCTYPE, limits, namespaces resolved, duplicate IDs refused);
//! * [`c14n`]: exclusive XML canonicalization 1.0;
//! * [`dsig`]: XML-DSig verification (yielding a [`dsig::Verified`] view of exactly the signed
//!   element) and signing;
//! * [`keys`]: trusted certificates, signing keys and the algorithm allow-list;
//! * [`response`]: SAML Response validation into a [`SamlIdentity`]; [`sp`]: the per-tenant
//!   [`ServiceProvider`] with its [`RequestStore`] and [`ReplayCache`];
//! * [`metadata`], [`authn`], [`binding`], [`logout`], [`xmlenc`]: metadata, AuthnRequests, the
//!   Redirect/POST bindings, single logout, encrypted assertions;
//! * [`provision`]: Just-in-Time provisioning with group-to-role mapping.
//!
//! Fail closed: an unsigned assertion is refused however plausible it looks.
//!
//! ```
//! use palisade_saml::response::{Expectation, InputLimits, validate_response};
//! use palisade_saml::{IdpConfig, SpConfig, TrustedCert};
//! # let pem = include_str!("../../../../shared/conformance/saml/bench/cert.pem");
//! let idp = IdpConfig::new("https://idp.example.com/metadata", vec![TrustedCert::from_pem(pem)?]);
//! let sp = SpConfig::new("https://sp.example.com/metadata", "https://sp.example.com/saml/acs");
//! let unsigned = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" Version="2.0"
//!   IssueInstant="2026-11-29T01:00:00Z"><samlp:Status><samlp:StatusCode
//!   Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion
//!   xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a" Version="2.0"/></samlp:Response>"#;
//! let now = time::macros::datetime!(2026-11-29 01:00:30 UTC);
//! let mut idp = idp;
//! idp.policy.allow_idp_initiated = true;
//! let err = validate_response(unsigned.as_bytes(), &sp, &idp, &Expectation::default(), now, &InputLimits::default())
//!     .unwrap_err();
//! assert_eq!(err.code(), "signature.missing");
//! # Ok::<(), palisade_saml::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod authn;
pub mod binding;
pub mod c14n;
pub mod dsig;
pub mod error;
pub mod keys;
pub mod logout;
pub mod metadata;
pub mod policy;
pub mod provision;
pub mod response;
pub mod sp;
pub mod store;
pub mod xml;
pub mod xmlenc;

pub use authn::{AuthnOptions, AuthnRequest, Binding, authn_request};
pub use error::{Error, Result};
pub use keys::{AlgorithmPolicy, SigningKey, TrustedCert};
pub use metadata::{MetadataOptions, parse_idp_metadata, sp_metadata};
pub use policy::{IdpConfig, IdpPolicy, SpConfig};
pub use response::{Expectation, InputLimits, SamlIdentity, validate_response};
pub use sp::ServiceProvider;
pub use store::{MemoryReplayCache, MemoryRequestStore, ReplayCache, RequestStore};
pub use xmlenc::DecryptionKey;

/// The SAML 2.0 assertion namespace.
pub const SAML_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// The SAML 2.0 protocol namespace.
pub const SAMLP_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// The SAML 2.0 metadata namespace.
pub const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
