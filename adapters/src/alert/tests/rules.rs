//! The validation rules, one by one, on parsed bodies.
#![allow(clippy::unwrap_used)]

use soap::{Envelope, Limits, SoapVersion};

use super::super::fields::is_mail;
use super::super::model::{AccountType, AlertChange, Operation};
use super::super::validation::{check_account_type, read_call};
use super::super::{TeleProcedure, config};

const NS: &str = config::DEFAULT_NAMESPACE;

fn codes(op: Operation, inner: &str) -> Vec<(String, &'static str)> {
    let xml = format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><a:{op} xmlns:a="{NS}">{inner}</a:{op}></s:Body></s:Envelope>"#,
        op = op.name()
    );
    let env = Envelope::parse(xml.as_bytes(), &Limits::default(), SoapVersion::V11).unwrap();
    let (_, problems) = read_call(op, env.payload().unwrap(), 9);
    problems.into_iter().map(|p| (p.field, p.code)).collect()
}

fn ms(tp: &str, actif: &str, kind: &str, delai: &str, positif: &str) -> String {
    format!(
        "<a:teleProcedureAlert><a:teleProcedure>{tp}</a:teleProcedure><a:messageService><a:actif>{actif}</a:actif><a:type>{kind}</a:type><a:delai>{delai}</a:delai><a:positif>{positif}</a:positif></a:messageService></a:teleProcedureAlert>"
    )
}

/// Asserts the body has no problem.
fn none(op: Operation, inner: &str) {
    assert_eq!(codes(op, inner), vec![], "for {inner}");
}

fn one(op: Operation, inner: &str, field: &str, code: &str) {
    let got = codes(op, inner);
    assert_eq!(got, vec![(field.to_owned(), code)], "for {inner}");
}

#[test]
fn a_valid_update_has_no_problem() {
    let inner = format!(
        "<a:accountName>CPT01</a:accountName><a:alertActive>true</a:alertActive><a:mails>a@b.fr; c@d.example</a:mails>{}{}",
        ms("DUCS", "true", "AIS", "0", "true"),
        ms("TVA", "1", "ACS", "12", "0")
    );
    none(Operation::UpdateAlertConfig, &inner);
}

#[test]
fn set_alert_active_requires_alert_active() {
    one(
        Operation::SetAlertActive,
        "<a:accountName>CPT01</a:accountName>",
        "alertActive",
        "REQUIRED",
    );
}

#[test]
fn booleans_are_checked() {
    one(
        Operation::SetAlertActive,
        "<a:alertActive>yes</a:alertActive>",
        "alertActive",
        "INVALID_BOOLEAN",
    );
}

#[test]
fn account_name_length_and_characters() {
    one(
        Operation::GetAlertConfig,
        "<a:accountName>ABCDEFGHIJ</a:accountName>",
        "accountName",
        "TOO_LONG",
    );
    one(
        Operation::GetAlertConfig,
        "<a:accountName>AB CD</a:accountName>",
        "accountName",
        "INVALID_CHARACTERS",
    );
}

#[test]
fn mails_rules() {
    let long = format!("{}@example.fr", "a".repeat(250));
    let got = codes(
        Operation::UpdateAlertConfig,
        &format!("<a:mails>{long}</a:mails>"),
    );
    assert!(got.contains(&("mails".into(), "TOO_LONG")), "{got:?}");
    one(
        Operation::UpdateAlertConfig,
        "<a:mailsToAdd>a@b.fr;c@d.fr;e@f.fr;g@h.fr</a:mailsToAdd>",
        "mailsToAdd",
        "TOO_MANY_MAILS",
    );
    one(
        Operation::UpdateAlertConfig,
        "<a:mailsToDelete>a@b.fr;not-a-mail</a:mailsToDelete>",
        "mailsToDelete[1]",
        "INVALID_MAIL",
    );
}

#[test]
fn mail_syntax() {
    assert!(is_mail("first.last+tag@sub.example.fr"));
    for bad in [
        "", "a", "a@b", "@b.fr", "a@.fr", "a b@c.fr", "a@b..fr", ".a@b.fr", "a@-b.fr", "a@b@c.fr",
    ] {
        assert!(!is_mail(bad), "{bad}");
    }
}

#[test]
fn enumerations() {
    one(
        Operation::UpdateAlertConfig,
        &ms("XYZ", "true", "ACS", "1", "false"),
        "teleProcedureAlert[0].teleProcedure",
        "INVALID_ENUM",
    );
    one(
        Operation::UpdateAlertConfig,
        &ms("TVA", "true", "ADS", "1", "false"),
        "teleProcedureAlert[0].messageService[0].type",
        "INVALID_ENUM",
    );
}

#[test]
fn dpae_means_due() {
    none(
        Operation::UpdateAlertConfig,
        &ms("DPAE", "true", "ARS", "0", "true"),
    );
    assert_eq!(TeleProcedure::parse("DPAE"), Some(TeleProcedure::Due));
}

#[test]
fn delai_is_two_digits() {
    one(
        Operation::UpdateAlertConfig,
        &ms("TVA", "true", "ACS", "100", "false"),
        "teleProcedureAlert[0].messageService[0].delai",
        "TOO_LONG",
    );
    one(
        Operation::UpdateAlertConfig,
        &ms("TVA", "true", "ACS", "1j", "false"),
        "teleProcedureAlert[0].messageService[0].delai",
        "INVALID_NUMBER",
    );
}

