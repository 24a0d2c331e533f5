//! The internal REST alert service (`/v1/auth/*`, `/v1/partners/*`), in memory, implementing
//! `docs/openapi/alert.yaml` for `gateway demo` and the end-to-end tests. The demo accounts
//! and their passwords are listed in [`data`]'s documentation.
//!
//! A `PATCH` is applied to a copy of the configuration and committed only if every rule holds
//! (at most 3 addresses after replace/add/delete, subscribed téléprocédures, fields of the
//! account's type) and the caller's deadline (`x-deadline-unix-ms`) has not passed: a change
//! is applied whole or not at all, and never after the gateway stopped waiting for it.

pub mod data;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// An account's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages every account of its partner.
    Administrator,
    /// Has secondary accounts.
    Primary,
    /// Depends on a primary account.
    Secondary,
}

/// One message service of a téléprocédure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageService {
    /// ACS, ARS, AIS or RCP.
    #[serde(rename = "type")]
    pub kind: String,
    /// Positive or negative alert.
    pub positive: bool,
    /// Whether the alert is on.
    pub active: bool,
    /// Delay in days.
    pub delay: u8,
}

/// An account's alert configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    alert_active: bool,
    send_admin: Option<bool>,
    secondary_account_alert: Option<bool>,
    mails: Vec<String>,
    send_multiple_paiement: bool,
    send_test: bool,
    /// Subscribed téléprocédures and their message services.
    tele_procedures: BTreeMap<String, Vec<MessageService>>,
}

/// One account.
#[derive(Debug, Clone)]
pub struct Account {
    name: String,
    role: Role,
    password: String,
    primary: Option<String>,
    config: Config,
}

type Accounts = Arc<Mutex<BTreeMap<(String, String), Account>>>;

/// The alert service's routes, with fresh demo data.
pub fn router() -> Router {
    let state: Accounts = Arc::new(Mutex::new(data::accounts()));
    Router::new()
        .route("/v1/auth/verify", post(verify))
        .route(
            "/v1/partners/{partner}/accounts/{account}/alert-config",
            get(read).patch(change),
        )
        .with_state(state)
}

/// When a handler panicked while holding the accounts.
fn poisoned() -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
        "state poisoned",
    )
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "no such account for this partner",
    )
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "errors": [{ "code": code, "field": "", "message": message }] })),
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct VerifyRequest {
    login: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    sso_verified: bool,
}

async fn verify(
    State(state): State<Accounts>,
    headers: HeaderMap,
    Json(req): Json<VerifyRequest>,
) -> Response {
    let Some(partner) = headers.get("x-partner").and_then(|v| v.to_str().ok()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "NO_PARTNER",
            "x-partner header is required",
        );
    };
    let Ok(accounts) = state.lock() else {
        return poisoned();
    };
    let account = accounts.get(&(partner.to_owned(), req.login.clone()));
    // A password, or an SSO login the gateway verified; nothing else authenticates.
    let ok = match (account, &req.password) {
        (Some(a), Some(p)) => a.password == *p,
        (Some(_), None) => req.sso_verified,
        (None, _) => false,
    };
    match account {
        Some(a) if ok => {
            let secondaries: Vec<&str> = accounts
                .iter()
                .filter(|((p, _), s)| p == partner && s.primary.as_deref() == Some(a.name.as_str()))
                .map(|(_, s)| s.name.as_str())
                .collect();
            Json(json!({
                "account": a.name,
                "role": a.role,
                "primaryAccount": a.primary,
                "secondaryAccounts": secondaries,
            }))
            .into_response()
        }
        _ => error(
            StatusCode::UNAUTHORIZED,
            "BAD_CREDENTIALS",
            "login or password refused",
        ),
    }
}

fn body(a: &Account) -> Json<serde_json::Value> {
    let c = &a.config;
    let tps: Vec<_> = c
        .tele_procedures
        .iter()
        .map(|(tp, list)| json!({ "teleProcedure": tp, "messageServices": list }))
        .collect();
    Json(json!({
        "account": a.name,
        "accountType": a.role,
        "alertActive": c.alert_active,
        "sendAdmin": c.send_admin,
        "secondaryAccountAlert": c.secondary_account_alert,
        "mails": c.mails,
        "sendMultiplePaiement": c.send_multiple_paiement,
        "sendTest": c.send_test,
        "teleProcedures": tps,
    }))
}

