//! The checks themselves: CRL lookups along the chain, the OCSP question, and how they combine.

use jiff::Timestamp;
use rustls_pki_types::CertificateDer;

use super::PreparedChain;
use super::chain::{self, Subject};
use super::ocsp::{self, Answer, CertKey};
use super::{Combine, Inner, Labelled, OcspMode, RevocationScope, StalePolicy, Verdict};

// === impl Inner ===

impl Inner {
    fn stale_is_hard(&self) -> bool {
        self.settings
            .crl
            .as_ref()
            .is_none_or(|c| c.on_stale == StalePolicy::Hard)
    }

    fn ocsp_may_decide(&self) -> bool {
        self.settings.combine == Combine::OcspWhenNoCrl && self.settings.ocsp.mode != OcspMode::Off
    }

    /// The certificates to check, digested once (parse, issuer lookup) so that repeated checks
    /// of one connection are hash lookups only.
    pub(super) fn prepare(&self, chain: &[CertificateDer<'_>]) -> PreparedChain {
        let whole = self.settings.scope == RevocationScope::WholeChain;
        PreparedChain {
            subjects: chain::subjects(chain, &self.anchors, whole),
        }
    }

    /// CRL verdict; `label` is `crl_not_covered` when no CRL covers a certificate and OCSP may
    /// decide instead.
    pub(super) fn crl(&self, chain: &PreparedChain, now: Timestamp) -> Labelled {
        if self.settings.crl.is_none() {
            return Labelled::good();
        }
        let mut worst: Option<Labelled> = None;
        for (subject, _) in &chain.subjects {
            let crl = self
                .sources
                .iter()
                .filter_map(|s| s.current.load_full())
                .filter(|c| c.issuer_raw == subject.issuer_raw)
                .max_by_key(|c| c.this_update);
            let unknown = |reason: String, label| {
                let hard = self.stale_is_hard();
                Labelled {
                    verdict: Verdict::Unknown { reason, hard },
                    label,
                }
            };
            let found = match crl {
                None if self.ocsp_may_decide() => Labelled {
                    verdict: Verdict::Unknown {
                        reason: format!(
                            "no CRL loaded for issuer {}; OCSP decides",
                            subject.issuer
                        ),
                        hard: false,
                    },
                    label: "crl_not_covered",
                },
                None => unknown(
                    format!("no CRL loaded for issuer {}", subject.issuer),
                    "crl_missing",
                ),
                Some(crl) => match crl.lookup(&subject.serial) {
                    Some(code) => {
                        return Labelled {
                            verdict: Verdict::Revoked {
                                serial: subject.serial_hex(),
                                reason: format!(
                                    "CRL of {}: {}",
                                    crl.issuer,
                                    chain::reason_name(code)
                                ),
                            },
                            label: "crl_revoked",
                        };
                    }
                    None if crl.expired(now) => unknown(
                        format!(
                            "CRL of {} expired at {}",
                            crl.issuer,
                            crl.next_update.map(|t| t.to_string()).unwrap_or_default()
                        ),
                        "crl_expired",
                    ),
                    None => continue,
                },
            };
            // Keep looking for a revoked certificate higher up; remember the first problem.
            worst.get_or_insert(found);
        }
        worst.unwrap_or_else(Labelled::good)
    }

    pub(super) async fn ocsp(&self, chain: &PreparedChain, network: bool) -> Labelled {
        let mode = self.settings.ocsp.mode;
        if mode == OcspMode::Off {
            return Labelled::good();
        }
        let hard = mode == OcspMode::Hard;
        let failure = |reason: String, label| Labelled {
            verdict: Verdict::Unknown { reason, hard },
            label,
        };
        // OCSP asks about the leaf only (like nginx `ssl_ocsp leaf`): IGC Santé intermediates
        // are covered by the root's CRL in whole-chain scope. The leaf comes first in any scope.
        let Some((subject, issuer)) = chain.subjects.first() else {
            return failure("empty certificate chain".to_owned(), "ocsp_no_issuer");
        };
        let Some(issuer) = issuer else {
            return failure(ocsp::OcspFailure::NoIssuer.to_string(), "ocsp_no_issuer");
        };
        let outcome = match CertKey::new(&subject.issuer_raw, &subject.serial, issuer) {
            Ok(key) => {
                self.ocsp
                    .answer(&key, issuer, &subject.ocsp_urls, network)
                    .await
            }
            Err(e) => Err(e),
        };
        ocsp_verdict(subject, outcome, hard)
    }

    pub(super) async fn combined(&self, chain: &PreparedChain, network: bool) -> Labelled {
        let crl = self.crl(chain, Timestamp::now());
        match self.settings.combine {
            Combine::CrlOnly => crl,
            Combine::Both => {
                if crl.verdict.refuse() {
                    return crl;
                }
                let ocsp = self.ocsp(chain, network).await;
                if ocsp.verdict == Verdict::Good {
                    crl
                } else {
                    ocsp
                }
            }
            Combine::OcspWhenNoCrl => {
                // No CRL configured at all covers nothing: OCSP decides (the per-request CRL
                // check, which never asks OCSP, still reads "good" then).
                if crl.label == "crl_not_covered" || self.settings.crl.is_none() {
                    self.ocsp(chain, network).await
                } else {
                    crl
                }
            }
        }
    }
}

fn ocsp_verdict(
    subject: &Subject,
    outcome: Result<Answer, ocsp::OcspFailure>,
    hard: bool,
) -> Labelled {
    match outcome {
        Ok(Answer::Good) => Labelled::good(),
        Ok(Answer::Revoked(reason)) => Labelled {
            verdict: Verdict::Revoked {
                serial: subject.serial_hex(),
                reason,
            },
            label: "ocsp_revoked",
        },
        Ok(Answer::Unknown) => Labelled {
            verdict: Verdict::Unknown {
                reason: "OCSP responder says the certificate is unknown".to_owned(),
                hard,
            },
            label: "ocsp_unknown",
        },
        Err(e) => Labelled {
            verdict: Verdict::Unknown {
                reason: e.to_string(),
                hard,
            },
            label: ocsp_label(&e),
        },
    }
}

fn ocsp_label(e: &ocsp::OcspFailure) -> &'static str {
    match e.label() {
        "timeout" => "ocsp_timeout",
        "network" => "ocsp_network",
        "not_cached" => "ocsp_not_cached",
        "no_responder" => "ocsp_no_responder",
        "status" => "ocsp_status",
        "http_status" => "ocsp_http_status",
        _ => "ocsp_bad_response",
    }
}
