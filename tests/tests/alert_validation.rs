//! Every validation rule of seed 004 §2.2, one test each, through the gateway over mTLS, and
//! one request breaking several rules at once that gets them all back. Each refused change is
//! checked not to have reached the upstream.
#![allow(clippy::unwrap_used)]

mod alert_support;
mod common;

use alert_support::{Alert, Call, Options, Soap, call, start, tpa, upstream_config};

const LOGIN: &str = "CPT01";
const PASSWORD: &str = "Primary-01-pass";

async fn update(alert: &Alert, inner: &str) -> Soap {
    let before = upstream_config(&alert.upstream, "portal-a", LOGIN).await;
    let answer = call(
        alert,
        &Call::new(LOGIN, PASSWORD, "updateAlertConfig", inner),
    )
    .await;
    if !answer.is_success() {
        let after = upstream_config(&alert.upstream, "portal-a", LOGIN).await;
        assert_eq!(before, after, "a refused change reached the upstream");
    }
    answer
}

async fn refused(inner: &str, expected: &[(&str, &str)]) {
    let alert = start(Options::default()).await;
    update(&alert, inner).await.assert_problems(expected);
}

#[tokio::test]
async fn a_valid_change_is_applied() {
    let alert = start(Options::default()).await;
    let answer = update(
        &alert,
        &format!(
            "<a:sendMultiplePaiement>true</a:sendMultiplePaiement>{}",
            tpa("DPAE", "true", "ACS", "3", "false")
        ),
    )
    .await;
    // DUE is not among CPT01's téléprocédures: the upstream refuses, in band.
    answer.assert_problems(&[("teleProcedureAlert", "NOT_SUBSCRIBED")]);
    let answer = update(
        &alert,
        &format!(
            "<a:sendMultiplePaiement>true</a:sendMultiplePaiement>{}",
            tpa("IR", "true", "ACS", "3", "false")
        ),
    )
    .await;
    assert!(answer.is_success(), "{}", answer.body);
    let stored = upstream_config(&alert.upstream, "portal-a", LOGIN).await;
    assert_eq!(stored["sendMultiplePaiement"], true);
}

#[tokio::test]
async fn required_field() {
    let alert = start(Options::default()).await;
    call(
        &alert,
        &Call::new(
            LOGIN,
            PASSWORD,
            "setAlertActive",
            "<a:accountName>CPT01</a:accountName>",
        ),
    )
    .await
    .assert_problems(&[("alertActive", "REQUIRED")]);
}

#[tokio::test]
async fn message_service_required_fields() {
    let inner = "<a:teleProcedureAlert><a:teleProcedure>TVA</a:teleProcedure><a:messageService><a:actif>true</a:actif></a:messageService></a:teleProcedureAlert>";
    let base = "teleProcedureAlert[0].messageService[0]";
    refused(
        inner,
        &[
            (&format!("{base}.type"), "REQUIRED"),
            (&format!("{base}.delai"), "REQUIRED"),
            (&format!("{base}.positif"), "REQUIRED"),
        ],
    )
    .await;
}

#[tokio::test]
async fn boolean_type() {
    refused(
        "<a:sendTest>oui</a:sendTest>",
        &[("sendTest", "INVALID_BOOLEAN")],
    )
    .await;
}

#[tokio::test]
async fn numeric_type() {
    refused(
        &tpa("TVA", "true", "ACS", "2j", "false"),
        &[(
            "teleProcedureAlert[0].messageService[0].delai",
            "INVALID_NUMBER",
        )],
    )
    .await;
}

#[tokio::test]
async fn delai_at_most_two_digits() {
    refused(
        &tpa("TVA", "true", "ACS", "100", "false"),
        &[("teleProcedureAlert[0].messageService[0].delai", "TOO_LONG")],
    )
    .await;
}

#[tokio::test]
async fn alphanumeric_account_name() {
    refused(
        "<a:accountName>CPT/01</a:accountName>",
        &[("accountName", "INVALID_CHARACTERS")],
    )
    .await;
}

#[tokio::test]
async fn account_name_length_is_per_partner() {
    // Partner A keeps the seed's default of 9; partner B allows 20 (then the name is unknown).
    refused(
        "<a:accountName>CPT0123456</a:accountName>",
        &[("accountName", "TOO_LONG")],
    )
    .await;
    let alert = start(Options::default()).await;
    let b = Call::new(
        "BCPT01",
        "Primary-B1-pass",
        "getAlertConfig",
        "<a:accountName>CPT0123456</a:accountName>",
    )
    .partner(alert_support::PARTNER_B, alert_support::SECRET_B);
    call(&alert, &b)
        .await
        .assert_problems(&[("accountName", "ACCOUNT_NOT_ACCESSIBLE")]);
}

#[tokio::test]
async fn mails_at_most_250_characters() {
    // Three valid addresses, 374 characters together.
    let long = format!("{}@{}.fr", "a".repeat(60), "b".repeat(60));
    let list = [long.as_str(); 3].join(";");
    assert!(list.len() > 250);
    refused(
        &format!("<a:mails>{list}</a:mails>"),
        &[("mails", "TOO_LONG")],
    )
    .await;
}

#[tokio::test]
async fn at_most_three_addresses_per_field() {
    let four = "a@x.fr;b@x.fr;c@x.fr;d@x.fr";
    refused(
        &format!("<a:mails>{four}</a:mails><a:mailsToAdd>{four}</a:mailsToAdd><a:mailsToDelete>{four}</a:mailsToDelete>"),
        &[("mails", "TOO_MANY_MAILS"), ("mailsToAdd", "TOO_MANY_MAILS"), ("mailsToDelete", "TOO_MANY_MAILS")],
    )
    .await;
}

