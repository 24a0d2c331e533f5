//! Field-level checks of seed 004 §2.2.1: booleans, the account name (AN, per-partner length)
//! and the mails fields (AN ...250, at most 3 addresses, each valid).

use crate::alert::model::Problem;

/// Longest value of a mails field (seed: AN ...250).
pub(crate) const MAILS_MAX_LEN: usize = 250;
/// Most addresses in one mails field (seed: "dans la limite de 3").
pub(crate) const MAILS_MAX_COUNT: usize = 3;

/// "Nom du compte": alphanumeric (plus `.`, `-`, `_` of secondary names such as `S1.CPT01`),
/// at most the partner's `max` characters.
pub(crate) fn account_name(p: &mut Vec<Problem>, text: &str, max: usize) -> Option<String> {
    let before = p.len();
    if text.is_empty() {
        p.push(Problem::new(
            "REQUIRED",
            "accountName",
            "accountName is empty",
        ));
    }
    let len = text.chars().count();
    if len > max {
        p.push(Problem::new(
            "TOO_LONG",
            "accountName",
            format!("accountName has {len} characters; at most {max} are allowed"),
        ));
    }
    if !text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        p.push(Problem::new(
            "INVALID_CHARACTERS",
            "accountName",
            "accountName is alphanumeric (A-Z, a-z, 0-9, and . - _ between parts)",
        ));
    }
    (p.len() == before).then(|| text.to_owned())
}

/// An xs:boolean: `true`, `false`, `1` or `0`.
pub(crate) fn read_bool(p: &mut Vec<Problem>, field: &str, text: &str) -> Option<bool> {
    match text {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => {
            p.push(Problem::new(
                "INVALID_BOOLEAN",
                field,
                format!("{field} must be true or false"),
            ));
            None
        }
    }
}

/// A mails field: up to 250 characters holding at most 3 addresses separated by `;` (or `,`).
pub(crate) fn mails(p: &mut Vec<Problem>, field: &str, text: &str) -> Vec<String> {
    let len = text.chars().count();
    if len > MAILS_MAX_LEN {
        p.push(Problem::new(
            "TOO_LONG",
            field,
            format!("{field} has {len} characters; at most {MAILS_MAX_LEN} are allowed"),
        ));
    }
    let list: Vec<String> = text
        .split([';', ','])
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    if list.len() > MAILS_MAX_COUNT {
        p.push(Problem::new(
            "TOO_MANY_MAILS",
            field,
            format!(
                "{field} holds {} addresses; at most {MAILS_MAX_COUNT} are allowed",
                list.len()
            ),
        ));
    }
    for (i, mail) in list.iter().enumerate() {
        if !is_mail(mail) {
            p.push(Problem::new(
                "INVALID_MAIL",
                format!("{field}[{i}]"),
                format!("address {} of {field} is not a valid e-mail address", i + 1),
            ));
        }
    }
    list
}

/// A pragmatic address check: `local@domain`, a dotted domain of letters, digits and hyphens,
/// no spaces or quotes. Mail servers check the rest.
pub(crate) fn is_mail(mail: &str) -> bool {
    let Some((local, domain)) = mail.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    local_ok && domain_ok
}
