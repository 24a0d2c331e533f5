//! ASPOne SSO tokens (seed 004 §1.3): `sso:<AAMMJJ>:<HHmm>:<jeton>` sent in place of
//! a user's password, with `jeton` = hex(SHA-256(sharedKey ‖ login ‖ AAMMJJ ‖ HHmm)).

use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::Secret;

/// Prefix that marks a password as an SSO token.
const PREFIX: &str = "sso:";

/// Whether `password` has the SSO form (starts with `sso:`); such a password is
/// never checked as a password.
pub fn is_sso_form(password: &str) -> bool {
    password.starts_with(PREFIX)
}

/// The role of the account logging in: SSO is refused to administrators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRole {
    /// A normal (primary or secondary) account.
    User,
    /// An administrator account.
    Administrator,
}

/// Why an SSO token was refused. Answer every variant exactly like a wrong password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SsoError {
    /// The password does not start with `sso:`.
    #[error("password is not an SSO token")]
    NotSsoForm,
    /// The token does not have the `sso:AAMMJJ:HHmm:<64 hex>` shape.
    #[error("malformed SSO token: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// The date and time fields do not name a real minute.
    #[error("SSO token date or time is not a valid calendar time")]
    InvalidDate,
    /// The hash does not match.
    #[error("SSO token hash mismatch")]
    Mismatch,
    /// The token is older than the partner's validity.
    #[error("SSO token is {age_secs} s old; validity is {validity_secs} s")]
    Expired {
        /// Age from the start of the labelled minute, whole seconds.
        age_secs: i64,
        /// Policy validity.
        validity_secs: u64,
    },
    /// The token is dated further in the future than the allowed skew.
    #[error("SSO token is dated {ahead_secs} s in the future; skew allowed is {skew_secs} s")]
    NotYetValid {
        /// How far ahead, whole seconds.
        ahead_secs: i64,
        /// Policy skew.
        skew_secs: u64,
    },
    /// The account is an administrator, which may not use SSO.
    #[error("SSO is not allowed for administrator accounts")]
    AdministratorRefused,
    /// The configured time zone name is not in the time zone database.
    #[error("unknown time zone {name:?}")]
    UnknownTimeZone {
        /// The name given.
        name: String,
    },
}

// === impl SsoPolicy ===

/// One white-label partner's SSO settings.
#[derive(Debug, Clone)]
pub struct SsoPolicy {
    key: Secret,
    validity: Duration,
    future_skew: Duration,
    zone: TimeZone,
}

impl SsoPolicy {
    /// Default validity: 5 minutes. The seed leaves it per partner and advises
    /// generating a token for every call, so a short window costs nothing.
    pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(300);
    /// Default tolerance for a token dated in the future (portal clock ahead).
    pub const DEFAULT_FUTURE_SKEW: Duration = Duration::from_secs(60);
    /// Default zone of the date and time fields; the seed does not say, ASPOne is French.
    pub const DEFAULT_TIME_ZONE: &'static str = "Europe/Paris";

    /// A policy with the partner's shared key and the defaults.
    pub fn new(key: Secret) -> Self {
        // The tz database is compiled in (jiff `tzdb-bundle-always`), so this lookup
        // cannot fail at run time; a unit test pins it. UTC would only be a fallback
        // for a build without the bundle.
        let zone = TimeZone::get(Self::DEFAULT_TIME_ZONE).unwrap_or(TimeZone::UTC);
        Self {
            key,
            validity: Self::DEFAULT_VALIDITY,
            future_skew: Self::DEFAULT_FUTURE_SKEW,
            zone,
        }
    }

    /// Sets how long a token stays valid, counted from the start of its minute
    /// (plus the rest of that minute, since the token does not say the second).
    pub fn with_validity(mut self, validity: Duration) -> Self {
        self.validity = validity;
        self
    }

    /// Sets how far in the future a token may be dated.
    pub fn with_future_skew(mut self, skew: Duration) -> Self {
        self.future_skew = skew;
        self
    }

    /// Sets the zone of the date and time fields.
    pub fn with_time_zone(mut self, zone: TimeZone) -> Self {
        self.zone = zone;
        self
    }

    /// Sets the zone by IANA name.
    ///
    /// # Errors
    ///
    /// [`SsoError::UnknownTimeZone`] if the name is not in the database.
    pub fn with_time_zone_name(self, name: &str) -> Result<Self, SsoError> {
        let zone = TimeZone::get(name).map_err(|_| SsoError::UnknownTimeZone {
            name: crate::envelope_error::echo(name),
        })?;
        Ok(self.with_time_zone(zone))
    }

