//! Reading and validating an operation's body: every invalid field is reported, not the first
//! (seed 004 §2.2.3). Children are matched by local name: portals mix ASPOne's version-0 and
//! version-1 namespaces (reference §3), and the operation element's namespace was checked.

use soap::Element;

use crate::alert::model::{
    AccountType, AlertCall, AlertChange, MessageService, MessageType, Operation, Problem,
    TeleProcedure, TeleProcedureAlert,
};

use crate::alert::fields::{account_name, mails, read_bool};
/// The fields each operation accepts, in schema order.
fn allowed(op: Operation) -> &'static [&'static str] {
    match op {
        Operation::SetAlertActive => &["accountName", "alertActive"],
        Operation::GetAlertConfig => &["accountName"],
        Operation::UpdateAlertConfig => &[
            "accountName",
            "alertActive",
            "sendAdmin",
            "secondaryAccountAlert",
            "mails",
            "mailsToAdd",
            "mailsToDelete",
            "sendMultiplePaiement",
            "sendTest",
            "teleProcedureAlert",
        ],
    }
}

/// Reads `payload` as `op`, returning what could be read and every problem found.
pub(crate) fn read_call(
    op: Operation,
    payload: &Element<'_>,
    account_name_max_len: usize,
) -> (AlertCall, Vec<Problem>) {
    let mut p = Vec::new();
    let fields = allowed(op);
    // One pass with a counter per allowed field: a body of thousands of repeated elements costs
    // linear time, not quadratic.
    let mut counts = [0usize; 10];
    for child in payload.children() {
        let name = child.name();
        match fields.iter().position(|f| *f == name) {
            None => p.push(Problem::new(
                "UNKNOWN_FIELD",
                name,
                format!("{} does not take a field named {name}", op.name()),
            )),
            Some(i) => {
                let count = counts.get_mut(i).map_or(0, |c| {
                    *c += 1;
                    *c
                });
                // Reported once, on the second occurrence.
                if count == 2 && name != "teleProcedureAlert" {
                    p.push(Problem::new(
                        "DUPLICATE",
                        name,
                        format!("{name} appears more than once"),
                    ));
                }
            }
        }
    }
    let text = |name: &str| {
        payload
            .children()
            .iter()
            .find(|c| c.name() == name)
            .map(|c| c.text_trimmed())
    };
    let account = text("accountName").and_then(|a| account_name(&mut p, a, account_name_max_len));
    let mut change = AlertChange::default();
    let boolean = |p: &mut Vec<Problem>, name: &str| text(name).and_then(|t| read_bool(p, name, t));
    if matches!(op, Operation::SetAlertActive) && text("alertActive").is_none() {
        p.push(Problem::new(
            "REQUIRED",
            "alertActive",
            "alertActive is required",
        ));
    }
    if op != Operation::GetAlertConfig {
        change.alert_active = boolean(&mut p, "alertActive");
    }
    if op == Operation::UpdateAlertConfig {
        change.send_admin = boolean(&mut p, "sendAdmin");
        change.secondary_account_alert = boolean(&mut p, "secondaryAccountAlert");
        change.send_multiple_paiement = boolean(&mut p, "sendMultiplePaiement");
        change.send_test = boolean(&mut p, "sendTest");
        change.mails = text("mails").map(|t| mails(&mut p, "mails", t));
        change.mails_to_add = text("mailsToAdd").map(|t| mails(&mut p, "mailsToAdd", t));
        change.mails_to_delete = text("mailsToDelete").map(|t| mails(&mut p, "mailsToDelete", t));
        let mut seen = std::collections::BTreeSet::new();
        for (i, tpa) in payload
            .children()
            .iter()
            .filter(|c| c.name() == "teleProcedureAlert")
            .enumerate()
        {
            if let Some(alert) = tele_procedure_alert(&mut p, i, tpa) {
                if !seen.insert(alert.tele_procedure) {
                    p.push(Problem::new(
                        "DUPLICATE",
                        format!("teleProcedureAlert[{i}].teleProcedure"),
                        format!("{} is configured twice", alert.tele_procedure.as_str()),
                    ));
                }
                change.tele_procedures.push(alert);
            }
        }
    }
    let call = AlertCall {
        operation: op,
        account,
        change,
    };
    (call, p)
}

/// The rules that depend on the target account's type (seed: M = "(*)").
pub(crate) fn check_account_type(change: &AlertChange, target: AccountType) -> Vec<Problem> {
    let mut p = Vec::new();
    if change.send_admin.is_some() && target != AccountType::Administrator {
        p.push(Problem::new(
            "NOT_ALLOWED_FOR_ACCOUNT_TYPE",
            "sendAdmin",
            "sendAdmin applies to administrator accounts only",
        ));
    }
    if change.secondary_account_alert.is_some() && target != AccountType::Primary {
        p.push(Problem::new(
            "NOT_ALLOWED_FOR_ACCOUNT_TYPE",
            "secondaryAccountAlert",
            "secondaryAccountAlert applies to primary accounts only",
        ));
    }
    p
}

