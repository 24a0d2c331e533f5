//! The demo data: two partners, accounts of each type, configurations.
//!
//! | partner | account (= login) | type | password | notes |
//! |---|---|---|---|---|
//! | `portal-a` | `ADMINA` | administrator | `Admin-A-pass1` | manages every `portal-a` account |
//! | `portal-a` | `CPT01` | primary | `Primary-01-pass` | secondaries `S1.CPT01`, `S2.CPT01`; TVA, DUCS, IR, OGA |
//! | `portal-a` | `S1.CPT01` | secondary | `Second-1-pass` | TVA, DSN |
//! | `portal-a` | `S2.CPT01` | secondary | `Second-2-pass` | DUE |
//! | `portal-a` | `CPT02` | primary | `Primary-02-pass` | no secondary; TDFC, PAIEMENT |
//! | `portal-b` | `ADMINB` | administrator | `Admin-B-pass1` | |
//! | `portal-b` | `BCPT01` | primary | `Primary-B1-pass` | TVA |
//!
//! Account names fit the default 9-character limit of the gateway's alert route.

use std::collections::BTreeMap;

use super::{Account, Config, MessageService, Role};

fn ms(kind: &str, positive: bool, active: bool, delay: u8) -> MessageService {
    MessageService {
        kind: kind.to_owned(),
        positive,
        active,
        delay,
    }
}

fn config(role: Role, mails: &[&str], tps: &[(&str, Vec<MessageService>)]) -> Config {
    Config {
        alert_active: true,
        send_admin: (role == Role::Administrator).then_some(false),
        secondary_account_alert: (role == Role::Primary).then_some(true),
        mails: mails.iter().map(|m| (*m).to_owned()).collect(),
        send_multiple_paiement: false,
        send_test: false,
        tele_procedures: tps
            .iter()
            .map(|(tp, list)| ((*tp).to_owned(), list.clone()))
            .collect(),
    }
}

fn account(
    partner: &str,
    name: &str,
    role: Role,
    password: &str,
    primary: Option<&str>,
    config: Config,
) -> ((String, String), Account) {
    (
        (partner.to_owned(), name.to_owned()),
        Account {
            name: name.to_owned(),
            role,
            password: password.to_owned(),
            primary: primary.map(str::to_owned),
            config,
        },
    )
}

/// Fresh demo accounts, by (partner, account).
pub(super) fn accounts() -> BTreeMap<(String, String), Account> {
    use Role::{Administrator, Primary, Secondary};
    [
        account(
            "portal-a",
            "ADMINA",
            Administrator,
            "Admin-A-pass1",
            None,
            config(Administrator, &["admin@portal-a.example"], &[]),
        ),
        account(
            "portal-a",
            "CPT01",
            Primary,
            "Primary-01-pass",
            None,
            config(
                Primary,
                &["compta@cpt01.example", "boss@cpt01.example"],
                &[
                    (
                        "TVA",
                        vec![
                            ms("ACS", false, true, 2),
                            ms("ARS", true, true, 0),
                            ms("RCP", true, false, 0),
                        ],
                    ),
                    ("DUCS", vec![ms("AIS", true, true, 0)]),
                    ("IR", vec![]),
                    ("OGA", vec![ms("ARS", false, false, 5)]),
                ],
            ),
        ),
        account(
            "portal-a",
            "S1.CPT01",
            Secondary,
            "Second-1-pass",
            Some("CPT01"),
            config(
                Secondary,
                &["s1@cpt01.example"],
                &[("TVA", vec![ms("ACS", false, true, 1)]), ("DSN", vec![])],
            ),
        ),
        account(
            "portal-a",
            "S2.CPT01",
            Secondary,
            "Second-2-pass",
            Some("CPT01"),
            config(Secondary, &[], &[("DUE", vec![ms("ARS", true, true, 0)])]),
        ),
        account(
            "portal-a",
            "CPT02",
            Primary,
            "Primary-02-pass",
            None,
            config(
                Primary,
                &["cpt02@example.org"],
                &[
                    ("TDFC", vec![ms("ACS", false, true, 3)]),
                    ("PAIEMENT", vec![]),
                ],
            ),
        ),
        account(
            "portal-b",
            "ADMINB",
            Administrator,
            "Admin-B-pass1",
            None,
            config(Administrator, &[], &[]),
        ),
        account(
            "portal-b",
            "BCPT01",
            Primary,
            "Primary-B1-pass",
            None,
            config(
                Primary,
                &["b1@portal-b.example"],
                &[("TVA", vec![ms("ACS", false, true, 2)])],
            ),
        ),
    ]
    .into_iter()
    .collect()
}
