//! INT_R02, regulator accounts: `POST [base]/Practitioner` (create) and
//! `PUT [base]/Practitioner?identifier=<system>|<value>` (idempotent upsert), checked against
//! FrPractitionerRegul and translated into the accounts service's `/v1/regulators` calls.

use bytes::Bytes;
use http::StatusCode;
use serde_json::Value;

use super::client::{Internal, enc};
use super::model::{Regulator, Saved};
use super::outcome::FhirError;
use super::query::{IDNPS_SYSTEM, Params, SAS_SYSTEM};

const V2_0203: &str = "http://interopsante.org/fhir/CodeSystem/fr-v2-0203";

/// A successful write: status (201 or 200), the account id, and the stored resource.
pub(crate) struct Written {
    pub(crate) status: StatusCode,
    pub(crate) id: String,
    pub(crate) resource: Value,
}

fn bad(reason: impl Into<String>) -> FhirError {
    FhirError::BadBody(reason.into())
}

fn text<'a>(v: &'a Value, what: &str) -> Result<&'a str, FhirError> {
    match v.as_str() {
        Some(s) if !s.trim().is_empty() => Ok(s),
        Some(_) => Err(bad(format!("{what} is empty"))),
        None => Err(bad(format!("{what} is missing or not a string"))),
    }
}

/// Reads a FrPractitionerRegul body into an account, or says what is wrong with it.
pub(crate) fn parse_regulator(body: &[u8]) -> Result<(Regulator, Value), FhirError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| bad("the body is not a JSON FHIR resource"))?;
    if v["resourceType"] != "Practitioner" {
        return Err(bad("the body must be a Practitioner resource"));
    }
    let (mut national_id, mut sas_id) = (None, None);
    let ids = v["identifier"]
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| bad("Practitioner.identifier is required"))?;
    for (i, id) in ids.iter().enumerate() {
        let system = text(&id["system"], &format!("identifier[{i}].system"))?;
        let value = text(&id["value"], &format!("identifier[{i}].value"))?;
        let expected = match system {
            IDNPS_SYSTEM => "IDNPS",
            SAS_SYSTEM => "INTRN",
            other => {
                return Err(FhirError::BusinessRule(format!(
                    "identifier[{i}].system `{other}` is neither {IDNPS_SYSTEM} nor {SAS_SYSTEM}"
                )));
            }
        };
        if let Some(codings) = id["type"]["coding"].as_array() {
            for c in codings {
                if c["system"] == V2_0203 && c["code"] != expected {
                    return Err(FhirError::BusinessRule(format!(
                        "identifier[{i}]: type {} does not match system {system} (expected {expected})",
                        c["code"]
                    )));
                }
            }
        }
        if expected == "IDNPS" {
            national_id = Some(value.to_owned())
        } else {
            sas_id = Some(value.to_owned())
        }
    }
    let active = v["active"]
        .as_bool()
        .ok_or_else(|| bad("Practitioner.active (true or false) is required"))?;
    let name = v["name"]
        .as_array()
        .and_then(|a| a.first())
        .ok_or_else(|| bad("Practitioner.name is required"))?;
    let family = text(&name["family"], "name.family")?;
    let given = match name["given"].as_array() {
        Some(g) if g.len() == 1 => text(&g[0], "name.given[0]")?,
        _ => return Err(bad("name.given must hold exactly one given name")),
    };
    let telecoms = v["telecom"]
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| bad("Practitioner.telecom (an e-mail) is required"))?;
    let mut email = None;
    for (i, t) in telecoms.iter().enumerate() {
        if t["system"] != "email" {
            return Err(bad(format!("telecom[{i}].system must be `email`")));
        }
        email = Some(text(&t["value"], &format!("telecom[{i}].value"))?);
    }
    let email = email.ok_or_else(|| bad("an e-mail telecom is required"))?;
    let regulator = Regulator {
        national_id,
        sas_id,
        active,
        family: family.to_owned(),
        given: given.to_owned(),
        email: email.to_owned(),
    };
    Ok((regulator, v))
}

fn stored(mut resource: Value, id: &str) -> Value {
    // The server allocates the id; the body's own `id` (the kit sends one) is ignored.
    resource["id"] = Value::String(id.to_owned());
    resource
}

/// `POST [base]/Practitioner`.
pub(crate) async fn create(
    accounts: &Internal,
    body: &Bytes,
    request_id: &str,
) -> Result<Written, FhirError> {
    let (regulator, resource) = parse_regulator(body)?;
    let json = serde_json::to_vec(&regulator).unwrap_or_default();
    let req = accounts
        .http()
        .post(accounts.url("/v1/regulators"))
        .header("content-type", "application/json")
        .body(json);
    let (status, answer) = accounts.send(req, request_id).await?;
    match status {
        StatusCode::CREATED => {
            let saved: Saved = accounts.decode(&answer)?;
            Ok(Written {
                status,
                resource: stored(resource, &saved.id),
                id: saved.id,
            })
        }
        StatusCode::CONFLICT => Err(FhirError::Duplicate(
            "an account with this identifier already exists; update it with a conditional PUT"
                .into(),
        )),
        StatusCode::UNPROCESSABLE_ENTITY => Err(FhirError::BusinessRule(
            "the account was refused by a business rule".into(),
        )),
        s if s.is_server_error() => Err(FhirError::UpstreamDown("accounts")),
        _ => Err(FhirError::UpstreamInvalid("accounts")),
    }
}

/// `PUT [base]/Practitioner?identifier=<system>|<value>`.
pub(crate) async fn upsert(
    accounts: &Internal,
    raw_query: &str,
    body: &Bytes,
    request_id: &str,
) -> Result<Written, FhirError> {
    let params = Params::parse(raw_query)?;
    let Some(identifier) = params.one("identifier")? else {
        return Err(FhirError::MethodNotAllowed(
            "PUT on Practitioner needs `?identifier=<system>|<value>` (conditional update)".into(),
        ));
    };
    let (system, value) = identifier
        .split_once('|')
        .filter(|(_, v)| !v.is_empty())
        .ok_or_else(|| FhirError::BadQuery("`identifier` must be `<system>|<value>`".into()))?;
    let key = match system {
        IDNPS_SYSTEM => "national_id",
        SAS_SYSTEM => "sas_id",
        _ => {
            return Err(FhirError::BadQuery(format!(
                "`identifier` system must be {IDNPS_SYSTEM} or {SAS_SYSTEM}"
            )));
        }
    };
    let (regulator, resource) = parse_regulator(body)?;
    let json = serde_json::to_vec(&regulator).unwrap_or_default();
    let url = accounts.url(&format!("/v1/regulators?{key}={}", enc(value)));
    let req = accounts
        .http()
        .put(url)
        .header("content-type", "application/json")
        .body(json);
    let (status, answer) = accounts.send(req, request_id).await?;
    match status {
        StatusCode::OK | StatusCode::CREATED => {
            let saved: Saved = accounts.decode(&answer)?;
            Ok(Written {
                status,
                resource: stored(resource, &saved.id),
                id: saved.id,
            })
        }
        StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => Err(FhirError::BusinessRule(
            "the update conflicts with another active account (same national identifier)".into(),
        )),
        s if s.is_server_error() => Err(FhirError::UpstreamDown("accounts")),
        _ => Err(FhirError::UpstreamInvalid("accounts")),
    }
}