fn tele_procedure_alert(
    p: &mut Vec<Problem>,
    i: usize,
    el: &Element<'_>,
) -> Option<TeleProcedureAlert> {
    let base = format!("teleProcedureAlert[{i}]");
    let before = p.len();
    for child in el.children() {
        if !matches!(child.name(), "teleProcedure" | "messageService") {
            p.push(Problem::new(
                "UNKNOWN_FIELD",
                format!("{base}.{}", child.name()),
                format!(
                    "teleProcedureAlert does not take a field named {}",
                    child.name()
                ),
            ));
        }
    }
    let tp = match el.child_any_ns("teleProcedure").map(Element::text_trimmed) {
        None => {
            p.push(Problem::new(
                "REQUIRED",
                format!("{base}.teleProcedure"),
                "teleProcedure is required",
            ));
            None
        }
        Some(t) => {
            let tp = TeleProcedure::parse(t);
            if tp.is_none() {
                p.push(Problem::new(
                    "INVALID_ENUM",
                    format!("{base}.teleProcedure"),
                    "teleProcedure must be one of TDFC, TVA, PAIEMENT, DADS-U, DUCS, DUE, DPAE, AED, DSI, REQUETE, IR, DSN, DRP, OGA, PART",
                ));
            }
            tp
        }
    };
    let mut services: Vec<MessageService> = Vec::new();
    for (j, ms) in el
        .children()
        .iter()
        .filter(|c| c.name() == "messageService")
        .enumerate()
    {
        let field = format!("{base}.messageService[{j}]");
        if let Some(s) = message_service(p, &field, ms, tp) {
            // At most 8 distinct entries are kept, so this search stays short.
            if services
                .iter()
                .any(|o| o.kind == s.kind && o.positive == s.positive)
            {
                p.push(Problem::new(
                    "DUPLICATE",
                    field,
                    format!(
                        "{} {} is configured twice",
                        s.kind.as_str(),
                        if s.positive { "positive" } else { "negative" }
                    ),
                ));
            } else {
                services.push(s);
            }
        }
    }
    (p.len() == before).then_some(())?;
    Some(TeleProcedureAlert {
        tele_procedure: tp?,
        message_services: services,
    })
}

fn message_service(
    p: &mut Vec<Problem>,
    base: &str,
    el: &Element<'_>,
    tp: Option<TeleProcedure>,
) -> Option<MessageService> {
    let before = p.len();
    for child in el.children() {
        if !matches!(child.name(), "actif" | "type" | "delai" | "positif") {
            p.push(Problem::new(
                "UNKNOWN_FIELD",
                format!("{base}.{}", child.name()),
                format!(
                    "messageService does not take a field named {}",
                    child.name()
                ),
            ));
        }
    }
    let mut required = |name: &str| {
        let v = el.child_any_ns(name).map(Element::text_trimmed);
        if v.is_none() {
            p.push(Problem::new(
                "REQUIRED",
                format!("{base}.{name}"),
                format!("{name} is required"),
            ));
        }
        v
    };
    let (actif, kind, delai, positif) = (
        required("actif"),
        required("type"),
        required("delai"),
        required("positif"),
    );
    let active = actif.and_then(|t| read_bool(p, &format!("{base}.actif"), t));
    let positive = positif.and_then(|t| read_bool(p, &format!("{base}.positif"), t));
    let kind = kind.and_then(|t| {
        let k = MessageType::parse(t);
        if k.is_none() {
            p.push(Problem::new(
                "INVALID_ENUM",
                format!("{base}.type"),
                "type must be one of ACS, ARS, AIS, RCP",
            ));
        }
        k
    });
    let delay = delai.and_then(|t| {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            p.push(Problem::new(
                "INVALID_NUMBER",
                format!("{base}.delai"),
                "delai must be a number of days",
            ));
            None
        } else if t.len() > 2 {
            p.push(Problem::new(
                "TOO_LONG",
                format!("{base}.delai"),
                "delai has at most two digits",
            ));
            None
        } else {
            t.parse::<u8>().ok()
        }
    });
    if let (Some(kind), Some(tp)) = (kind, tp)
        && !kind.applies_to(tp)
    {
        p.push(Problem::new(
            "NOT_APPLICABLE",
            format!("{base}.type"),
            format!("{} alerts do not exist for {}", kind.as_str(), tp.as_str()),
        ));
    }
    if let (Some(kind), Some(positive)) = (kind, positive)
        && !kind.allows_polarity(positive)
    {
        p.push(Problem::new(
            "INVALID_POLARITY",
            format!("{base}.positif"),
            format!(
                "{} has no {} alert (negative: ACS, ARS; positive: ARS, AIS, RCP)",
                kind.as_str(),
                if positive { "positive" } else { "negative" }
            ),
        ));
    }
    (p.len() == before).then_some(())?;
    Some(MessageService {
        kind: kind?,
        positive: positive?,
        active: active?,
        delay: delay?,
    })
}
