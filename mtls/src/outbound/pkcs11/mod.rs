//! PKCS#11 identities: the private key stays on a token (HSM, smart card) and signs there.
//!
//! The module is loaded and initialised once per process (a second `C_Initialize` would fail),
//! the token is found by label, and the identity logs in when it is built, so a wrong PIN or a
//! missing key fails the configuration load rather than the first call. One logged-in session
//! is kept behind a mutex (tokens are slow and often single-threaded: signatures are
//! serialised), and reopened once when the token says it was lost. Signatures run on the
//! identity's signing pool, off the async workers (see `signing`).
//!
//! Mechanisms: RSA PKCS#1 v1.5 is `CKM_RSA_PKCS` over a DigestInfo computed here, RSA-PSS is
//! `CKM_RSA_PKCS_PSS` over the digest (MGF1 with the same hash, salt of the hash's length),
//! ECDSA is `CKM_ECDSA` over the digest, its raw `r || s` re-encoded as the DER TLS expects.
//! PSS is offered only if the token lists `CKM_RSA_PKCS_PSS`: without it the identity signs
//! PKCS#1 v1.5 only and therefore speaks TLS 1.2 only, like a CPS card.

mod mechanism;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use rustls::SignatureScheme;
use rustls_pki_types::CertificateDer;

use super::builder::OutboundTlsBuilder;
use super::error::{CertificateProblem, IdentityError};
use super::remote_key::{Backend, RemoteKey, RemoteKeyParts};
use super::schemes::{TlsVersions, client_certificate, verifies};
use super::secret::Secret;
use super::signing::{Job, SignatureStats, SigningPool};
use crate::{OutboundTlsError, load_certificates};
use mechanism::{ecdsa_der, prepare, schemes_for};

/// A key on a PKCS#11 token.
#[derive(Debug, Clone)]
pub struct Pkcs11Identity {
    /// The PKCS#11 module (`/usr/lib/softhsm/libsofthsm2.so`, a card middleware, an HSM's).
    pub module: PathBuf,
    /// The token's label (`CKA_LABEL` of the token, without padding).
    pub token_label: String,
    /// The private key's `CKA_LABEL`.
    pub key_label: String,
    /// Where the certificate (chain) comes from.
    pub certificate: Pkcs11Certificate,
    /// The user PIN. The caller resolves it (for example from the environment variable the
    /// configuration names) and wraps it at once.
    pub pin: Secret,
    /// Timeout of one signature.
    pub sign_timeout: Duration,
}

/// Where a PKCS#11 identity's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pkcs11Certificate {
    /// A certificate object on the token, by `CKA_LABEL` (sent alone, without a chain).
    Token {
        /// Its label.
        label: String,
    },
    /// A chain file (PEM or DER, leaf first).
    File(PathBuf),
}

impl Pkcs11Identity {
    /// An identity with a 5 s signature timeout.
    #[must_use]
    pub fn new(
        module: impl Into<PathBuf>,
        token_label: impl Into<String>,
        key_label: impl Into<String>,
        certificate: Pkcs11Certificate,
        pin: Secret,
    ) -> Self {
        Self {
            module: module.into(),
            token_label: token_label.into(),
            key_label: key_label.into(),
            certificate,
            pin,
            sign_timeout: Duration::from_secs(5),
        }
    }
}

