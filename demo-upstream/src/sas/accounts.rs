//! `/v1/regulators`: regulator accounts in memory. A national or SAS id may be held by one
//! active account at a time; once disabled, its national id may be reassigned.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Json, Response};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::query_values;

/// An account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Account {
    #[serde(default)]
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    national_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sas_id: Option<String>,
    active: bool,
    family: String,
    given: String,
    email: String,
}

/// Every account, and the next id.
#[derive(Debug, Default)]
pub(crate) struct Store {
    accounts: Vec<Account>,
    next: u64,
}

type Shared = State<Arc<Mutex<Store>>>;

fn same_id(a: &Account, b: &Account) -> bool {
    (a.national_id.is_some() && a.national_id == b.national_id)
        || (a.sas_id.is_some() && a.sas_id == b.sas_id)
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn valid(a: &Account) -> bool {
    (a.national_id.is_some() || a.sas_id.is_some()) && !a.family.is_empty() && a.email.contains('@')
}

impl Store {
    fn insert(&mut self, mut account: Account) -> Account {
        self.next += 1;
        account.id = format!("reg-{}", self.next);
        self.accounts.push(account.clone());
        account
    }
}

/// `POST /v1/regulators`: 201, or 409 when an active account holds the identifier.
pub(crate) async fn create(State(store): Shared, Json(account): Json<Account>) -> Response {
    if !valid(&account) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "an identifier, a family name and an e-mail are required",
        );
    }
    let Ok(mut store) = store.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "store poisoned");
    };
    if store
        .accounts
        .iter()
        .any(|a| a.active && same_id(a, &account))
    {
        return error(
            StatusCode::CONFLICT,
            "an active account holds this identifier",
        );
    }
    let saved = store.insert(account);
    (StatusCode::CREATED, Json(saved)).into_response()
}

/// `PUT /v1/regulators?national_id=…` or `?sas_id=…`: update (200) or create (201).
pub(crate) async fn upsert(
    State(store): Shared,
    RawQuery(raw): RawQuery,
    Json(mut account): Json<Account>,
) -> Response {
    let national = query_values(raw.as_deref(), "national_id").pop();
    let sas = query_values(raw.as_deref(), "sas_id").pop();
    if national.is_none() == sas.is_none() || !valid(&account) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "one of national_id or sas_id, and a valid account, are required",
        );
    }
    let Ok(mut store) = store.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "store poisoned");
    };
    let found = store.accounts.iter().position(|a| {
        (national.is_some() && a.national_id == national) || (sas.is_some() && a.sas_id == sas)
    });
    let clash = store
        .accounts
        .iter()
        .enumerate()
        .any(|(i, a)| Some(i) != found && a.active && account.active && same_id(a, &account));
    if clash {
        return error(
            StatusCode::CONFLICT,
            "another active account holds this identifier",
        );
    }
    match found {
        Some(i) => {
            account.id = store.accounts[i].id.clone();
            store.accounts[i] = account.clone();
            (StatusCode::OK, Json(account)).into_response()
        }
        None => {
            let saved = store.insert(account);
            (StatusCode::CREATED, Json(saved)).into_response()
        }
    }
}

/// `GET /v1/regulators/{id}`.
pub(crate) async fn one(State(store): Shared, Path(id): Path<String>) -> Response {
    let Ok(store) = store.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "store poisoned");
    };
    match store.accounts.iter().find(|a| a.id == id) {
        Some(a) => Json(a.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such account"),
    }
}

/// `GET /v1/regulators`: every account.
pub(crate) async fn list(State(store): Shared) -> Response {
    let Ok(store) = store.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "store poisoned");
    };
    Json(store.accounts.clone()).into_response()
}
