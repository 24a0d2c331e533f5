//! The SAS platform's FHIR R4 flows (see `docs/sas-fhir.md`).
//!
//! Inbound, SAS → gateway, on one FHIR base per environment ([`InboundService`]):
//! - `GET [base]/Slot`: INT_R01 (individual practitioners) and INT_R04 (CPTS, recognised by
//!   `_include=Slot:service-type-reference`), from the planning service;
//! - `GET [base]/Schedule`: SOS Médecins, from the planning service;
//! - `POST [base]/Practitioner` and conditional `PUT [base]/Practitioner?identifier=…`:
//!   INT_R02 regulator accounts, from the accounts service;
//! - `GET [base]/metadata`: the CapabilityStatement of exactly that (`capability`).
//!
//! Outbound, internal apps → gateway → SAS ([`OutboundService`]): INT_R03 appointments, sent
//! with the vendor's own client certificate built by the `mtls` crate.
//!
//! Files: `query`/`time` parse what SAS sends, `fhir` builds what it expects, `slots` and
//! `practitioner` are the inbound handlers, `client`/`model` the internal services, `outcome`
//! the FHIR error mapping, `appointments`/`problem` the outbound flow and its REST errors.

mod appointments;
mod bundle;
mod capability;
mod client;
mod config;
mod fhir;
#[doc(hidden)]
pub mod fuzzing;
mod inbound;
mod model;
mod outcome;
mod practitioner;
mod problem;
mod query;
mod slots;
mod time;

pub use appointments::OutboundService;
pub use config::{
    InboundSettings, OutboundSettings, RawInbound, RawOutbound, RawRetry, RetryPolicy,
    validate_inbound, validate_outbound,
};
pub use inbound::InboundService;
