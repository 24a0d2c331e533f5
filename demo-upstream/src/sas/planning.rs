//! `GET /v1/planning/slots` and `GET /v1/planning/sos`.

use axum::extract::RawQuery;
use axum::response::{IntoResponse, Json, Response};
use http::StatusCode;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::data;
use super::query_values;

fn window(raw: Option<&str>) -> Result<(Timestamp, Timestamp), Box<Response>> {
    let one = |name: &str| {
        query_values(raw, name)
            .first()
            .and_then(|v| v.parse::<Timestamp>().ok())
    };
    match (one("start"), one("end")) {
        (Some(s), Some(e)) if s <= e => Ok((s, e)),
        _ => Err(Box::new((
            StatusCode::BAD_REQUEST,
            Json(
                json!({ "error": "start and end (RFC 3339 instants, start <= end) are required" }),
            ),
        )
            .into_response())),
    }
}

/// Practitioners matching any `rpps`/`adeli`, with their places and free slots in the window.
pub(crate) async fn slots(RawQuery(raw): RawQuery) -> Response {
    let (from, to) = match window(raw.as_deref()) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let rpps = query_values(raw.as_deref(), "rpps");
    let adeli = query_values(raw.as_deref(), "adeli");
    let mut found = Vec::new();
    for p in data::practitioners() {
        let hit = p.rpps.as_ref().is_some_and(|r| rpps.contains(r))
            || p.adeli.as_ref().is_some_and(|a| adeli.contains(a));
        if !hit {
            continue;
        }
        let places: Vec<Value> = p
            .places
            .iter()
            .map(|place| {
                let mut v = place.json.clone();
                v["slots"] = Value::Array(data::slots(place, from, to));
                v
            })
            .collect();
        let mut v = json!({ "id": p.id, "family": p.family, "given": p.given, "places": places });
        if let Some(r) = &p.rpps {
            v["rpps"] = json!(r);
        }
        if let Some(a) = &p.adeli {
            v["adeli"] = json!(a);
        }
        found.push(v);
    }
    Json(json!({ "practitioners": found, "cpts": data::cpts() })).into_response()
}

/// SOS associations matching any `siret`, with their places and free slots in the window.
pub(crate) async fn sos(RawQuery(raw): RawQuery) -> Response {
    let (from, to) = match window(raw.as_deref()) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let sirets = query_values(raw.as_deref(), "siret");
    let mut found = Vec::new();
    for (mut association, places) in data::sos() {
        if !association["siret"]
            .as_str()
            .is_some_and(|s| sirets.iter().any(|x| x == s))
        {
            continue;
        }
        let places: Vec<Value> = places
            .iter()
            .map(|place| {
                let mut v = place.json.clone();
                v["slots"] = Value::Array(data::slots(place, from, to));
                v
            })
            .collect();
        association["places"] = Value::Array(places);
        found.push(association);
    }
    Json(json!({ "associations": found })).into_response()
}