async fn read(
    State(state): State<Accounts>,
    Path((partner, account)): Path<(String, String)>,
) -> Response {
    let Ok(accounts) = state.lock() else {
        return poisoned();
    };
    match accounts.get(&(partner, account)) {
        Some(a) => body(a).into_response(),
        None => not_found(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TeleProcedureChange {
    tele_procedure: String,
    #[serde(default)]
    message_services: Vec<MessageService>,
}

/// The change: absent fields stay as they are.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Change {
    alert_active: Option<bool>,
    send_admin: Option<bool>,
    secondary_account_alert: Option<bool>,
    mails: Option<Vec<String>>,
    mails_to_add: Option<Vec<String>>,
    mails_to_delete: Option<Vec<String>>,
    send_multiple_paiement: Option<bool>,
    send_test: Option<bool>,
    #[serde(default)]
    tele_procedures: Vec<TeleProcedureChange>,
}

async fn change(
    State(state): State<Accounts>,
    Path((partner, account)): Path<(String, String)>,
    headers: HeaderMap,
    Json(change): Json<Change>,
) -> Response {
    let Ok(mut accounts) = state.lock() else {
        return poisoned();
    };
    let Some(a) = accounts.get_mut(&(partner, account)) else {
        return not_found();
    };
    let (next, errors) = apply(a.role, &a.config, &change);
    if !errors.is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "errors": errors })),
        )
            .into_response();
    }
    let deadline = headers
        .get("x-deadline-unix-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u128>().ok());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    if deadline.is_some_and(|d| now > d) {
        tracing::info!("alert change arrived after its deadline: not applied");
        return error(
            StatusCode::GATEWAY_TIMEOUT,
            "DEADLINE_PASSED",
            "the caller stopped waiting; nothing applied",
        );
    }
    a.config = next;
    body(a).into_response()
}

/// Applies `change` to a copy of `config`, collecting every refusal.
fn apply(role: Role, config: &Config, change: &Change) -> (Config, Vec<serde_json::Value>) {
    let mut next = config.clone();
    let mut errors = Vec::new();
    let mut refuse = |code: &str, field: &str, message: String| {
        errors.push(json!({ "code": code, "field": field, "message": message }));
    };
    if let Some(v) = change.alert_active {
        next.alert_active = v;
    }
    if let Some(v) = change.send_admin {
        if role == Role::Administrator {
            next.send_admin = Some(v);
        } else {
            refuse(
                "NOT_ALLOWED_FOR_ACCOUNT_TYPE",
                "sendAdmin",
                "sendAdmin is for administrators".into(),
            );
        }
    }
    if let Some(v) = change.secondary_account_alert {
        if role == Role::Primary {
            next.secondary_account_alert = Some(v);
        } else {
            refuse(
                "NOT_ALLOWED_FOR_ACCOUNT_TYPE",
                "secondaryAccountAlert",
                "secondaryAccountAlert is for primary accounts".into(),
            );
        }
    }
    if let Some(v) = change.send_multiple_paiement {
        next.send_multiple_paiement = v;
    }
    if let Some(v) = change.send_test {
        next.send_test = v;
    }
    if let Some(mails) = &change.mails {
        next.mails.clone_from(mails);
    }
    for m in change.mails_to_add.iter().flatten() {
        if !next.mails.iter().any(|x| x.eq_ignore_ascii_case(m)) {
            next.mails.push(m.clone());
        }
    }
    for m in change.mails_to_delete.iter().flatten() {
        let before = next.mails.len();
        next.mails.retain(|x| !x.eq_ignore_ascii_case(m));
        if next.mails.len() == before {
            refuse(
                "MAIL_NOT_FOUND",
                "mailsToDelete",
                format!("{m} is not in the list"),
            );
        }
    }
    if next.mails.len() > 3 {
        refuse(
            "TOO_MANY_MAILS",
            "mails",
            format!(
                "the change leaves {} addresses; at most 3 are allowed",
                next.mails.len()
            ),
        );
    }
    for tp in &change.tele_procedures {
        let Some(list) = next.tele_procedures.get_mut(&tp.tele_procedure) else {
            refuse(
                "NOT_SUBSCRIBED",
                "teleProcedureAlert",
                format!("the account does not subscribe to {}", tp.tele_procedure),
            );
            continue;
        };
        for ms in &tp.message_services {
            match list
                .iter_mut()
                .find(|x| x.kind == ms.kind && x.positive == ms.positive)
            {
                Some(existing) => *existing = ms.clone(),
                None => list.push(ms.clone()),
            }
        }
    }
    (next, errors)
}
