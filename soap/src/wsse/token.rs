//! Locating `wsse:Security` and reading a UsernameToken's fields.

use crate::envelope_error::echo;
use crate::wsse::{
    Credentials, PasswordKind, SecurityPolicy, VerifiedToken, WSSE_NS, WSU_NS, WsSecurityError,
};
use crate::{Element, Envelope};

// === impl SecurityHeader ===

/// The `wsse:Security` header block addressed to the gateway.
#[derive(Debug, Clone, Copy)]
pub struct SecurityHeader<'e> {
    element: &'e Element<'e>,
}

impl<'e> SecurityHeader<'e> {
    /// Finds the one `wsse:Security` block addressed to us (no actor/role, or the
    /// next/ultimate-receiver one). Blocks for other actors are ignored.
    ///
    /// # Errors
    ///
    /// [`WsSecurityError::MissingSecurityHeader`] when there is none,
    /// [`WsSecurityError::DuplicateSecurityHeader`] when there are several.
    pub fn find(envelope: &'e Envelope<'_>) -> Result<Self, WsSecurityError> {
        let mut ours = envelope
            .header_blocks()
            .filter(|b| b.element().is(WSSE_NS, "Security") && b.targets_us());
        let first = ours.next().ok_or(WsSecurityError::MissingSecurityHeader)?;
        let extra = ours.count();
        if extra > 0 {
            return Err(WsSecurityError::DuplicateSecurityHeader { count: extra + 1 });
        }
        Ok(Self {
            element: first.element(),
        })
    }

    /// Wraps an element the caller already identified as `wsse:Security`.
    pub fn from_element(element: &'e Element<'e>) -> Self {
        Self { element }
    }

    /// The `wsse:Security` element.
    pub fn element(&self) -> &'e Element<'e> {
        self.element
    }

    /// Verifies the UsernameToken (and `wsu:Timestamp`, if any) at `now`.
    ///
    /// Nonce replay is not checked here: store
    /// [`VerifiedToken::replay_key`] with a lifetime of
    /// [`SecurityPolicy::replay_ttl`] and refuse the message if it was already there.
    ///
    /// # Errors
    ///
    /// A [`WsSecurityError`]; answer with [`WsSecurityError::to_fault`].
    pub fn verify(
        &self,
        policy: &SecurityPolicy,
        credentials: &dyn Credentials,
        now: jiff::Timestamp,
    ) -> Result<VerifiedToken, WsSecurityError> {
        let fields = TokenFields::read(self.element, policy)?;
        crate::wsse::verify::verify(&fields, policy, credentials, now)
    }
}

// === impl TokenFields ===

/// A value and one of its attributes, as written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Valued<'e> {
    pub(crate) value: &'e str,
    pub(crate) attribute: Option<&'e str>,
}

/// The raw fields of the UsernameToken and Timestamp to verify.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenFields<'e> {
    pub(crate) username: &'e str,
    /// Password text and its `Type`.
    pub(crate) password: Valued<'e>,
    /// Nonce text and its `EncodingType`.
    pub(crate) nonce: Option<Valued<'e>>,
    pub(crate) created: Option<&'e str>,
    pub(crate) ts_created: Option<&'e str>,
    pub(crate) ts_expires: Option<&'e str>,
}

impl<'e> TokenFields<'e> {
    fn read(security: &'e Element<'e>, policy: &SecurityPolicy) -> Result<Self, WsSecurityError> {
        let tokens: Vec<&Element<'_>> = security.children_named(WSSE_NS, "UsernameToken").collect();
        let token = *tokens
            .first()
            .ok_or(WsSecurityError::MissingUsernameToken)?;
        if tokens.len() > 1 && policy.is_strict() {
            return Err(WsSecurityError::MultipleUsernameTokens {
                count: tokens.len(),
            });
        }
        let stamps = security.children_named(WSU_NS, "Timestamp").count();
        if stamps > 1 {
            return Err(WsSecurityError::DuplicateTimestamp { count: stamps });
        }
        let stamp = security.child(WSU_NS, "Timestamp");
        let (ts_created, ts_expires) = match stamp {
            Some(stamp) => (
                single(stamp, WSU_NS, "Created", "Timestamp/Created")?,
                single(stamp, WSU_NS, "Expires", "Timestamp/Expires")?,
            ),
            None => (None, None),
        };

        let username = single(token, WSSE_NS, "Username", "Username")?.ok_or(
            WsSecurityError::MissingElement {
                element: "Username",
            },
        )?;
        if username.is_empty() {
            return Err(WsSecurityError::EmptyUsername);
        }
        let password = single_element(token, WSSE_NS, "Password", "Password")?.ok_or(
            WsSecurityError::MissingElement {
                element: "Password",
            },
        )?;
        let nonce = single_element(token, WSSE_NS, "Nonce", "Nonce")?;
        let mut created = single(token, WSU_NS, "Created", "Created")?;
        // Some old clients put Created in the wsse namespace; tolerated when lenient.
        if created.is_none() && !policy.is_strict() {
            created = single(token, WSSE_NS, "Created", "Created")?;
        }
        Ok(Self {
            username,
            password: Valued {
                value: password.text_trimmed(),
                attribute: password.attr(None, "Type"),
            },
            nonce: nonce.map(|n| Valued {
                value: n.text_trimmed(),
                attribute: n.attr(None, "EncodingType"),
            }),
            created,
            ts_created,
            ts_expires,
        })
    }
}

/// The at most one child `ns:local`.
fn single_element<'e>(
    parent: &'e Element<'e>,
    ns: &'e str,
    local: &'e str,
    label: &'static str,
) -> Result<Option<&'e Element<'e>>, WsSecurityError> {
    let mut found = parent.children_named(ns, local);
    let first = found.next();
    if found.next().is_some() {
        return Err(WsSecurityError::DuplicateElement { element: label });
    }
    Ok(first)
}

/// The trimmed text of the at most one child `ns:local`.
fn single<'e>(
    parent: &'e Element<'e>,
    ns: &'e str,
    local: &'e str,
    label: &'static str,
) -> Result<Option<&'e str>, WsSecurityError> {
    Ok(single_element(parent, ns, local, label)?.map(Element::text_trimmed))
}

/// Classifies `Password/@Type`.
pub(crate) fn password_kind(
    type_attr: Option<&str>,
    policy: &SecurityPolicy,
) -> Result<PasswordKind, WsSecurityError> {
    use crate::wsse::{PASSWORD_DIGEST_URI, PASSWORD_TEXT_URI};
    let Some(type_uri) = type_attr else {
        return if policy.is_strict() {
            Err(WsSecurityError::MissingPasswordType)
        } else {
            // The profile's default when Type is omitted.
            Ok(PasswordKind::Text)
        };
    };
    match type_uri.trim() {
        PASSWORD_DIGEST_URI => Ok(PasswordKind::Digest),
        PASSWORD_TEXT_URI => Ok(PasswordKind::Text),
        // Pre-standard clients wrote the QName form `wsse:PasswordDigest`.
        other if !policy.is_strict() && other.ends_with(":PasswordDigest") => {
            Ok(PasswordKind::Digest)
        }
        other if !policy.is_strict() && other.ends_with(":PasswordText") => Ok(PasswordKind::Text),
        other => Err(WsSecurityError::UnknownPasswordType {
            type_uri: echo(other),
        }),
    }
}
