//! Writing the operations' answers: `responseType` SUCCESS with the full configuration, or
//! ERROR with one message per problem (seed 004 §2.3 and §3; ASPOne answers business errors
//! in band).

use std::fmt::Write as _;

use bytes::Bytes;
use http::{Response, StatusCode};
use soap::SoapVersion;

use crate::alert::error::soap_response;
use crate::alert::model::{AccountType, Operation, Problem};
use crate::alert::upstream::AlertConfig;

/// Most problems listed in one ERROR answer.
pub(crate) const MAX_MESSAGES: usize = 100;

/// A SUCCESS answer carrying the configuration, the same for the three operations (§3.1: "de
/// la même manière que pour la modification"). As §2.3 says, the complete configuration
/// ("le détail complet"): every field, the ones that depend on the account's type (§2.2.1,
/// M = "(*)") for that type only, `sendAdmin` for an administrator and
/// `secondaryAccountAlert` for a primary account; every téléprocédure the account subscribes
/// to, but only the active message services (the upstream answer was read that way, see
/// `upstream::subscribed`; the filter here keeps the rule whatever the caller passes).
pub(crate) fn success(
    ns: &str,
    version: SoapVersion,
    op: Operation,
    config: &AlertConfig,
) -> Response<Bytes> {
    let mut body = String::with_capacity(1024);
    open(&mut body, ns, op);
    body.push_str("<responseType>SUCCESS</responseType><alertConfig>");
    leaf(&mut body, "accountName", &config.account);
    leaf(&mut body, "accountType", config.account_type.as_wire());
    leaf(&mut body, "alertActive", bool_str(config.alert_active));
    if let Some(v) = config
        .send_admin
        .filter(|_| config.account_type == AccountType::Administrator)
    {
        leaf(&mut body, "sendAdmin", bool_str(v));
    }
    if let Some(v) = config
        .secondary_account_alert
        .filter(|_| config.account_type == AccountType::Primary)
    {
        leaf(&mut body, "secondaryAccountAlert", bool_str(v));
    }
    for mail in &config.mails {
        leaf(&mut body, "mail", mail);
    }
    leaf(
        &mut body,
        "sendMultiplePaiement",
        bool_str(config.send_multiple_paiement),
    );
    leaf(&mut body, "sendTest", bool_str(config.send_test));
    for tp in &config.tele_procedures {
        body.push_str("<teleProcedureAlert>");
        leaf(&mut body, "teleProcedure", tp.tele_procedure.as_str());
        for ms in tp.message_services.iter().filter(|m| m.active) {
            body.push_str("<messageService>");
            leaf(&mut body, "actif", "true");
            leaf(&mut body, "type", ms.kind.as_str());
            let _ = write!(body, "<delai>{}</delai>", ms.delay);
            leaf(&mut body, "positif", bool_str(ms.positive));
            body.push_str("</messageService>");
        }
        body.push_str("</teleProcedureAlert>");
    }
    body.push_str("</alertConfig>");
    close(&mut body, op);
    soap_response(
        StatusCode::OK,
        version,
        soap::write_response(version, &[], &body),
    )
}

/// An ERROR answer listing every problem. HTTP 200: the call was understood and answered.
pub(crate) fn refused(
    ns: &str,
    version: SoapVersion,
    op: Operation,
    problems: &[Problem],
) -> Response<Bytes> {
    let mut body = String::with_capacity(256 + 160 * problems.len().min(MAX_MESSAGES));
    open(&mut body, ns, op);
    body.push_str("<responseType>ERROR</responseType><messages>");
    // A hostile body can hold thousands of bad fields: the answer stays small.
    for p in problems.iter().take(MAX_MESSAGES) {
        body.push_str("<message>");
        leaf(&mut body, "code", p.code);
        if !p.field.is_empty() {
            leaf(&mut body, "field", &p.field);
        }
        leaf(&mut body, "text", &p.message);
        body.push_str("</message>");
    }
    if problems.len() > MAX_MESSAGES {
        body.push_str("<message><code>TOO_MANY_PROBLEMS</code><text>");
        let _ = write!(
            body,
            "{} more problems not listed",
            problems.len() - MAX_MESSAGES
        );
        body.push_str("</text></message>");
    }
    body.push_str("</messages>");
    close(&mut body, op);
    soap_response(
        StatusCode::OK,
        version,
        soap::write_response(version, &[], &body),
    )
}

fn open(out: &mut String, ns: &str, op: Operation) {
    out.push('<');
    out.push_str(op.name());
    out.push_str("Response xmlns=\"");
    soap::push_attr(out, ns);
    out.push_str("\">");
}

fn close(out: &mut String, op: Operation) {
    out.push_str("</");
    out.push_str(op.name());
    out.push_str("Response>");
}

fn bool_str(v: bool) -> &'static str {
    if v { "true" } else { "false" }
}

fn leaf(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    soap::push_text(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}
