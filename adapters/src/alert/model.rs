//! The typed alert request, its enumerations and the annex's rules (seed 004 §2.2.1, §4.1).

use serde::{Deserialize, Serialize};

/// The three operations of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// Switch an account's alerts on or off.
    SetAlertActive,
    /// Change an account's alert configuration.
    UpdateAlertConfig,
    /// Read an account's alert configuration.
    GetAlertConfig,
}

impl Operation {
    pub(crate) const ALL: [Self; 3] = [
        Self::SetAlertActive,
        Self::UpdateAlertConfig,
        Self::GetAlertConfig,
    ];

    /// The operation's element name (and WSDL operation name).
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::SetAlertActive => "setAlertActive",
            Self::UpdateAlertConfig => "updateAlertConfig",
            Self::GetAlertConfig => "getAlertConfig",
        }
    }

    /// Whether the operation changes anything upstream.
    pub(crate) const fn is_change(self) -> bool {
        !matches!(self, Self::GetAlertConfig)
    }
}

/// A téléprocédure (seed 004 §2.2.1). `DPAE` is accepted on input and means `DUE` (v003).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TeleProcedure {
    /// EDI-TDFC, the tax return.
    #[serde(rename = "TDFC")]
    Tdfc,
    /// EDI-TVA.
    #[serde(rename = "TVA")]
    Tva,
    /// EDI-PAIEMENT.
    #[serde(rename = "PAIEMENT")]
    Paiement,
    /// DADS-U.
    #[serde(rename = "DADS-U")]
    DadsU,
    /// DUCS.
    #[serde(rename = "DUCS")]
    Ducs,
    /// DUE (and DPAE on input).
    #[serde(rename = "DUE")]
    Due,
    /// AED.
    #[serde(rename = "AED")]
    Aed,
    /// DSI.
    #[serde(rename = "DSI")]
    Dsi,
    /// EDI-REQUETE.
    #[serde(rename = "REQUETE")]
    Requete,
    /// EDI-IR.
    #[serde(rename = "IR")]
    Ir,
    /// DSN.
    #[serde(rename = "DSN")]
    Dsn,
    /// DRP.
    #[serde(rename = "DRP")]
    Drp,
    /// EDI-OGA.
    #[serde(rename = "OGA")]
    Oga,
    /// EDI-PART.
    #[serde(rename = "PART")]
    Part,
}

impl TeleProcedure {
    /// Parses the wire value; `DPAE` is the DUE's other name (seed v003).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "TDFC" => Self::Tdfc,
            "TVA" => Self::Tva,
            "PAIEMENT" => Self::Paiement,
            "DADS-U" => Self::DadsU,
            "DUCS" => Self::Ducs,
            "DUE" | "DPAE" => Self::Due,
            "AED" => Self::Aed,
            "DSI" => Self::Dsi,
            "REQUETE" => Self::Requete,
            "IR" => Self::Ir,
            "DSN" => Self::Dsn,
            "DRP" => Self::Drp,
            "OGA" => Self::Oga,
            "PART" => Self::Part,
            _ => return None,
        })
    }

    /// The wire value.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Tdfc => "TDFC",
            Self::Tva => "TVA",
            Self::Paiement => "PAIEMENT",
            Self::DadsU => "DADS-U",
            Self::Ducs => "DUCS",
            Self::Due => "DUE",
            Self::Aed => "AED",
            Self::Dsi => "DSI",
            Self::Requete => "REQUETE",
            Self::Ir => "IR",
            Self::Dsn => "DSN",
            Self::Drp => "DRP",
            Self::Oga => "OGA",
            Self::Part => "PART",
        }
    }
}

/// A message service type that can trigger an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MessageType {
    /// Avis de conformité signé.
    #[serde(rename = "ACS")]
    Acs,
    /// Avis de remise signé.
    #[serde(rename = "ARS")]
    Ars,
    /// Avis d'information signé (annex 4.1.1).
    #[serde(rename = "AIS")]
    Ais,
    /// Réception de documents (annex 4.1.2).
    #[serde(rename = "RCP")]
    Rcp,
}

impl MessageType {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "ACS" => Self::Acs,
            "ARS" => Self::Ars,
            "AIS" => Self::Ais,
            "RCP" => Self::Rcp,
            _ => return None,
        })
    }

    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Acs => "ACS",
            Self::Ars => "ARS",
            Self::Ais => "AIS",
            Self::Rcp => "RCP",
        }
    }

    /// Annex 4.1: ADS, ACS and ARS are common to every téléprocédure; AIS and RCP only to
    /// the listed ones.
    pub(crate) fn applies_to(self, tp: TeleProcedure) -> bool {
        use TeleProcedure as T;
        match self {
            Self::Acs | Self::Ars => true,
            Self::Ais => matches!(tp, T::Ducs | T::Aed | T::Dsn | T::Requete | T::Oga),
            Self::Rcp => matches!(tp, T::Tva | T::Tdfc | T::Paiement | T::Ir | T::Oga),
        }
    }

    /// Seed §2.2.1 `Positif`: negative alerts exist for ACS and ARS, positive ones for ARS,
    /// AIS and RCP.
    pub(crate) fn allows_polarity(self, positive: bool) -> bool {
        match self {
            Self::Acs => !positive,
            Self::Ars => true,
            Self::Ais | Self::Rcp => positive,
        }
    }
}

/// The type of an account (seed 004 §1.2 and the annex on accounts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AccountType {
    /// Manages every account of its partner.
    Administrator,
    /// A primary account, with its secondary accounts.
    Primary,
    /// A secondary account, depending on one primary account.
    Secondary,
}

impl AccountType {
    pub(crate) const fn as_wire(self) -> &'static str {
        match self {
            Self::Administrator => "ADMINISTRATOR",
            Self::Primary => "PRIMARY",
            Self::Secondary => "SECONDARY",
        }
    }
}

/// One `messageService` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MessageService {
    /// `type`.
    #[serde(rename = "type")]
    pub(crate) kind: MessageType,
    /// `Positif`.
    pub(crate) positive: bool,
    /// `actif`.
    pub(crate) active: bool,
    /// `delai`, in days (0 to 99).
    pub(crate) delay: u8,
}

/// One `teleProcedureAlert` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TeleProcedureAlert {
    pub(crate) tele_procedure: TeleProcedure,
    pub(crate) message_services: Vec<MessageService>,
}

/// The change an update asks for; absent fields are left as they are. Serialised as the
/// JSON body of the upstream `PATCH`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AlertChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) alert_active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) send_admin: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) secondary_account_alert: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mails: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mails_to_add: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mails_to_delete: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) send_multiple_paiement: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) send_test: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) tele_procedures: Vec<TeleProcedureAlert>,
}

/// A parsed call: the operation, the target account (absent: the caller's own) and the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AlertCall {
    pub(crate) operation: Operation,
    pub(crate) account: Option<String>,
    pub(crate) change: AlertChange,
}

/// One problem of a request, reported in band (`responseType` ERROR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// A stable code, e.g. `REQUIRED`, `TOO_LONG`, `NOT_APPLICABLE`.
    pub(crate) code: &'static str,
    /// The field's path, e.g. `teleProcedureAlert[0].messageService[1].type`.
    pub(crate) field: String,
    /// A sentence for people.
    pub(crate) message: String,
}

impl Problem {
    pub(crate) fn new(
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code,
            field: field.into(),
            message: message.into(),
        }
    }
}
