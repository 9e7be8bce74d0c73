//! The crate's one [`Error`](enum@Error) type and its [`Result`] alias.

use palisade_core::{ErrorClass, SealError};
use thiserror::Error;
use time::Duration;

/// The result of every fallible palisade-oauth operation.
pub type Result<T> = std::result::Result<T, Error>;

/// Why an ID token was rejected. Every rule of OpenID Connect Core §3.1.3.7 has its own variant
/// so that hosts can log and count them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TokenRejection {
    /// Not a JWS in compact serialization (three base64url parts), or a part does not decode.
    #[error("the token is malformed: {0}")]
    Malformed(String),
    /// The token is larger than the configured limit.
    #[error("the token is {len} bytes, the limit is {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// `alg` is `none`, a MAC (HS*), or not in the allow-list.
    #[error("signature algorithm {0:?} is not allowed (only asymmetric algorithms the relying party allows)")]
    AlgorithmNotAllowed(String),
    /// The header names a `crit` extension this verifier does not understand.
    #[error("the header marks extensions {0:?} as critical; none are supported")]
    CriticalHeader(Vec<String>),
    /// The header's `typ` says this is not an ID token (e.g. an `at+jwt` access token).
    #[error("the header's typ {0:?} is not an ID token type")]
    WrongType(String),
    /// No `kid` in the header, and the key set has more than one key for the algorithm.
    #[error("the token has no kid and the key set has {candidates} keys for {alg}: cannot choose")]
    KidMissing {
        /// The token's algorithm.
        alg: String,
        /// How many keys could have signed it.
        candidates: usize,
    },
    /// The `kid` is not in the provider's key set, even after a refresh.
    #[error("no key with kid {0:?} in the provider's key set (after refreshing it)")]
    UnknownKid(String),
    /// The key named by `kid` cannot verify this algorithm (wrong key type, curve or `alg`).
    #[error("key {kid:?} cannot verify {alg}")]
    KeyAlgorithmMismatch {
        /// The key id.
        kid: String,
        /// The token's algorithm.
        alg: String,
    },
    /// The signature does not verify.
    #[error("the signature does not verify")]
    BadSignature,
    /// A required claim is absent or has the wrong JSON type.
    #[error("claim {0:?} is missing or has the wrong type")]
    MissingClaim(&'static str),
    /// `iss` is not the expected issuer.
    #[error("issuer {found:?} is not the expected {expected:?}")]
    WrongIssuer {
        /// What was expected.
        expected: String,
        /// What the token says.
        found: String,
    },
    /// A multi-tenant provider's tenant (`tid`) is not on the allow-list.
    #[error("tenant {0:?} is not on the allow-list")]
    TenantNotAllowed(String),
    /// A Google Workspace hosted domain (`hd`) is not on the allow-list.
    #[error("hosted domain {0:?} is not on the allow-list")]
    HostedDomainNotAllowed(Option<String>),
    /// `aud` does not contain the client id.
    #[error("audience {found:?} does not include client id {expected:?}")]
    WrongAudience {
        /// The client id.
        expected: String,
        /// The token's audiences.
        found: Vec<String>,
    },
    /// `aud` lists audiences the relying party does not trust.
    #[error("audience lists untrusted audiences {0:?}")]
    UntrustedAudience(Vec<String>),
    /// `azp` is missing with several audiences, or is not the client id.
    #[error("authorized party {found:?} is not client id {expected:?}")]
    WrongAuthorizedParty {
        /// The client id.
        expected: String,
        /// The token's `azp`, if any.
        found: Option<String>,
    },
    /// `exp` is in the past (beyond the allowed skew).
    #[error("the token expired at unix time {exp} (now {now}, skew {skew_secs}s)")]
    Expired {
        /// `exp`.
        exp: i64,
        /// The verifier's time.
        now: i64,
        /// The allowed skew.
        skew_secs: i64,
    },
    /// `nbf` is in the future (beyond the allowed skew).
    #[error("the token is not valid before unix time {nbf} (now {now})")]
    NotYetValid {
        /// `nbf`.
        nbf: i64,
        /// The verifier's time.
        now: i64,
    },
    /// `iat` is in the future (beyond the allowed skew) or too old.
    #[error("the token's issue time {iat} is not acceptable at {now}: {why}")]
    BadIssuedAt {
        /// `iat`.
        iat: i64,
        /// The verifier's time.
        now: i64,
        /// In the future, or older than allowed.
        why: &'static str,
    },
    /// `nonce` is missing or does not match the one sent.
    #[error("the nonce does not match the one sent with the authorization request")]
    NonceMismatch,
    /// `auth_time` is missing or older than the requested `max_age`.
    #[error("the authentication is too old for max_age (auth_time {auth_time:?})")]
    AuthTooOld {
        /// `auth_time`, if present.
        auth_time: Option<i64>,
    },
    /// `at_hash` or `c_hash` does not match the access token or code.
    #[error("{0} does not match")]
    HashMismatch(&'static str),
    /// The userinfo response's `sub` differs from the ID token's.
    #[error("the userinfo subject differs from the ID token subject")]
    UserinfoSubjectMismatch,
}

/// Everything that can go wrong in palisade-oauth.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// An ID token was rejected: a verdict on the token (CLI exit 1).
    #[error("ID token rejected: {0}")]
    Token(#[from] TokenRejection),
    /// Configuration is invalid; lists every problem.
    #[error("invalid configuration: {}", .0.join("; "))]
    Config(Vec<String>),
    /// A JWK or key set could not be used.
    #[error("invalid key set: {0}")]
    Jwks(String),
    /// The discovery document is malformed or inconsistent (e.g. its issuer differs).
    #[error("invalid discovery document from {url}: {reason}")]
    Discovery {
        /// Where it came from.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A URL is not acceptable (not https outside loopback, or unparsable).
    #[error("URL {url:?} is not acceptable: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The network or the peer failed; retry later (with back-off).
    #[error("transient failure talking to {endpoint}: {reason}; retry in {retry_after}")]
    Transient {
        /// The endpoint.
        endpoint: String,
        /// What happened.
        reason: String,
        /// Suggested wait before retrying.
        retry_after: Duration,
    },
    /// The authorization server rejected a grant with `invalid_grant`: the refresh token or code
    /// is expired, revoked or was already used. The user must connect (or sign in) again.
    #[error("the grant is no longer valid ({description}); the user must reconnect")]
    ReconnectRequired {
        /// The server's `error_description`, if any.
        description: String,
    },
    /// The authorization server returned another OAuth error (RFC 6749 §5.2).
    #[error("the authorization server refused: {error}{}", .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    OAuth {
        /// The `error` code.
        error: String,
        /// `error_description`, if any.
        description: Option<String>,
    },
    /// A peer answered with something that is not a valid protocol response.
    #[error("invalid response from {endpoint}: {reason}")]
    Protocol {
        /// The endpoint.
        endpoint: String,
        /// What is wrong.
        reason: String,
    },
    /// The authorization callback is invalid: unknown/reused `state`, another browser session,
    /// expired login, or an error from the provider.
    #[error("sign-in callback rejected: {0}")]
    Callback(String),
    /// No token for this connection: connect first.
    #[error("connection {0:?} has no tokens; connect it first")]
    NotConnected(String),
    /// No OAuth profile for this tenant and provider, and no platform default.
    #[error("no OAuth profile for provider {provider:?} (tenant {tenant:?}) and no platform default")]
    NoProfile {
        /// The tenant.
        tenant: String,
        /// The provider.
        provider: String,
    },
    /// Another writer changed the stored value first; reload and retry.
    #[error("the stored tokens were changed concurrently; reload and retry")]
    Conflict,
    /// A token store failed.
    #[error("token store failed: {0}")]
    Store(String),
    /// Sealing or opening a secret failed.
    #[error("secret sealing failed: {0}")]
    Seal(#[from] SealError),
    /// The OS random number generator failed.
    #[error("{0}")]
    Random(#[from] palisade_core::random::RandomError),
}

impl Error {
    /// The error's class (and so the CLI's exit code).
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Token(_)
            | Error::Callback(_)
            | Error::ReconnectRequired { .. }
            | Error::OAuth { .. }
            | Error::Discovery { .. } => ErrorClass::Rejected,
            Error::Config(_)
            | Error::Jwks(_)
            | Error::BadUrl { .. }
            | Error::NotConnected(_)
            | Error::NoProfile { .. } => ErrorClass::Usage,
            Error::Transient { .. }
            | Error::Protocol { .. }
            | Error::Conflict
            | Error::Store(_)
            | Error::Random(_) => ErrorClass::Unavailable,
            Error::Seal(e) => e.class(),
        }
    }

    /// Whether retrying later (with back-off) may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Transient { .. } | Error::Conflict)
            || matches!(self, Error::Seal(SealError::Unavailable(_)))
    }

    /// The token rejection, if this is one.
    pub fn rejection(&self) -> Option<&TokenRejection> {
        match self {
            Error::Token(r) => Some(r),
            _ => None,
        }
    }
}
