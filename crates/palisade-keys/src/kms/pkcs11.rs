//! A root key held in a PKCS#11 token (an HSM, or SoftHSM2 in tests): feature `pkcs11`.
//!
//! The root key is a non-extractable AES-256 secret key object in the token, found by label.
//! Wrapping is `CKM_AES_GCM` inside the token with a 96-bit nonce drawn by palisade and the
//! [`KmsContext::to_bytes`] as associated data: `nonce (12) ‖ ciphertext (32) ‖ tag (16)`.
//! The key never leaves the token. `cryptoki`'s API is safe, so this crate keeps
//! `forbid(unsafe_code)`.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use async_trait::async_trait;
use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use palisade_core::{SecretArray, SecretString};

use super::{KmsContext, KmsError, KmsProvider};

/// Where the token and the root key are.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11Config {
    /// The PKCS#11 module (e.g. `/usr/lib/softhsm/libsofthsm2.so`).
    pub module: PathBuf,
    /// The label of the token.
    pub token_label: String,
    /// The label of the AES-256 root key object.
    pub key_label: String,
}

/// A [`KmsProvider`] over an AES-256 key in a PKCS#11 token.
pub struct Pkcs11Kms {
    session: Mutex<Session>,
    key: ObjectHandle,
    _ctx: Pkcs11,
}

impl fmt::Debug for Pkcs11Kms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Kms").finish_non_exhaustive()
    }
}

fn unavailable<E: fmt::Display>(what: &'static str) -> impl Fn(E) -> KmsError {
    move |e| KmsError::Unavailable(format!("PKCS#11 {what}: {e}"))
}

impl Pkcs11Kms {
    /// One initialized context per module per process, kept for the life of the process
    /// (PKCS#11 allows one `C_Initialize` per process and module; finalizing it under another
    /// provider's feet would break that provider).
    fn context(module: &PathBuf) -> Result<Pkcs11, KmsError> {
        static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
        let mut map = CONTEXTS
            .get_or_init(|| Mutex::new(HashMap::new()))
            .lock()
            .map_err(|_| KmsError::Unavailable("PKCS#11 context registry lock poisoned".to_owned()))?;
        if let Some(ctx) = map.get(module) {
            return Ok(ctx.clone());
        }
        let ctx = Pkcs11::new(module)
            .map_err(|e| KmsError::Config(format!("cannot load PKCS#11 module {}: {e}", module.display())))?;
        ctx.initialize(CInitializeArgs::OsThreads).map_err(unavailable("initialize"))?;
        map.insert(module.clone(), ctx.clone());
        Ok(ctx)
    }

    fn session(config: &Pkcs11Config, pin: &SecretString) -> Result<(Pkcs11, Session), KmsError> {
        let ctx = Self::context(&config.module)?;
        let slots = ctx.get_slots_with_initialized_token().map_err(unavailable("list slots"))?;
        let slot = slots
            .into_iter()
            .find(|s| ctx.get_token_info(*s).is_ok_and(|i| i.label() == config.token_label))
            .ok_or_else(|| KmsError::Config(format!("no PKCS#11 token labelled {:?}", config.token_label)))?;
        let session = ctx.open_rw_session(slot).map_err(unavailable("open session"))?;
        let pin = AuthPin::from(pin.expose_secret().to_owned());
        match session.login(UserType::User, Some(&pin)) {
            // Login state is shared by all sessions of a process with the token.
            Ok(()) | Err(cryptoki::error::Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => {
                return Err(KmsError::Config(format!(
                    "PKCS#11 login to {:?} failed: {e}",
                    config.token_label
                )));
            }
        }
        Ok((ctx, session))
    }

    fn find_key(session: &Session, label: &str) -> Result<Option<ObjectHandle>, KmsError> {
        let found = session
            .find_objects(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .map_err(unavailable("find key"))?;
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => Err(KmsError::Config(format!("more than one AES key labelled {label:?} in the token"))),
        }
    }

    /// Logs in with the user `pin` and finds the root key.
    pub fn open(config: &Pkcs11Config, pin: &SecretString) -> Result<Self, KmsError> {
        let (ctx, session) = Self::session(config, pin)?;
        let key = Self::find_key(&session, &config.key_label)?.ok_or_else(|| {
            KmsError::Config(format!("no AES key labelled {:?} in the token", config.key_label))
        })?;
        Ok(Self { session: Mutex::new(session), key, _ctx: ctx })
    }

    /// Generates the root key in the token (non-extractable, sensitive AES-256) unless a key
    /// with that label exists, then opens it.
    pub fn create_key(config: &Pkcs11Config, pin: &SecretString) -> Result<Self, KmsError> {
        let (ctx, session) = Self::session(config, pin)?;
        let key = match Self::find_key(&session, &config.key_label)? {
            Some(k) => k,
            None => session
                .generate_key(
                    &Mechanism::AesKeyGen,
                    &[
                        Attribute::Class(ObjectClass::SECRET_KEY),
                        Attribute::KeyType(KeyType::AES),
                        Attribute::ValueLen(32.into()),
                        Attribute::Token(true),
                        Attribute::Private(true),
                        Attribute::Sensitive(true),
                        Attribute::Extractable(false),
                        Attribute::Encrypt(true),
                        Attribute::Decrypt(true),
                        Attribute::Label(config.key_label.as_bytes().to_vec()),
                    ],
                )
                .map_err(unavailable("generate key"))?,
        };
        Ok(Self { session: Mutex::new(session), key, _ctx: ctx })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Session>, KmsError> {
        self.session.lock().map_err(|_| KmsError::Unavailable("PKCS#11 session lock poisoned".to_owned()))
    }
}

#[async_trait]
impl KmsProvider for Pkcs11Kms {
    fn id(&self) -> &str {
        "pkcs11"
    }

    async fn wrap(&self, key: &SecretArray<32>, context: &KmsContext) -> Result<Vec<u8>, KmsError> {
        let mut nonce =
            palisade_core::random::array::<12>().map_err(|e| KmsError::Unavailable(e.to_string()))?;
        let aad = context.to_bytes();
        let ct = {
            let params =
                GcmParams::new(&mut nonce, &aad, 128.into()).map_err(unavailable("GCM parameters"))?;
            let session = self.lock()?;
            session
                .encrypt(&Mechanism::AesGcm(params), self.key, key.expose_secret())
                .map_err(unavailable("encrypt"))?
        };
        let mut out = Vec::with_capacity(12 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    async fn unwrap(&self, wrapped: &[u8], context: &KmsContext) -> Result<SecretArray<32>, KmsError> {
        if wrapped.len() != 12 + 48 {
            return Err(KmsError::Rejected);
        }
        let (nonce, ct) = wrapped.split_at(12);
        let mut nonce: [u8; 12] = nonce.try_into().map_err(|_| KmsError::Rejected)?;
        let aad = context.to_bytes();
        let params = GcmParams::new(&mut nonce, &aad, 128.into()).map_err(unavailable("GCM parameters"))?;
        let plain = {
            let session = self.lock()?;
            session.decrypt(&Mechanism::AesGcm(params), self.key, ct).map_err(|_| KmsError::Rejected)?
        };
        let plain = zeroize::Zeroizing::new(plain);
        SecretArray::try_from_slice(&plain).ok_or(KmsError::Rejected)
    }
}
