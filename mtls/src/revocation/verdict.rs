//! The outcome of a revocation check, and what it means for the caller.

/// What a revocation check says about a client chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not revoked, as far as the configured checks can tell.
    Good,
    /// Revoked: always refused.
    Revoked {
        /// Serial of the revoked certificate, uppercase hexadecimal.
        serial: String,
        /// Why (CRL reason code or OCSP revocation reason), or where it was found.
        reason: String,
    },
    /// The status could not be established.
    Unknown {
        /// Why, for the log (for example `CRL of … expired at …` or `OCSP responder timeout`).
        reason: String,
        /// `true` when the policy is hard: the caller must refuse.
        hard: bool,
    },
}

// === impl Verdict ===

impl Verdict {
    /// Whether the caller must refuse the client.
    #[must_use]
    pub fn refuse(&self) -> bool {
        match self {
            Self::Good => false,
            Self::Revoked { .. } => true,
            Self::Unknown { hard, .. } => *hard,
        }
    }

    /// A short stable label for metrics: `good`, `revoked`, `unknown_hard`, `unknown_soft`.
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Revoked { .. } => "revoked",
            Self::Unknown { hard: true, .. } => "unknown_hard",
            Self::Unknown { hard: false, .. } => "unknown_soft",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Good => f.write_str("good"),
            Self::Revoked { serial, reason } => {
                write!(f, "certificate {serial} revoked ({reason})")
            }
            Self::Unknown { reason, hard } => {
                let policy = if *hard { "refused" } else { "accepted (soft)" };
                write!(f, "revocation status unknown, {policy}: {reason}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Verdict;

    #[test]
    fn refusal_and_text() {
        let revoked = Verdict::Revoked {
            serial: "0A".into(),
            reason: "keyCompromise".into(),
        };
        assert!(revoked.refuse());
        assert_eq!(
            revoked.to_string(),
            "certificate 0A revoked (keyCompromise)"
        );
        let soft = Verdict::Unknown {
            reason: "CRL expired".into(),
            hard: false,
        };
        assert!(!soft.refuse());
        assert_eq!(
            soft.to_string(),
            "revocation status unknown, accepted (soft): CRL expired"
        );
        assert!(!Verdict::Good.refuse());
    }
}
