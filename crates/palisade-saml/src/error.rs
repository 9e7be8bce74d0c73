//! The crate's error type. Every rejection is a distinct variant with a stable [`Error::code`], so an
//! administrator can tell *which* check failed and what to fix.

use crate::xml::XmlError;

/// Result alias.
pub type Result<T> = std::result::Result<T, Error>;

/// Why a SAML message, signature, key or configuration was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The XML itself was refused (malformed, DOCTYPE, limits, duplicate IDs...).
    #[error("XML rejected: {0}")]
    Xml(#[from] XmlError),
    /// The input could not be decoded (base64, DEFLATE, size limits).
    #[error("message encoding invalid: {0}")]
    Encoding(String),
    /// The element that must be signed carries no signature.
    #[error("{element} is not signed; a signature by the IdP covering it is required")]
    MissingSignature {
        /// Which element.
        element: &'static str,
    },
    /// More than one signature where exactly one is allowed.
    #[error("{element} carries more than one ds:Signature; exactly one is allowed")]
    MultipleSignatures {
        /// Which element.
        element: &'static str,
    },
    /// A ds:Signature that is not an enveloped signature of a Response or Assertion.
    #[error("a ds:Signature is in a position that is not allowed: {0}")]
    SignaturePosition(String),
    /// The signature's structure is not what the SAML XML-DSig profile allows.
    #[error("signature structure invalid: {0}")]
    SignatureStructure(String),
    /// The Reference does not point at the element the signature is enveloped in.
    #[error("signature reference URI {found:?} does not equal \"#{expected}\"")]
    ReferenceMismatch {
        /// The URI found.
        found: String,
        /// The ID of the signed element.
        expected: String,
    },
    /// A transform outside {enveloped-signature, exc-c14n}.
    #[error("transform {0:?} is not allowed (only enveloped-signature and exclusive c14n)")]
    UnsupportedTransform(String),
    /// An algorithm outside the allow-list (or SHA-1 without the per-IdP opt-in).
    #[error("algorithm {0:?} is not allowed by this IdP's policy")]
    AlgorithmNotAllowed(String),
    /// The digest of the signed element does not match.
    #[error("digest of the signed element does not match: the document was altered after signing")]
    DigestMismatch,
    /// The signature value does not verify with any configured certificate.
    #[error("signature does not verify with any configured IdP certificate")]
    BadSignature,
    /// The certificate in KeyInfo is not one of the configured ones.
    #[error("the certificate in KeyInfo is not one of the IdP's configured certificates")]
    UntrustedKeyInfo,
    /// No certificate is configured for the IdP.
    #[error("no signing certificate is configured for the IdP; configure one (metadata or by hand)")]
    NoTrustedCertificates,
    /// A key or certificate could not be used.
    #[error("key or certificate unusable: {0}")]
    Key(String),
    /// An RSA key below 2048 bits without the weak-key opt-in.
    #[error("RSA key of {bits} bits is below the 2048-bit minimum (opt in per IdP to accept it)")]
    WeakKey {
        /// Key size.
        bits: usize,
    },
    /// A required element or attribute is missing.
    #[error("{0} is missing")]
    Missing(&'static str),
    /// The message is not the expected kind.
    #[error("unexpected message: expected {expected}, found {found}")]
    UnexpectedMessage {
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// SAML version other than 2.0.
    #[error("SAML version {0:?} is not supported (2.0 required)")]
    Version(String),
    /// The IdP reported a failure.
    #[error("IdP returned status {code}{}", message.as_ref().map(|m| format!(": {m}")).unwrap_or_default())]
    Status {
        /// Top-level status code.
        code: String,
        /// Status message, if any.
        message: Option<String>,
    },
    /// Destination differs from the ACS URL (or is empty).
    #[error("Destination {found:?} does not equal the ACS URL {expected:?}")]
    Destination {
        /// Found value.
        found: String,
        /// Expected value.
        expected: String,
    },
    /// Issuer differs from the IdP entityID.
    #[error("{element} Issuer {found:?} does not equal the IdP entityID {expected:?}")]
    Issuer {
        /// Response or Assertion.
        element: &'static str,
        /// Found value.
        found: String,
        /// Expected value.
        expected: String,
    },
    /// Not exactly one assertion.
    #[error("the Response must contain exactly one Assertion (found {0})")]
    AssertionCount(usize),
    /// No usable bearer SubjectConfirmation.
    #[error("no valid bearer SubjectConfirmation: {0}")]
    SubjectConfirmation(String),
    /// InResponseTo does not match a pending request.
    #[error("InResponseTo {0:?} does not match a pending AuthnRequest of this SP")]
    InResponseTo(String),
    /// An unsolicited response while IdP-initiated SSO is off.
    #[error("unsolicited (IdP-initiated) response, but IdP-initiated SSO is disabled for this IdP")]
    Unsolicited,
    /// Outside the validity window.
    #[error("{what} is outside its validity window ({detail})")]
    Expired {
        /// Which check.
        what: &'static str,
        /// Details with the instants.
        detail: String,
    },
    /// Audience restriction does not name this SP.
    #[error("AudienceRestriction does not contain this SP's entityID {0:?}")]
    Audience(String),
    /// A repeated attribute name.
    #[error("attribute {0:?} appears more than once")]
    DuplicateAttribute(String),
    /// A replayed assertion or response.
    #[error("replay: {0} was already used")]
    Replay(String),
    /// Decryption failed or is not configured.
    #[error("encrypted assertion cannot be decrypted: {0}")]
    Decryption(String),
    /// A configuration problem (each entry one problem).
    #[error("invalid configuration: {}", .0.join("; "))]
    Config(Vec<String>),
    /// Metadata problem.
    #[error("metadata invalid: {0}")]
    Metadata(String),
    /// A store (request store, replay cache) failed.
    #[error("store failure: {0}")]
    Store(String),
    /// A binding (redirect/POST) problem.
    #[error("binding invalid: {0}")]
    Binding(String),
    /// JIT provisioning refused the sign-in (no role mapping matched and the policy denies).
    #[error("sign-in denied by provisioning policy: {0}")]
    ProvisioningDenied(String),
    /// The IdP's metadata validity has ended.
    #[error("IdP metadata expired at {0}")]
    MetadataExpired(String),
}

impl Error {
    /// A stable, machine-readable code for the failure (`signature.bad`, `audience`...).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Xml(_) => "xml.rejected",
            Error::Encoding(_) => "encoding",
            Error::MissingSignature { .. } => "signature.missing",
            Error::MultipleSignatures { .. } => "signature.multiple",
            Error::SignaturePosition(_) => "signature.position",
            Error::SignatureStructure(_) => "signature.structure",
            Error::ReferenceMismatch { .. } => "signature.reference",
            Error::UnsupportedTransform(_) => "signature.transform",
            Error::AlgorithmNotAllowed(_) => "signature.algorithm",
            Error::DigestMismatch => "signature.digest",
            Error::BadSignature => "signature.bad",
            Error::UntrustedKeyInfo => "signature.untrusted_keyinfo",
            Error::NoTrustedCertificates => "signature.no_trusted_cert",
            Error::Key(_) => "key",
            Error::WeakKey { .. } => "key.weak",
            Error::Missing(_) => "missing",
            Error::UnexpectedMessage { .. } => "message.unexpected",
            Error::Version(_) => "version",
            Error::Status { .. } => "status",
            Error::Destination { .. } => "destination",
            Error::Issuer { .. } => "issuer",
            Error::AssertionCount(_) => "assertion.count",
            Error::SubjectConfirmation(_) => "subject_confirmation",
            Error::InResponseTo(_) => "in_response_to",
            Error::Unsolicited => "unsolicited",
            Error::Expired { .. } => "time_window",
            Error::Audience(_) => "audience",
            Error::DuplicateAttribute(_) => "attribute.duplicate",
            Error::Replay(_) => "replay",
            Error::Decryption(_) => "decryption",
            Error::Config(_) => "config",
            Error::Metadata(_) => "metadata",
            Error::Store(_) => "store",
            Error::Binding(_) => "binding",
            Error::MetadataExpired(_) => "metadata.expired",
            Error::ProvisioningDenied(_) => "provision.denied",
        }
    }

    /// Whether the error is a verdict on the input (as opposed to configuration or I/O).
    pub fn is_rejection(&self) -> bool {
        !matches!(self, Error::Config(_) | Error::Store(_) | Error::Key(_))
    }
}
