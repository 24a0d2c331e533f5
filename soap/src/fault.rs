//! SOAP faults and response envelopes for both versions.

use crate::SoapVersion;
use crate::escape::{is_ascii_ncname, push_attr, push_text};

const XML_DECL: &str = r#"<?xml version="1.0" encoding="utf-8"?>"#;

// === impl FaultCode ===

/// The version-neutral fault code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultCode {
    /// The envelope namespace is not the one the endpoint speaks.
    VersionMismatch,
    /// A mandatory header block was not understood.
    MustUnderstand,
    /// Unsupported `encodingStyle`.
    DataEncodingUnknown,
    /// The sender is at fault: SOAP 1.1 `Client`, SOAP 1.2 `Sender`.
    Sender,
    /// The receiver is at fault: SOAP 1.1 `Server`, SOAP 1.2 `Receiver`.
    Receiver,
}

impl FaultCode {
    /// Local name of the code in the envelope namespace of `version`.
    pub const fn local_name(self, version: SoapVersion) -> &'static str {
        match (self, version) {
            (Self::VersionMismatch, _) => "VersionMismatch",
            (Self::MustUnderstand, _) => "MustUnderstand",
            (Self::DataEncodingUnknown, _) => "DataEncodingUnknown",
            (Self::Sender, SoapVersion::V11) => "Client",
            (Self::Sender, SoapVersion::V12) => "Sender",
            (Self::Receiver, SoapVersion::V11) => "Server",
            (Self::Receiver, SoapVersion::V12) => "Receiver",
        }
    }
}

// === impl Subcode ===

/// An application-defined fault code QName, such as `wsse:FailedAuthentication`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subcode {
    ns: String,
    prefix: String,
    local: String,
}

impl Subcode {
    /// Namespace URI of the code.
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// Prefix used when writing the code.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Local name of the code.
    pub fn local(&self) -> &str {
        &self.local
    }
}

// === impl Fault ===

/// A SOAP fault, written for either version.
///
/// With a [`Subcode`], SOAP 1.1 uses the subcode as `faultcode` (WS-Security puts
/// `wsse:FailedAuthentication` there) while SOAP 1.2 writes the main code as
/// `Code/Value` and the subcode as `Code/Subcode/Value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    code: FaultCode,
    subcode: Option<Subcode>,
    reason: String,
    lang: String,
    detail: Option<String>,
    not_understood: Option<(Option<String>, String)>,
}

