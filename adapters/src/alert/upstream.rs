//! The internal REST alert service (contract: `docs/openapi/alert.yaml`).
//!
//! Every call carries the request id, the partner and the user as headers, and a deadline
//! (`x-deadline-unix-ms`) after which the service must not apply a change: when the gateway
//! gives up on a slow answer and says 504, the change is not applied later behind its back.

use std::time::Duration;

use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::InternalService;
use crate::alert::model::{
    AccountType, AlertChange, MessageService, Problem, TeleProcedure, TeleProcedureAlert,
};

/// Why an upstream call did not give a usable answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpstreamError {
    /// Could not connect (refused, unreachable).
    #[error("alert service unavailable: {0}")]
    Unavailable(String),
    /// No complete answer within the route's request timeout.
    #[error("alert service did not answer within {0:?}")]
    Timeout(Duration),
    /// An answer the contract does not allow (5xx, unreadable JSON).
    #[error("alert service answered badly: {0}")]
    BadAnswer(String),
    /// The login or password (or SSO login) was refused.
    #[error("user credentials refused")]
    Unauthorized,
    /// The account does not exist in this partner.
    #[error("account not found")]
    NotFound,
    /// The service refused the change (business rules), one problem per item.
    #[error("change refused")]
    Rejected(Vec<Problem>),
}

/// Who is calling, forwarded as headers.
pub(crate) struct Caller<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) partner: &'a str,
    pub(crate) user: &'a str,
}

/// `POST /v1/auth/verify` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyRequest<'a> {
    login: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    sso_verified: bool,
}

/// A verified user.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VerifiedUser {
    /// The user's own account name.
    pub(crate) account: String,
    /// Its type.
    pub(crate) role: AccountType,
    /// For a primary account, its secondary accounts.
    #[serde(default)]
    pub(crate) secondary_accounts: Vec<String>,
}

/// The full alert configuration of an account, as the service returns it, read the way seed
/// 004 §2.3 and §3.1 say the portal is answered: every subscribed téléprocédure, with only its
/// active message services ([`subscribed`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AlertConfig {
    pub(crate) account: String,
    pub(crate) account_type: AccountType,
    pub(crate) alert_active: bool,
    #[serde(default)]
    pub(crate) send_admin: Option<bool>,
    #[serde(default)]
    pub(crate) secondary_account_alert: Option<bool>,
    #[serde(default)]
    pub(crate) mails: Vec<String>,
    pub(crate) send_multiple_paiement: bool,
    pub(crate) send_test: bool,
    #[serde(default, deserialize_with = "subscribed")]
    pub(crate) tele_procedures: Vec<TeleProcedureAlert>,
}

/// One subscribed téléprocédure as the service writes it: its message services may be absent
/// or `null` when it has none.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpstreamTeleProcedure {
    tele_procedure: TeleProcedure,
    #[serde(default)]
    message_services: Option<Vec<serde_json::Value>>,
}

/// Seed 004 §2.3: "Toutes les téléprocédures auxquelles le compte est abonné sont remontées,
/// mais on ne retourne que les MessageService qui sont actif." Every subscribed téléprocédure
/// is kept, also one written without message services; of its message services only the
/// active ones are read (an inactive entry is never returned, so what else it holds, say a
/// message type the web service does not configure, cannot fail the answer). An active entry
/// must be one the published schema can carry.
fn subscribed<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<TeleProcedureAlert>, D::Error> {
    use serde::de::Error as _;
    let listed = Option::<Vec<UpstreamTeleProcedure>>::deserialize(deserializer)?;
    let mut out = Vec::new();
    for tp in listed.unwrap_or_default() {
        let mut message_services = Vec::new();
        for entry in tp.message_services.unwrap_or_default() {
            if entry.get("active") != Some(&serde_json::Value::Bool(true)) {
                continue;
            }
            let ms: MessageService = serde_json::from_value(entry).map_err(D::Error::custom)?;
            if ms.delay > 99 {
                return Err(D::Error::custom(format!(
                    "an active {} alert of {} has a delay of {} days (at most 99)",
                    ms.kind.as_str(),
                    tp.tele_procedure.as_str(),
                    ms.delay
                )));
            }
            message_services.push(ms);
        }
        out.push(TeleProcedureAlert {
            tele_procedure: tp.tele_procedure,
            message_services,
        });
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Debug, Deserialize)]
struct ErrorItem {
    code: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    message: String,
}

// === impl AlertClient ===

/// The HTTP client of one route's alert service.
pub(crate) struct AlertClient {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
}

