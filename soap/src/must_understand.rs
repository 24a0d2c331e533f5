//! The `mustUnderstand` rule: refuse a message carrying a mandatory header block
//! addressed to us that we do not process.

use crate::envelope_error::echo;
use crate::{Envelope, Fault, FaultCode, SoapVersion};

/// A mandatory header block addressed to the gateway that the caller does not
/// understand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("header block {name:?} in namespace {ns:?} has mustUnderstand set and is not understood")]
pub struct NotUnderstood {
    /// Namespace URI of the block (truncated).
    pub ns: Option<String>,
    /// Local name of the block (truncated).
    pub name: String,
}

impl NotUnderstood {
    /// The `MustUnderstand` fault for this block; in SOAP 1.2 it carries the
    /// `NotUnderstood` header block naming it.
    pub fn to_fault(&self) -> Fault {
        Fault::new(
            FaultCode::MustUnderstand,
            "One or more mandatory SOAP header blocks not understood",
        )
        .with_not_understood(self.ns.as_deref(), &self.name)
    }

    /// The fault serialised as a complete envelope of `version`.
    pub fn to_fault_xml(&self, version: SoapVersion) -> String {
        self.to_fault().to_xml(version)
    }
}

/// Checks the envelope's header blocks against the set the caller understands,
/// given as `(namespace URI, local name)` pairs.
///
/// Only blocks that target the gateway count: in SOAP 1.1 those without `actor` or
/// with the "next" actor; in SOAP 1.2 those without `role` or with the "next" or
/// "ultimateReceiver" role.
///
/// # Errors
///
/// [`NotUnderstood`] for the first block with `mustUnderstand` true, targeting
/// us, and absent from `understood`.
pub fn check_must_understand(
    envelope: &Envelope<'_>,
    understood: &[(&str, &str)],
) -> Result<(), NotUnderstood> {
    let unknown = envelope.header_blocks().find(|block| {
        block.must_understand()
            && block.targets_us()
            && !understood
                .iter()
                .any(|(ns, local)| block.element().is(ns, local))
    });
    match unknown {
        Some(block) => Err(NotUnderstood {
            ns: block.element().ns().map(echo),
            name: echo(block.element().name()),
        }),
        None => Ok(()),
    }
}
