//! # palisade-oauth
//!
//! Both sides of OAuth for a multi-tenant service:
//!
//! * **Sign-in** with OpenID Connect ([`RelyingParty`]): authorization code flow with PKCE
//!   (`S256`), `state` and `nonce` bound to the browser session and consumed once
//!   ([`LoginStore`]); discovery and key sets cached with expiry and a rate-limited refresh on
//!   unknown key ids ([`Provider`]); strict ID token validation ([`IdTokenVerifier`]); presets for
//!   Google and the Microsoft identity platform with tenant allow-lists ([`presets`]). The result
//!   is a [`palisade_core::ExternalIdentity`], the same shape a SAML sign-in gives.
//! * **Connections** ([`connection`]): per-tenant custom OAuth profiles with sealed client
//!   secrets, the authorization code exchange, tokens sealed per tenant and connection in a
//!   [`TokenStore`], single-flight refresh before expiry with refresh-token rotation, RFC 7009
//!   revocation on disconnect, and typed errors that tell "reconnect" from "retry later".
//!
//! Signatures are verified with aws-lc-rs; only asymmetric algorithms exist in [`jose::Algorithm`],
//! so `alg: none` and HMAC-with-the-public-key confusion cannot be expressed. HTTP goes through the
//! [`HttpClient`] trait ([`ReqwestHttpClient`] with the `reqwest` feature).
//!
//! ```
//! use palisade_oauth::testing::TestIssuer;
//! use palisade_oauth::{Expectations, IdTokenVerifier, IssuerRule, TokenRejection};
//! use time::OffsetDateTime;
//!
//! let op = TestIssuer::rs256("https://login.example")?;
//! let now = OffsetDateTime::now_utc();
//! let token = op.id_token("crm-app", "user-1", Some("nonce-1"), now)?;
//! let v = IdTokenVerifier::new(IssuerRule::exact("https://login.example"), "crm-app");
//! let ok = v.verify(&token, &op.key_set(), now, &Expectations::nonce("nonce-1"))?;
//! let identity = ok.to_identity("acme".parse()?, palisade_oauth::DEFAULT_GROUP_CLAIMS);
//! assert_eq!(identity.subject, "user-1");
//!
//! let replayed = v.verify(&token, &op.key_set(), now, &Expectations::nonce("other"));
//! assert_eq!(replayed.unwrap_err(), TokenRejection::NonceMismatch);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod connection;
pub mod discovery;
pub mod error;
pub mod http;
pub mod id_token;
pub mod jose;
pub mod pkce;
pub mod presets;
pub mod rp;
pub mod store;
pub mod testing;
pub mod token_endpoint;

pub use connection::{ConnectionManager, OAuthProfile, ProfileOwner, ProfileRegistry};
pub use discovery::{CachePolicy, Provider, ProviderMetadata};
pub use error::{Error, Result, TokenRejection};
#[cfg(feature = "reqwest")]
pub use http::ReqwestHttpClient;
pub use http::{HttpClient, HttpRequest, HttpResponse};
pub use id_token::{DEFAULT_GROUP_CLAIMS, Expectations, IdTokenVerifier, IssuerRule, VerifiedIdToken};
pub use rp::{
    AuthorizationRequest, Callback, LoginStore, MemoryLoginStore, PendingLogin, RelyingParty,
    RelyingPartyConfig, SignIn,
};
#[cfg(feature = "sqlite")]
pub use store::sqlite::SqliteTokenStore;
pub use store::{MemoryTokenStore, StoredTokens, TokenStore};
pub use token_endpoint::{ClientAuthMethod, TokenResponse};
