//! The authentication chain (seed 004 §1.3, reference §2 and §4): the partner by its
//! WS-Security UsernameToken and a fresh nonce, then the user: backoff first, then an SSO
//! token or the password checked by the internal service. Then the scope rules.

use std::sync::Arc;

use jiff::Timestamp;
use soap::{Backoff, Envelope, SecurityHeader, SecurityPolicy, UserRole, WSSE_NS, WsSecurityError};
use state::StateStore;

use crate::alert::config::{Partner, Settings};
use crate::alert::error::AlertError;
use crate::alert::model::AccountType;
use crate::alert::upstream::{AlertClient, Caller, UpstreamError, VerifiedUser};

/// Longest login looked at; longer ones are refused before any store or upstream work (and
/// keep store keys under the store's 512-byte limit).
const MAX_LOGIN_LEN: usize = 256;

/// Finds the partner by its token's username and verifies the token, then remembers the nonce.
pub(crate) async fn partner<'s>(
    settings: &'s Settings,
    store: &dyn StateStore,
    envelope: &Envelope<'_>,
    now: Timestamp,
) -> Result<&'s Partner, AlertError> {
    let header = SecurityHeader::find(envelope)?;
    let username = header
        .element()
        .child(WSSE_NS, "UsernameToken")
        .and_then(|t| t.child(WSSE_NS, "Username"))
        .map(|u| u.text_trimmed())
        .unwrap_or_default();
    let partner = settings.partner(username);
    // An unknown partner is verified under the strict policy against no secret: the same work
    // and the same fault as a wrong password.
    let strict = SecurityPolicy::strict();
    let policy = partner.map_or(&strict, |p| &p.policy);
    let credentials = |name: &str| {
        partner
            .filter(|p| p.username == name)
            .map(|p| p.secret.clone())
    };
    let token = header.verify(policy, &credentials, now)?;
    let partner = partner.ok_or(WsSecurityError::UnknownUser {
        username: String::new(),
    })?;
    let key = token
        .replay_key()
        .ok_or(WsSecurityError::MissingElement { element: "Nonce" })?;
    if store
        .seen_or_insert(&format!("alert:nonce:{key}"), policy.replay_ttl())
        .await?
    {
        return Err(AlertError::Replay(partner.username.clone()));
    }
    Ok(partner)
}

/// The user's login and password (or SSO token) from `context/user`.
pub(crate) fn user_credentials<'e>(
    envelope: &'e Envelope<'_>,
) -> Result<(&'e str, &'e str), AlertError> {
    let user = envelope
        .header_block_any_ns("context")
        .and_then(|b| b.element().child_any_ns("user"))
        .ok_or(AlertError::MissingUser)?;
    let login = user.child_any_ns("login").map(|l| l.text_trimmed());
    let password = user.child_any_ns("password").map(|p| p.text());
    match (login, password) {
        (Some(l), Some(p)) if !l.is_empty() && !p.is_empty() => Ok((l, p)),
        _ => Err(AlertError::MissingUser),
    }
}

/// The user chain. While a backoff wait runs the attempt is refused without looking at the
/// password, exactly like a wrong password; a failure counts one more, a success resets.
pub(crate) async fn user(
    partner: &Partner,
    backoff: &Backoff,
    store: &Arc<dyn StateStore>,
    client: &AlertClient,
    caller: &Caller<'_>,
    password: &str,
    now: Timestamp,
) -> Result<VerifiedUser, AlertError> {
    let login = caller.user;
    if login.len() > MAX_LOGIN_LEN {
        return Err(AlertError::User("login longer than 256 bytes"));
    }
    let key = backoff_key(&partner.id, login);
    let record = store.failures(&key).await?;
    if let Some(r) = record {
        let last = Timestamp::from_millisecond(r.last_failure_unix_ms).unwrap_or(now);
        if backoff.retry_after(r.count, last, now).is_some() {
            return Err(AlertError::User("backoff wait still running"));
        }
    }
    let outcome = check(partner, client, caller, password, now).await;
    match outcome {
        Ok(user) => {
            if record.is_some() {
                store.reset(&key).await?;
            }
            Ok(user)
        }
        Err(Refusal::Denied(reason)) => {
            store
                .record_failure(&key, now.as_millisecond(), backoff.counter_ttl())
                .await?;
            Err(AlertError::User(reason))
        }
        Err(Refusal::Upstream(e)) => Err(AlertError::Upstream(e)),
    }
}

/// The store key of a login's failure counter (partner-scoped: logins are per partner).
pub(crate) fn backoff_key(partner_id: &str, login: &str) -> String {
    format!("alert:login:{partner_id}:{login}")
}

enum Refusal {
    Denied(&'static str),
    Upstream(UpstreamError),
}

async fn check(
    partner: &Partner,
    client: &AlertClient,
    caller: &Caller<'_>,
    password: &str,
    now: Timestamp,
) -> Result<VerifiedUser, Refusal> {
    let upstream = |e| match e {
        UpstreamError::Unauthorized | UpstreamError::NotFound => {
            Refusal::Denied("credentials refused by the alert service")
        }
        other => Refusal::Upstream(other),
    };
    if !soap::is_sso_form(password) {
        return client
            .verify(caller, Some(password))
            .await
            .map_err(upstream);
    }
    let sso = partner
        .sso
        .as_ref()
        .ok_or(Refusal::Denied("SSO token but SSO is off for the partner"))?;
    // The token is checked before the role is known; the role check follows the lookup.
    sso.verify(caller.user, password, UserRole::User, now)
        .map_err(|e| {
            tracing::debug!(error = %e, "SSO token refused");
            Refusal::Denied("SSO token refused")
        })?;
    let user = client.verify(caller, None).await.map_err(upstream)?;
    if user.role == AccountType::Administrator {
        return Err(Refusal::Denied("SSO refused for an administrator"));
    }
    Ok(user)
}

/// Where the target account stands for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// In scope, with its type when the caller's data tells it.
    Allowed(Option<AccountType>),
    /// Out of scope.
    Denied,
}

/// A secondary account acts on itself only; a primary on itself and its secondary accounts;
/// an administrator on every account of its partner (the upstream URL is the partner's, so a
/// name from another partner is not found there).
pub(crate) fn scope(user: &VerifiedUser, target: &str) -> Scope {
    if target == user.account {
        return Scope::Allowed(Some(user.role));
    }
    match user.role {
        AccountType::Secondary => Scope::Denied,
        AccountType::Primary if user.secondary_accounts.iter().any(|s| s == target) => {
            Scope::Allowed(Some(AccountType::Secondary))
        }
        AccountType::Primary => Scope::Denied,
        AccountType::Administrator => Scope::Allowed(None),
    }
}