impl Fault {
    /// A fault with this code and human-readable reason (`xml:lang="en"`).
    pub fn new(code: FaultCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            subcode: None,
            reason: reason.into(),
            lang: "en".to_owned(),
            detail: None,
            not_understood: None,
        }
    }

    /// Adds an application subcode. A `prefix` that is not a plain ASCII NCName
    /// (or starts with `xml`) is replaced by `ns1` so the output stays well-formed.
    pub fn with_subcode(mut self, ns: &str, prefix: &str, local: &str) -> Self {
        let prefix = if is_ascii_ncname(prefix) {
            prefix
        } else {
            "ns1"
        };
        self.subcode = Some(Subcode {
            ns: ns.to_owned(),
            prefix: prefix.to_owned(),
            local: local.to_owned(),
        });
        self
    }

    /// Sets the language of the SOAP 1.2 reason text (SOAP 1.1 has no such attribute).
    pub fn with_lang(mut self, lang: &str) -> Self {
        lang.clone_into(&mut self.lang);
        self
    }

    /// Adds a detail: an XML fragment, already serialised by the caller and written
    /// verbatim inside `detail` (1.1) or `env:Detail` (1.2).
    pub fn with_detail_xml(mut self, fragment: impl Into<String>) -> Self {
        self.detail = Some(fragment.into());
        self
    }

    /// Names the header block that was not understood (SOAP 1.2 `NotUnderstood`).
    pub fn with_not_understood(mut self, ns: Option<&str>, local: &str) -> Self {
        self.not_understood = Some((ns.map(str::to_owned), local.to_owned()));
        self
    }

    /// The main fault code.
    pub fn code(&self) -> FaultCode {
        self.code
    }

    /// The application subcode, if any.
    pub fn subcode(&self) -> Option<&Subcode> {
        self.subcode.as_ref()
    }

    /// The human-readable reason.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Serialises the fault as a complete envelope of `version`.
    pub fn to_xml(&self, version: SoapVersion) -> String {
        let mut out = String::with_capacity(512);
        match version {
            SoapVersion::V11 => self.write_11(&mut out),
            SoapVersion::V12 => self.write_12(&mut out),
        }
        out
    }

    fn write_11(&self, out: &mut String) {
        out.push_str(XML_DECL);
        out.push_str(r#"<soap:Envelope xmlns:soap=""#);
        out.push_str(SoapVersion::V11.namespace());
        out.push_str(r#""><soap:Body><soap:Fault>"#);
        match &self.subcode {
            Some(sub) => {
                out.push_str("<faultcode");
                push_ns_decl(out, &sub.prefix, &sub.ns);
                out.push('>');
                push_qname(out, &sub.prefix, &sub.local);
            }
            None => {
                out.push_str("<faultcode>soap:");
                out.push_str(self.code.local_name(SoapVersion::V11));
            }
        }
        out.push_str("</faultcode><faultstring>");
        push_text(out, &self.reason);
        out.push_str("</faultstring>");
        if let Some(detail) = &self.detail {
            out.push_str("<detail>");
            out.push_str(detail);
            out.push_str("</detail>");
        }
        out.push_str("</soap:Fault></soap:Body></soap:Envelope>");
    }

    fn write_12(&self, out: &mut String) {
        out.push_str(XML_DECL);
        out.push_str(r#"<env:Envelope xmlns:env=""#);
        out.push_str(SoapVersion::V12.namespace());
        out.push_str(r#"">"#);
        if let Some((ns, local)) = &self.not_understood {
            out.push_str(r#"<env:Header><env:NotUnderstood qname=""#);
            match ns {
                Some(ns) => {
                    out.push_str("nu:");
                    push_attr(out, local);
                    out.push('"');
                    push_ns_decl(out, "nu", ns);
                }
                // An unqualified block: the default namespace is undeclared here,
                // so an unprefixed QName resolves to no namespace, as required.
                None => {
                    push_attr(out, local);
                    out.push('"');
                }
            }
            out.push_str("/></env:Header>");
        }
        out.push_str("<env:Body><env:Fault><env:Code><env:Value>env:");
        out.push_str(self.code.local_name(SoapVersion::V12));
        out.push_str("</env:Value>");
        if let Some(sub) = &self.subcode {
            out.push_str("<env:Subcode><env:Value");
            push_ns_decl(out, &sub.prefix, &sub.ns);
            out.push('>');
            push_qname(out, &sub.prefix, &sub.local);
            out.push_str("</env:Value></env:Subcode>");
        }
        out.push_str(r#"</env:Code><env:Reason><env:Text xml:lang=""#);
        push_attr(out, &self.lang);
        out.push_str(r#"">"#);
        push_text(out, &self.reason);
        out.push_str("</env:Text></env:Reason>");
        if let Some(detail) = &self.detail {
            out.push_str("<env:Detail>");
            out.push_str(detail);
            out.push_str("</env:Detail>");
        }
        out.push_str("</env:Fault></env:Body></env:Envelope>");
    }
}

fn push_ns_decl(out: &mut String, prefix: &str, ns: &str) {
    out.push_str(" xmlns:");
    out.push_str(prefix);
    out.push_str("=\"");
    push_attr(out, ns);
    out.push('"');
}

fn push_qname(out: &mut String, prefix: &str, local: &str) {
    out.push_str(prefix);
    out.push(':');
    push_text(out, local);
}

// === response writer ===

/// Wraps caller-serialised header blocks and body content in an envelope of
/// `version`.
///
/// The fragments are written verbatim: each must be well-formed XML declaring the
/// namespaces it uses (the envelope declares only its own prefix, `soap` in 1.1 and
/// `env` in 1.2).
pub fn write_response(version: SoapVersion, header_blocks: &[&str], body: &str) -> String {
    let prefix = match version {
        SoapVersion::V11 => "soap",
        SoapVersion::V12 => "env",
    };
    let capacity = 256 + body.len() + header_blocks.iter().map(|h| h.len()).sum::<usize>();
    let mut out = String::with_capacity(capacity);
    out.push_str(XML_DECL);
    out.push('<');
    out.push_str(prefix);
    out.push_str(":Envelope");
    push_ns_decl(&mut out, prefix, version.namespace());
    out.push('>');
    if !header_blocks.is_empty() {
        for part in ["<", prefix, ":Header>"] {
            out.push_str(part);
        }
        header_blocks.iter().for_each(|h| out.push_str(h));
        for part in ["</", prefix, ":Header>"] {
            out.push_str(part);
        }
    }
    for part in [
        "<",
        prefix,
        ":Body>",
        body,
        "</",
        prefix,
        ":Body></",
        prefix,
        ":Envelope>",
    ] {
        out.push_str(part);
    }
    out
}
