//! Which verified clients a route lets in: CN and OU pinned together.

use std::fmt;

use crate::PeerIdentity;

/// One allowed client: its certificate's Common Name and Organizational Unit, compared exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPin {
    /// The operator's name for this client (used in logs, never compared with the certificate).
    pub name: String,
    /// Expected Common Name, byte for byte.
    pub cn: String,
    /// Expected Organizational Unit, byte for byte.
    pub ou: String,
}

/// The client policy of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientPolicy {
    /// Only the listed clients, each matched on CN and OU together.
    Pinned(Vec<ClientPin>),
    /// Any client whose chain verified against the listener's anchors. A relaxation: the
    /// configuration must name it explicitly (`allow_any_verified_client: true`).
    AnyVerifiedClient,
    /// No client certificate needed (for example a health probe route on an optional listener).
    /// A relaxation too, named explicitly in the configuration (`allow_anonymous: true`).
    Anonymous,
}

/// Why a request was refused by a route's client policy. The display text is safe to return to
/// the caller: it names the refusal, not the expected values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinRefusal {
    /// The route needs a client certificate and the connection presented none.
    NoCertificate,
    /// The certificate's CN and OU match no client allowed on this route.
    NotAllowed {
        /// CN presented, for the operator's log.
        cn: Option<String>,
        /// OU presented, for the operator's log.
        ou: Option<String>,
    },
}

impl fmt::Display for PinRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoCertificate => f.write_str("a client certificate is required on this route"),
            Self::NotAllowed { .. } => {
                f.write_str("the client certificate (CN and OU) is not allowed on this route")
            }
        }
    }
}

// === impl ClientPolicy ===

impl ClientPolicy {
    /// Decides whether a connection's identity may use the route; returns the matching pin's name
    /// (or `None` for the relaxed policies).
    ///
    /// # Errors
    /// A [`PinRefusal`] saying why the client is refused.
    pub fn check<'a>(
        &'a self,
        identity: Option<&PeerIdentity>,
    ) -> Result<Option<&'a str>, PinRefusal> {
        match (self, identity) {
            (Self::Anonymous, _) => Ok(None),
            (_, None) => Err(PinRefusal::NoCertificate),
            (Self::AnyVerifiedClient, Some(_)) => Ok(None),
            (Self::Pinned(pins), Some(id)) => pins
                .iter()
                .find(|pin| {
                    id.cn.as_deref() == Some(pin.cn.as_str())
                        && id.ou.as_deref() == Some(pin.ou.as_str())
                })
                .map(|pin| Some(pin.name.as_str()))
                .ok_or_else(|| PinRefusal::NotAllowed {
                    cn: id.cn.clone(),
                    ou: id.ou.clone(),
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(cn: &str, ou: &str) -> PeerIdentity {
        PeerIdentity {
            subject_dn: String::new(),
            cn: Some(cn.into()),
            ou: Some(ou.into()),
            o: None,
            serial_hex: String::new(),
            issuer_dn: String::new(),
            sha256_fingerprint: String::new(),
            not_after: String::new(),
            not_after_unix: 0,
        }
    }

    #[test]
    fn cn_and_ou_must_match_together() {
        let policy = ClientPolicy::Pinned(vec![
            ClientPin {
                name: "recette".into(),
                cn: "sas-agregateur-recette".into(),
                ou: "499700234190004".into(),
            },
            ClientPin {
                name: "preprod".into(),
                cn: "sas-aggregator-preproduction".into(),
                ou: "499700343942006".into(),
            },
        ]);
        assert_eq!(
            policy.check(Some(&id("sas-agregateur-recette", "499700234190004"))),
            Ok(Some("recette"))
        );
        // CN of one client with the OU of another is refused.
        assert!(matches!(
            policy.check(Some(&id("sas-agregateur-recette", "499700343942006"))),
            Err(PinRefusal::NotAllowed { .. })
        ));
        assert_eq!(policy.check(None), Err(PinRefusal::NoCertificate));
        assert_eq!(
            PinRefusal::NoCertificate.to_string(),
            "a client certificate is required on this route"
        );
    }

    #[test]
    fn relaxed_policies() {
        assert_eq!(
            ClientPolicy::AnyVerifiedClient.check(Some(&id("a", "b"))),
            Ok(None)
        );
        assert_eq!(
            ClientPolicy::AnyVerifiedClient.check(None),
            Err(PinRefusal::NoCertificate)
        );
        assert_eq!(ClientPolicy::Anonymous.check(None), Ok(None));
    }
}
