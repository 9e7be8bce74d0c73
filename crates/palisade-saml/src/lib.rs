//! # palisade-saml
//!
//! A SAML 2.0 service provider built so that the signature-wrapping family of bugs cannot happen:
//! **one parse, one tree**, and an API that hands back only what was signed.
//!
//! * [`xml`]: a strict XML reader (no DOCTYPE, limits, namespaces resolved, duplicate IDs refused);
//! * [`c14n`]: exclusive XML canonicalization 1.0;
//! * [`dsig`]: XML-DSig verification (yielding a [`dsig::Verified`] view of exactly the signed
//!   element) and signing;
//! * [`keys`]: trusted certificates, signing keys and the algorithm allow-list.
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