impl AlertClient {
    pub(crate) fn new(service: &InternalService) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(service.connect_timeout)
            .timeout(service.request_timeout)
            .pool_max_idle_per_host(64)
            .build()?;
        Ok(Self {
            http,
            base: service.base_url.clone(),
            timeout: service.request_timeout,
        })
    }

    /// `POST /v1/auth/verify`: the password, or (`password` = `None`) an SSO login the gateway
    /// already verified.
    pub(crate) async fn verify(
        &self,
        caller: &Caller<'_>,
        password: Option<&str>,
    ) -> Result<VerifiedUser, UpstreamError> {
        let body = VerifyRequest {
            login: caller.user,
            password,
            sso_verified: password.is_none(),
        };
        let url = format!("{}/v1/auth/verify", self.base);
        let req = self.http.post(url).body(to_json(&body));
        self.send(caller, req).await
    }

    /// `GET …/alert-config`.
    pub(crate) async fn get(
        &self,
        caller: &Caller<'_>,
        account: &str,
    ) -> Result<AlertConfig, UpstreamError> {
        let req = self.http.get(self.config_url(caller.partner, account));
        self.send(caller, req).await
    }

    /// `PATCH …/alert-config`: applied atomically by the service, or not at all.
    pub(crate) async fn patch(
        &self,
        caller: &Caller<'_>,
        account: &str,
        change: &AlertChange,
    ) -> Result<AlertConfig, UpstreamError> {
        let req = self
            .http
            .patch(self.config_url(caller.partner, account))
            .body(to_json(change));
        self.send(caller, req).await
    }

    fn config_url(&self, partner: &str, account: &str) -> String {
        // Both were validated to [A-Za-z0-9._-]; encoding anyway keeps the URL safe should
        // that rule ever widen.
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        format!(
            "{}/v1/partners/{}/accounts/{}/alert-config",
            self.base,
            enc(partner),
            enc(account)
        )
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        caller: &Caller<'_>,
        req: reqwest::RequestBuilder,
    ) -> Result<T, UpstreamError> {
        let deadline = jiff::Timestamp::now().as_millisecond()
            + i64::try_from(self.timeout.as_millis()).unwrap_or(i64::MAX / 2);
        let req = req
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("x-request-id", caller.request_id)
            .header("x-partner", caller.partner)
            .header("x-user", header_safe(caller.user))
            .header("x-deadline-unix-ms", deadline.to_string());
        let resp = req.send().await.map_err(|e| self.classify(&e))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| self.classify(&e))?;
        match status {
            StatusCode::OK => serde_json::from_slice(&body)
                .map_err(|e| UpstreamError::BadAnswer(format!("unreadable JSON: {e}"))),
            StatusCode::UNAUTHORIZED => Err(UpstreamError::Unauthorized),
            StatusCode::NOT_FOUND => Err(UpstreamError::NotFound),
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT => {
                let parsed: ErrorBody = serde_json::from_slice(&body)
                    .map_err(|e| UpstreamError::BadAnswer(format!("unreadable error body: {e}")))?;
                Err(UpstreamError::Rejected(
                    parsed.errors.into_iter().map(problem).collect(),
                ))
            }
            StatusCode::SERVICE_UNAVAILABLE => Err(UpstreamError::Unavailable(
                "503 from the alert service".into(),
            )),
            StatusCode::GATEWAY_TIMEOUT => Err(UpstreamError::Timeout(self.timeout)),
            other => Err(UpstreamError::BadAnswer(format!("status {other}"))),
        }
    }

    fn classify(&self, e: &reqwest::Error) -> UpstreamError {
        if e.is_timeout() {
            UpstreamError::Timeout(self.timeout)
        } else if e.is_connect() {
            UpstreamError::Unavailable(e.to_string())
        } else {
            UpstreamError::BadAnswer(e.to_string())
        }
    }
}

/// Logins are free text: controls, non-ASCII and `%` are percent-encoded (UTF-8) so that any
/// login makes a valid header value (the contract says so).
fn header_safe(value: &str) -> String {
    const UNSAFE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%');
    percent_encoding::utf8_percent_encode(value, UNSAFE).to_string()
}

/// Serialising these plain structs cannot fail; an empty body would be refused upstream.
fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Upstream problem codes are passed on; texts are kept short (they reach the portal).
fn problem(item: ErrorItem) -> Problem {
    let code = match item.code.as_str() {
        "TOO_MANY_MAILS" => "TOO_MANY_MAILS",
        "NOT_SUBSCRIBED" => "NOT_SUBSCRIBED",
        "MAIL_NOT_FOUND" => "MAIL_NOT_FOUND",
        "NOT_ALLOWED_FOR_ACCOUNT_TYPE" => "NOT_ALLOWED_FOR_ACCOUNT_TYPE",
        _ => "REFUSED",
    };
    let mut message = item.message;
    message.truncate(message.floor_char_boundary(300));
    let mut field = item.field;
    field.truncate(field.floor_char_boundary(120));
    Problem::new(code, field, message)
}
