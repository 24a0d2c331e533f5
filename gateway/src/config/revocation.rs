//! Maps the `client_auth.revocation` YAML block onto `mtls::RevocationSettings`.

use std::path::Path;

use super::error::Collector;
use super::raw::{
    CombineMode, FailMode, MissingMode, OcspFetchRaw, OcspModeRaw, RawRevocation, Scope,
};
use super::units::parse_duration;

pub(super) fn revocation(
    c: &mut Collector,
    key: &str,
    raw: &RawRevocation,
    base: &Path,
) -> Option<mtls::RevocationSettings> {
    let defaults = mtls::RevocationSettings::default();
    let crl = match &raw.crl {
        None => None,
        Some(crl) => {
            let k = format!("{key}.crl");
            let sources: Vec<mtls::CrlSource> = crl
                .sources
                .iter()
                .map(|src| {
                    if src.starts_with("http://") || src.starts_with("https://") {
                        mtls::CrlSource::Url(src.clone())
                    } else {
                        mtls::CrlSource::File(base.join(src))
                    }
                })
                .collect();
            let mut s = mtls::CrlSettings {
                sources,
                ..mtls::CrlSettings::default()
            };
            if s.sources.is_empty() && !crl.use_distribution_points {
                c.push(
                    format!("{k}.sources"),
                    "list at least one CRL (URL or file), or set use_distribution_points: true",
                );
            }
            s.use_distribution_points = crl.use_distribution_points;
            if let Some(at) = &crl.refresh_at
                && let Some(hm) = c.check(format!("{k}.refresh_at"), parse_hhmm(at))
            {
                s.refresh_at = hm;
            }
            if let Some(tz) = &crl.time_zone {
                if jiff::tz::TimeZone::get(tz).is_err() {
                    c.push(
                        format!("{k}.time_zone"),
                        format!("`{tz}` is not an IANA time zone"),
                    );
                }
                s.time_zone = tz.clone();
            }
            if let Some(j) = &crl.jitter
                && let Some(d) = c.check(format!("{k}.jitter"), parse_duration(j))
            {
                s.jitter = d;
            }
            if let Some(m) = crl.on_missing_at_start {
                s.on_missing_at_start = match m {
                    MissingMode::Refuse => mtls::MissingAtStart::Refuse,
                    MissingMode::StartDegraded => mtls::MissingAtStart::StartDegraded,
                };
            }
            if let Some(m) = crl.on_stale {
                s.on_stale = match m {
                    FailMode::Hard => mtls::StalePolicy::Hard,
                    FailMode::Soft => mtls::StalePolicy::Soft,
                };
            }
            Some(s)
        }
    };
    let mut ocsp = mtls::OcspSettings::default();
    if let Some(o) = &raw.ocsp {
        let k = format!("{key}.ocsp");
        ocsp.mode = match o.mode {
            OcspModeRaw::Off => mtls::OcspMode::Off,
            OcspModeRaw::Soft => mtls::OcspMode::Soft,
            OcspModeRaw::Hard => mtls::OcspMode::Hard,
        };
        ocsp.responder_override = o.responder.clone();
        ocsp.send_nonce = o.nonce;
        ocsp.fetch = match o.fetch {
            None | Some(OcspFetchRaw::Inline) => mtls::OcspFetch::Inline,
            Some(OcspFetchRaw::Background) => mtls::OcspFetch::Background,
        };
        for (name, value, slot) in [
            ("timeout", &o.timeout, &mut ocsp.timeout),
            ("max_cache_age", &o.max_cache_age, &mut ocsp.max_cache_age),
            ("clock_skew", &o.clock_skew, &mut ocsp.clock_skew),
        ] {
            if let Some(v) = value
                && let Some(d) = c.check(format!("{k}.{name}"), parse_duration(v))
            {
                *slot = d;
            }
        }
    }
    if crl.is_none() && ocsp.mode == mtls::OcspMode::Off {
        c.push(
            key,
            "neither `crl` nor an `ocsp` mode other than `off`: remove the block or configure one",
        );
        return None;
    }
    Some(mtls::RevocationSettings {
        crl,
        ocsp,
        scope: match raw.scope {
            None | Some(Scope::LeafOnly) => mtls::RevocationScope::LeafOnly,
            Some(Scope::WholeChain) => mtls::RevocationScope::WholeChain,
        },
        combine: match raw.combine {
            None => defaults.combine,
            Some(CombineMode::OcspWhenNoCrl) => mtls::Combine::OcspWhenNoCrl,
            Some(CombineMode::Both) => mtls::Combine::Both,
            Some(CombineMode::CrlOnly) => mtls::Combine::CrlOnly,
        },
    })
}

fn parse_hhmm(text: &str) -> Result<(u8, u8), String> {
    let err = || format!("`{text}` is not a local time such as `07:15`");
    let (h, m) = text.split_once(':').ok_or_else(err)?;
    let h: u8 = h.parse().map_err(|_| err())?;
    let m: u8 = m.parse().map_err(|_| err())?;
    if h > 23 || m > 59 {
        return Err(err());
    }
    Ok((h, m))
}