/// Logs in, reads the certificate, checks the key signs for it, and builds the configuration.
pub(crate) fn build(
    builder: &OutboundTlsBuilder,
    id: &Pkcs11Identity,
) -> Result<(rustls::ClientConfig, TlsVersions, Arc<SignatureStats>), IdentityError> {
    let ctx = module(&id.module)?;
    let slot = find_slot(&ctx, &id.module, &id.token_label)?;
    let token = Token {
        ctx,
        slot,
        module: id.module.clone(),
        label: id.token_label.clone(),
        key_label: id.key_label.clone(),
        pin: id.pin.clone(),
        session: Mutex::new(None),
    };
    let session = token.login()?;
    let key = token.key(&session)?;
    let chain = match &id.certificate {
        Pkcs11Certificate::Token { label } => vec![token.certificate(&session, label)?],
        Pkcs11Certificate::File(path) => {
            load_certificates(path).map_err(OutboundTlsError::Certificate)?
        }
    };
    *token.lock() = Some((session, key));
    let signer = token.name();
    let wrong = |problem| IdentityError::WrongCertificate {
        signer: signer.clone(),
        problem,
    };
    let leaf = chain
        .first()
        .cloned()
        .ok_or_else(|| wrong(CertificateProblem::Empty))?;
    let kind = client_certificate(&leaf).map_err(wrong)?;
    let mechanisms = token
        .ctx
        .get_mechanism_list(token.slot)
        .map_err(|e| token.error("C_GetMechanismList", e))?;
    let (schemes, algorithm) = schemes_for(kind, &mechanisms, &signer)?;
    let versions = builder.route_versions().for_schemes(Some(&schemes))?;

    // One signature now, on this (blocking) thread: a key that does not match the
    // certificate fails the configuration, not a partner's handshake.
    let probe = b"mtls: does the token key match its certificate?";
    let (mechanism, input, ecdsa) = prepare(schemes[0], probe)?;
    let raw = token.sign(&mechanism, &input)?;
    let signature = if ecdsa { ecdsa_der(&raw) } else { raw };
    if !verifies(&leaf, schemes[0], probe, &signature) {
        return Err(IdentityError::BadSignature { signer });
    }

    let pool = Arc::new(SigningPool::start("pkcs11-signer", 1)?);
    let stats = Arc::new(SignatureStats::default());
    let key = RemoteKey::new(RemoteKeyParts {
        backend: Arc::new(TokenSigner(Arc::new(token))),
        cert: leaf,
        schemes,
        algorithm,
        pool,
        timeout: id.sign_timeout,
        stats: stats.clone(),
    });
    let config = builder.remote_config(chain, Arc::new(key), versions, true)?;
    Ok((config, versions, stats))
}

/// Modules loaded by this process, by path: each is initialised once and never finalised.
fn module(path: &Path) -> Result<Pkcs11, IdentityError> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut modules = MODULES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(ctx) = modules.get(path) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(path).map_err(|e| pkcs11_error(path, "loading the module", &e))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(pkcs11_error(path, "C_Initialize", &e)),
    }
    modules.insert(path.to_owned(), ctx.clone());
    Ok(ctx)
}

/// Maps a PKCS#11 failure on a token to its typed error.
fn token_error(module: &Path, token: &str, operation: &'static str, e: CkError) -> IdentityError {
    let token = token.to_owned();
    match e {
        CkError::Pkcs11(RvError::PinIncorrect, _) => IdentityError::PinIncorrect { token },
        CkError::Pkcs11(RvError::PinLocked, _) => IdentityError::PinLocked { token },
        CkError::Pkcs11(
            RvError::TokenNotPresent
            | RvError::TokenNotRecognized
            | RvError::DeviceRemoved
            | RvError::SlotIdInvalid,
            _,
        ) => IdentityError::TokenAbsent {
            token,
            module: module.to_owned(),
        },
        e => pkcs11_error(module, operation, &e),
    }
}

/// The slot holding the token labelled `label`.
fn find_slot(ctx: &Pkcs11, module: &Path, label: &str) -> Result<Slot, IdentityError> {
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| token_error(module, label, "C_GetSlotList", e))?;
    for slot in slots {
        let info = ctx
            .get_token_info(slot)
            .map_err(|e| token_error(module, label, "C_GetTokenInfo", e))?;
        if info.label().trim_end() == label {
            return Ok(slot);
        }
    }
    Err(IdentityError::TokenAbsent {
        token: label.to_owned(),
        module: module.to_owned(),
    })
}

fn pkcs11_error(module: &Path, operation: &'static str, e: &CkError) -> IdentityError {
    IdentityError::Pkcs11 {
        module: module.to_owned(),
        operation,
        reason: match e {
            CkError::Pkcs11(rv, function) => format!("{function}: {rv:?}"),
            other => other.to_string(),
        },
    }
}

/// A logged-in session and the key's handle.
type Open = Option<(Session, ObjectHandle)>;

struct Token {
    ctx: Pkcs11,
    slot: Slot,
    module: PathBuf,
    label: String,
    key_label: String,
    pin: Secret,
    session: Mutex<Open>,
}

// === impl Token ===