#[tokio::test]
async fn three_addresses_after_applying() {
    // CPT01 has two addresses; adding two leaves four: refused by the service, nothing applied.
    refused(
        "<a:alertActive>false</a:alertActive><a:mailsToAdd>c@x.fr;d@x.fr</a:mailsToAdd>",
        &[("mails", "TOO_MANY_MAILS")],
    )
    .await;
}

#[tokio::test]
async fn valid_addresses() {
    refused(
        "<a:mailsToAdd>ok@x.fr;not an address</a:mailsToAdd>",
        &[("mailsToAdd[1]", "INVALID_MAIL")],
    )
    .await;
}

#[tokio::test]
async fn tele_procedure_enumeration() {
    refused(
        &tpa("EDI-TVA", "true", "ACS", "1", "false"),
        &[("teleProcedureAlert[0].teleProcedure", "INVALID_ENUM")],
    )
    .await;
}

#[tokio::test]
async fn message_type_enumeration() {
    refused(
        &tpa("TVA", "true", "ADS", "1", "false"),
        &[(
            "teleProcedureAlert[0].messageService[0].type",
            "INVALID_ENUM",
        )],
    )
    .await;
}

#[tokio::test]
async fn ais_only_for_its_tele_procedures() {
    refused(
        &tpa("TVA", "true", "AIS", "0", "true"),
        &[(
            "teleProcedureAlert[0].messageService[0].type",
            "NOT_APPLICABLE",
        )],
    )
    .await;
}

#[tokio::test]
async fn rcp_only_for_its_tele_procedures() {
    refused(
        &tpa("DUCS", "true", "RCP", "0", "true"),
        &[(
            "teleProcedureAlert[0].messageService[0].type",
            "NOT_APPLICABLE",
        )],
    )
    .await;
}

#[tokio::test]
async fn negative_and_positive_types() {
    refused(
        &format!(
            "{}{}",
            tpa("TVA", "true", "ACS", "1", "true"),
            tpa("DUCS", "true", "AIS", "1", "false")
        ),
        &[
            (
                "teleProcedureAlert[0].messageService[0].positif",
                "INVALID_POLARITY",
            ),
            (
                "teleProcedureAlert[1].messageService[0].positif",
                "INVALID_POLARITY",
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn send_admin_only_for_administrators() {
    refused(
        "<a:sendAdmin>true</a:sendAdmin>",
        &[("sendAdmin", "NOT_ALLOWED_FOR_ACCOUNT_TYPE")],
    )
    .await;
    let alert = start(Options::default()).await;
    let admin = call(
        &alert,
        &Call::new(
            "ADMINA",
            "Admin-A-pass1",
            "updateAlertConfig",
            "<a:sendAdmin>true</a:sendAdmin>",
        ),
    )
    .await;
    assert!(admin.is_success(), "{}", admin.body);
}

#[tokio::test]
async fn secondary_account_alert_only_for_primary_accounts() {
    let alert = start(Options::default()).await;
    let own = Call::new(
        "S1.CPT01",
        "Second-1-pass",
        "updateAlertConfig",
        "<a:secondaryAccountAlert>true</a:secondaryAccountAlert>",
    );
    call(&alert, &own)
        .await
        .assert_problems(&[("secondaryAccountAlert", "NOT_ALLOWED_FOR_ACCOUNT_TYPE")]);
    // An administrator acting on a secondary account: the type comes from the service.
    let admin = Call::new(
        "ADMINA",
        "Admin-A-pass1",
        "updateAlertConfig",
        "<a:accountName>S1.CPT01</a:accountName><a:secondaryAccountAlert>true</a:secondaryAccountAlert>",
    );
    call(&alert, &admin)
        .await
        .assert_problems(&[("secondaryAccountAlert", "NOT_ALLOWED_FOR_ACCOUNT_TYPE")]);
    let primary = call(
        &alert,
        &Call::new(
            LOGIN,
            PASSWORD,
            "updateAlertConfig",
            "<a:secondaryAccountAlert>false</a:secondaryAccountAlert>",
        ),
    )
    .await;
    assert!(primary.is_success(), "{}", primary.body);
}

#[tokio::test]
async fn unknown_fields_are_refused() {
    refused(
        "<a:alertActiv>true</a:alertActiv>",
        &[("alertActiv", "UNKNOWN_FIELD")],
    )
    .await;
}

#[tokio::test]
async fn several_broken_rules_are_all_reported() {
    let inner = format!(
        "<a:alertActive>maybe</a:alertActive><a:sendAdmin>true</a:sendAdmin><a:mails>a@x.fr;b@x.fr;c@x.fr;broken</a:mails>{}{}",
        tpa("TVA", "true", "AIS", "123", "true"),
        tpa("NOPE", "vrai", "ACS", "1", "true"),
    );
    refused(
        &inner,
        &[
            ("alertActive", "INVALID_BOOLEAN"),
            ("mails", "TOO_MANY_MAILS"),
            ("mails[3]", "INVALID_MAIL"),
            ("teleProcedureAlert[0].messageService[0].delai", "TOO_LONG"),
            (
                "teleProcedureAlert[0].messageService[0].type",
                "NOT_APPLICABLE",
            ),
            ("teleProcedureAlert[1].teleProcedure", "INVALID_ENUM"),
            (
                "teleProcedureAlert[1].messageService[0].actif",
                "INVALID_BOOLEAN",
            ),
            (
                "teleProcedureAlert[1].messageService[0].positif",
                "INVALID_POLARITY",
            ),
            ("sendAdmin", "NOT_ALLOWED_FOR_ACCOUNT_TYPE"),
        ],
    )
    .await;
}
