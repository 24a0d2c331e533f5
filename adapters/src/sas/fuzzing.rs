//! The SAS query parsing as one function, for the fuzz target `fhir_query` (`fuzz/`): what a
//! slot search does with its raw query before any internal call. Not part of the adapter's API.

use super::query::{Params, common, tokens, window};

/// Parses a raw slot-search query the way the INT_R01 search does.
///
/// # Errors
/// The refusal the caller would get, as text.
pub fn slot_query(raw: &str) -> Result<(), String> {
    let params = Params::parse(raw).map_err(|e| e.to_string())?;
    common(&params).map_err(|e| e.to_string())?;
    window("start", params.all("start")).map_err(|e| e.to_string())?;
    let ids = params
        .one("schedule.actor:Practitioner.identifier")
        .map_err(|e| e.to_string())?;
    tokens("schedule.actor:Practitioner.identifier", ids).map_err(|e| e.to_string())?;
    Ok(())
}