impl Token {
    fn name(&self) -> String {
        format!("PKCS#11 token {:?} key {:?}", self.label, self.key_label)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn error(&self, operation: &'static str, e: CkError) -> IdentityError {
        token_error(&self.module, &self.label, operation, e)
    }

    fn login(&self) -> Result<Session, IdentityError> {
        let session = self
            .ctx
            .open_ro_session(self.slot)
            .map_err(|e| self.error("C_OpenSession", e))?;
        let pin = AuthPin::from(self.pin.expose());
        match session.login(UserType::User, Some(&pin)) {
            // Login is per application: a second session is already logged in.
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(e) => Err(self.error("C_Login", e)),
        }
    }

    fn find(
        &self,
        session: &Session,
        class: ObjectClass,
        label: &str,
    ) -> Result<ObjectHandle, IdentityError> {
        let template = [
            Attribute::Class(class),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        let found = session
            .find_objects(&template)
            .map_err(|e| self.error("C_FindObjects", e))?;
        found
            .into_iter()
            .next()
            .ok_or_else(|| IdentityError::ObjectNotFound {
                token: self.label.clone(),
                what: if class == ObjectClass::PRIVATE_KEY {
                    "private key"
                } else {
                    "certificate"
                },
                label: label.to_owned(),
            })
    }

    fn key(&self, session: &Session) -> Result<ObjectHandle, IdentityError> {
        self.find(session, ObjectClass::PRIVATE_KEY, &self.key_label)
    }

    fn certificate(
        &self,
        session: &Session,
        label: &str,
    ) -> Result<CertificateDer<'static>, IdentityError> {
        let handle = self.find(session, ObjectClass::CERTIFICATE, label)?;
        let attributes = session
            .get_attributes(handle, &[AttributeType::Value])
            .map_err(|e| self.error("C_GetAttributeValue", e))?;
        attributes
            .into_iter()
            .find_map(|a| match a {
                Attribute::Value(der) => Some(CertificateDer::from(der)),
                _ => None,
            })
            .ok_or_else(|| IdentityError::ObjectNotFound {
                token: self.label.clone(),
                what: "certificate value",
                label: label.to_owned(),
            })
    }

    /// Signs on the token (blocking), reopening the session once if the token lost it.
    fn sign(&self, mechanism: &Mechanism<'_>, input: &[u8]) -> Result<Vec<u8>, IdentityError> {
        let mut open = self.lock();
        for attempt in 0..2 {
            let (session, key) = match open.take() {
                Some(o) => o,
                None => {
                    let session = self.login()?;
                    let key = self.key(&session)?;
                    (session, key)
                }
            };
            match session.sign(mechanism, key, input) {
                Ok(signature) => {
                    *open = Some((session, key));
                    return Ok(signature);
                }
                Err(e) if attempt == 0 && session_lost(&e) => {
                    tracing::info!(token = %self.label, "PKCS#11 session lost: logging in again");
                }
                Err(e) => {
                    if !session_lost(&e) {
                        *open = Some((session, key));
                    }
                    return Err(self.error("C_Sign", e));
                }
            }
        }
        Err(IdentityError::TokenAbsent {
            token: self.label.clone(),
            module: self.module.clone(),
        })
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("module", &self.module)
            .field("label", &self.label)
            .field("key_label", &self.key_label)
            .finish_non_exhaustive()
    }
}

fn session_lost(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::UserNotLoggedIn
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent,
            _
        )
    )
}

/// The token as a remote key's backend.
#[derive(Debug)]
struct TokenSigner(Arc<Token>);

impl Backend for TokenSigner {
    fn signer(&self) -> String {
        self.0.name()
    }

    fn sign(&self, scheme: SignatureScheme, message: Vec<u8>) -> Job<Vec<u8>> {
        let token = self.0.clone();
        Box::pin(async move {
            // The mechanism holds raw pointers (not `Send`): build it where it is used.
            tokio::task::spawn_blocking(move || {
                let (mechanism, input, ecdsa) = prepare(scheme, &message)?;
                let raw = token.sign(&mechanism, &input)?;
                Ok(if ecdsa { ecdsa_der(&raw) } else { raw })
            })
            .await
            .map_err(|_| IdentityError::SigningPoolStopped)?
        })
    }
}
