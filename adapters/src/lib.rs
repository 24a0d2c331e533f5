//! Dialect adapters: ASPOne alert SOAP service, SAS FHIR flows, document exchanges.