    /// The zone of the date and time fields.
    pub fn time_zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The token a portal would send for `login` at `at` (for tests and demos).
    pub fn token_for(&self, login: &str, at: Timestamp) -> String {
        let local = at.to_zoned(self.zone.clone()).datetime();
        let date = format!(
            "{:02}{:02}{:02}",
            local.year() % 100,
            local.month(),
            local.day()
        );
        let time = format!("{:02}{:02}", local.hour(), local.minute());
        let hash = self.hash(login, &date, &time);
        format!("{PREFIX}{date}:{time}:{}", hex::encode(hash))
    }

    /// Verifies an SSO token sent as `login`'s password at `now`.
    ///
    /// # Errors
    ///
    /// An [`SsoError`] saying why, for the log; the caller answers all of them like
    /// a wrong password.
    pub fn verify(
        &self,
        login: &str,
        password: &str,
        role: UserRole,
        now: Timestamp,
    ) -> Result<(), SsoError> {
        let rest = password.strip_prefix(PREFIX).ok_or(SsoError::NotSsoForm)?;
        let (date, time, token) = split_fields(rest)?;
        let given = decode_hex32(token).ok_or(SsoError::Malformed {
            reason: "token is not 64 hexadecimal digits",
        })?;
        let expected = self.hash(login, date, time);
        if !bool::from(expected.as_slice().ct_eq(&given)) {
            return Err(SsoError::Mismatch);
        }
        self.check_window(date, time, now)?;
        // Checked last so that an administrator's token costs the same work and
        // the log still says whether the token itself was good.
        if role == UserRole::Administrator {
            return Err(SsoError::AdministratorRefused);
        }
        Ok(())
    }

    fn hash(&self, login: &str, date: &str, time: &str) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(self.key.expose_secret());
        hash.update(login.as_bytes());
        hash.update(date.as_bytes());
        hash.update(time.as_bytes());
        hash.finalize().into()
    }

    /// Accepts the token if any reading of its local time (two during a DST fold)
    /// is in `[now - validity - 59 s, now + future_skew]`.
    fn check_window(&self, date: &str, time: &str, now: Timestamp) -> Result<(), SsoError> {
        let field = |s: &str, at: usize| -> Result<i8, SsoError> {
            let digits = s.get(at..at + 2).ok_or(SsoError::InvalidDate)?;
            digits.parse().map_err(|_| SsoError::InvalidDate)
        };
        let civil = DateTime::new(
            2000 + i16::from(field(date, 0)?),
            field(date, 2)?,
            field(date, 4)?,
            field(time, 0)?,
            field(time, 2)?,
            0,
            0,
        )
        .map_err(|_| SsoError::InvalidDate)?;
        let ambiguous = self.zone.to_ambiguous_timestamp(civil);
        let candidates = [ambiguous.earlier(), ambiguous.later()];
        let validity_ms = to_ms(self.validity) + 59_999;
        let skew_ms = to_ms(self.future_skew);
        let mut refusal = SsoError::InvalidDate;
        for labelled in candidates.into_iter().flatten() {
            let age_ms = now.duration_since(labelled).as_millis();
            if age_ms > validity_ms {
                refusal = SsoError::Expired {
                    age_secs: i64::try_from(age_ms / 1000).unwrap_or(i64::MAX),
                    validity_secs: self.validity.as_secs(),
                };
            } else if -age_ms > skew_ms {
                refusal = SsoError::NotYetValid {
                    ahead_secs: i64::try_from(-age_ms / 1000).unwrap_or(i64::MAX),
                    skew_secs: self.future_skew.as_secs(),
                };
            } else {
                return Ok(());
            }
        }
        Err(refusal)
    }
}

fn to_ms(d: Duration) -> i128 {
    i128::try_from(d.as_millis()).unwrap_or(i128::MAX / 2)
}

/// Splits `AAMMJJ:HHmm:<token>` and checks the digit fields' shape.
fn split_fields(rest: &str) -> Result<(&str, &str, &str), SsoError> {
    let mut parts = rest.splitn(3, ':');
    let (Some(date), Some(time), Some(token)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SsoError::Malformed {
            reason: "expected sso:<AAMMJJ>:<HHmm>:<token>",
        });
    };
    if date.len() != 6 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SsoError::Malformed {
            reason: "date is not six digits (AAMMJJ)",
        });
    }
    if time.len() != 4 || !time.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SsoError::Malformed {
            reason: "time is not four digits (HHmm)",
        });
    }
    Ok((date, time, token))
}

/// Decodes exactly 64 hex digits, either case.
fn decode_hex32(token: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(token, &mut out).ok()?;
    Some(out)
}