#[test]
fn annex_applicability() {
    one(
        Operation::UpdateAlertConfig,
        &ms("TVA", "true", "AIS", "0", "true"),
        "teleProcedureAlert[0].messageService[0].type",
        "NOT_APPLICABLE",
    );
    one(
        Operation::UpdateAlertConfig,
        &ms("DUCS", "true", "RCP", "0", "true"),
        "teleProcedureAlert[0].messageService[0].type",
        "NOT_APPLICABLE",
    );
    none(
        Operation::UpdateAlertConfig,
        &ms("OGA", "true", "AIS", "0", "true"),
    );
    none(
        Operation::UpdateAlertConfig,
        &ms("OGA", "true", "RCP", "0", "true"),
    );
}

#[test]
fn polarity() {
    one(
        Operation::UpdateAlertConfig,
        &ms("TVA", "true", "ACS", "1", "true"),
        "teleProcedureAlert[0].messageService[0].positif",
        "INVALID_POLARITY",
    );
    one(
        Operation::UpdateAlertConfig,
        &ms("DUCS", "true", "AIS", "1", "false"),
        "teleProcedureAlert[0].messageService[0].positif",
        "INVALID_POLARITY",
    );
    none(
        Operation::UpdateAlertConfig,
        &ms("TVA", "true", "ARS", "1", "false"),
    );
    none(
        Operation::UpdateAlertConfig,
        &ms("TVA", "true", "ARS", "1", "true"),
    );
}

#[test]
fn message_service_fields_are_required() {
    let inner = "<a:teleProcedureAlert><a:teleProcedure>TVA</a:teleProcedure><a:messageService><a:type>ACS</a:type></a:messageService></a:teleProcedureAlert>";
    let got = codes(Operation::UpdateAlertConfig, inner);
    let base = "teleProcedureAlert[0].messageService[0]";
    assert_eq!(
        got,
        vec![
            (format!("{base}.actif"), "REQUIRED"),
            (format!("{base}.delai"), "REQUIRED"),
            (format!("{base}.positif"), "REQUIRED"),
        ]
    );
}

#[test]
fn unknown_and_duplicate_fields() {
    one(
        Operation::GetAlertConfig,
        "<a:alertActive>true</a:alertActive>",
        "alertActive",
        "UNKNOWN_FIELD",
    );
    one(
        Operation::SetAlertActive,
        "<a:alertActive>true</a:alertActive><a:alertActive>false</a:alertActive>",
        "alertActive",
        "DUPLICATE",
    );
}

#[test]
fn account_type_fields() {
    let change = AlertChange {
        send_admin: Some(true),
        secondary_account_alert: Some(true),
        ..Default::default()
    };
    let fields = |t| {
        check_account_type(&change, t)
            .into_iter()
            .map(|p| p.field)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        fields(AccountType::Administrator),
        vec!["secondaryAccountAlert"]
    );
    assert_eq!(fields(AccountType::Primary), vec!["sendAdmin"]);
    assert_eq!(
        fields(AccountType::Secondary),
        vec!["sendAdmin", "secondaryAccountAlert"]
    );
}

#[test]
fn every_problem_is_reported() {
    let inner = format!(
        "<a:accountName>WAY-TOO-LONG-NAME</a:accountName><a:alertActive>maybe</a:alertActive><a:mails>x</a:mails>{}",
        ms("TVA", "oui", "AIS", "123", "true")
    );
    let got = codes(Operation::UpdateAlertConfig, &inner);
    let codes: Vec<&str> = got.iter().map(|(_, c)| *c).collect();
    assert_eq!(
        codes,
        vec![
            "TOO_LONG",
            "INVALID_BOOLEAN",
            "INVALID_MAIL",
            "INVALID_BOOLEAN",
            "TOO_LONG",
            "NOT_APPLICABLE"
        ],
        "{got:?}"
    );
}

#[test]
fn thousands_of_repeated_fields_get_a_bounded_answer() {
    let inner = format!(
        "{}{}",
        "<a:mails>x</a:mails>".repeat(4000),
        ms("TVA", "true", "ACS", "1", "false").repeat(800)
    );
    let got = codes(Operation::UpdateAlertConfig, &inner);
    // One DUPLICATE for mails, one INVALID_MAIL for the first, 799 duplicate téléprocédures...
    assert_eq!(
        got.iter()
            .filter(|(f, c)| f == "mails" && *c == "DUPLICATE")
            .count(),
        1
    );
    assert_eq!(
        got.iter()
            .filter(|(f, c)| f.ends_with(".teleProcedure") && *c == "DUPLICATE")
            .count(),
        799
    );
    let problems: Vec<_> = got
        .iter()
        .map(|(f, c)| super::super::model::Problem::new(c, f.clone(), "x"))
        .collect();
    let r = super::super::response::refused(
        NS,
        SoapVersion::V11,
        Operation::UpdateAlertConfig,
        &problems,
    );
    let body = String::from_utf8(r.body().to_vec()).unwrap();
    assert_eq!(body.matches("<message>").count(), 101);
    assert!(body.contains("TOO_MANY_PROBLEMS"));
}
