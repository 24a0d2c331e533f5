//! Per-partner WS-Security policy.

use std::fmt;
use std::time::Duration;

use jiff::tz::TimeZone;

/// How strictly a partner's UsernameToken is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Basic Security Profile checks enforced (the default).
    Strict,
    /// BSP checks relaxed for clients that deviate (see [`SecurityPolicy::lenient`]).
    Lenient,
}

/// The two password forms of the UsernameToken profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasswordKind {
    /// `#PasswordDigest`: Base64(SHA-1(nonce ‖ created ‖ password)).
    Digest,
    /// `#PasswordText`: the password itself.
    Text,
}

impl fmt::Display for PasswordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Digest => "PasswordDigest",
            Self::Text => "PasswordText",
        })
    }
}

// === impl SecurityPolicy ===

/// What a partner's `wsse:Security` header must look like to be accepted.
///
/// Start from [`SecurityPolicy::strict`] (the default) or
/// [`SecurityPolicy::lenient`]; every relaxation is a named method so that it can
/// be found by grepping configuration code.
///
/// | check | strict | lenient |
/// |---|---|---|
/// | `Password/@Type` | required | absent means PasswordText (as the profile says) |
/// | `Nonce/@EncodingType` | required, Base64Binary | optional; Base64Binary if present |
/// | decoded nonce length | ≥ 16 bytes (what WSS4J and zeep generate) | ≥ 4 bytes |
/// | `Created` zone | UTC only (`Z` or `+00:00`) | any offset; none means UTC |
/// | UsernameToken count | exactly one | the first one is used |
/// | max age / future skew | 300 s / 60 s | 600 s / 300 s |
///
/// Fractional seconds in `Created` are optional in both profiles unless
/// [`SecurityPolicy::require_fractional_seconds`] is set: WSS4J writes milliseconds
/// but zeep writes whole seconds (and `+00:00`), and both are valid xs:dateTime UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityPolicy {
    pub(crate) profile: Profile,
    pub(crate) max_age: Duration,
    pub(crate) future_skew: Duration,
    pub(crate) min_nonce_len: usize,
    pub(crate) allow_digest: bool,
    pub(crate) allow_text: bool,
    pub(crate) require_fraction: bool,
    pub(crate) z_zone: TimeZone,
}

impl SecurityPolicy {
    /// Default maximum age of `Created`, from the reference (300 s).
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
    /// Default tolerance for a `Created` in the future (60 s).
    pub const DEFAULT_FUTURE_SKEW: Duration = Duration::from_secs(60);
    /// Lenient default maximum age of `Created`.
    pub const LENIENT_MAX_AGE: Duration = Duration::from_secs(600);
    /// Lenient default tolerance for a `Created` in the future.
    pub const LENIENT_FUTURE_SKEW: Duration = Duration::from_secs(300);
    /// Strict minimum decoded nonce length: 16 bytes, what WSS4J and zeep send,
    /// enough that random nonces never collide within a replay window.
    pub const STRICT_MIN_NONCE_LEN: usize = 16;
    /// Lenient minimum decoded nonce length: 4 bytes, for PHP clients that send
    /// `pack('H*', mt_rand())`.
    pub const LENIENT_MIN_NONCE_LEN: usize = 4;

    /// The default policy: Basic Security Profile checks, PasswordDigest only.
    pub fn strict() -> Self {
        Self {
            profile: Profile::Strict,
            max_age: Self::DEFAULT_MAX_AGE,
            future_skew: Self::DEFAULT_FUTURE_SKEW,
            min_nonce_len: Self::STRICT_MIN_NONCE_LEN,
            allow_digest: true,
            allow_text: false,
            require_fraction: false,
            z_zone: TimeZone::UTC,
        }
    }

    /// A relaxed policy for clients that deviate from the Basic Security Profile
    /// (nonce without `EncodingType`, short nonce, non-UTC `Created`), with wider
    /// time windows. Still PasswordDigest only.
    pub fn lenient() -> Self {
        Self {
            profile: Profile::Lenient,
            max_age: Self::LENIENT_MAX_AGE,
            future_skew: Self::LENIENT_FUTURE_SKEW,
            min_nonce_len: Self::LENIENT_MIN_NONCE_LEN,
            ..Self::strict()
        }
    }

    /// Also accepts `#PasswordText` tokens (the password travels in the message;
    /// only acceptable over TLS and when a partner cannot do better).
    pub fn allow_password_text(mut self) -> Self {
        self.allow_text = true;
        self
    }

    /// Sets the maximum age of `Created`.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Sets how far in the future `Created` may be.
    pub fn with_future_skew(mut self, skew: Duration) -> Self {
        self.future_skew = skew;
        self
    }

    /// Sets the minimum decoded nonce length.
    pub fn with_min_nonce_len(mut self, len: usize) -> Self {
        self.min_nonce_len = len;
        self
    }

    /// Requires fractional seconds in `Created` (WSS4J style).
    pub fn require_fractional_seconds(mut self) -> Self {
        self.require_fraction = true;
        self
    }

    /// Lenient only in effect: reads a `Created` labelled `Z` (or unlabelled) as
    /// civil time in `zone`, for clients that write their local clock with a `Z`.
    /// Keeps the window tight instead of widening the future skew by hours.
    /// Ignored by the strict profile, where `Z` always means UTC.
    pub fn assume_z_means_local_time(mut self, zone: TimeZone) -> Self {
        self.z_zone = zone;
        self
    }

    /// The profile of this policy.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The maximum age of `Created`.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// How far in the future `Created` may be.
    pub fn future_skew(&self) -> Duration {
        self.future_skew
    }

    /// How long a nonce must be remembered to catch every replay: a token is
    /// acceptable from `created - future_skew` to `created + max_age`.
    pub fn replay_ttl(&self) -> Duration {
        self.max_age.saturating_add(self.future_skew)
    }

    pub(crate) fn is_strict(&self) -> bool {
        self.profile == Profile::Strict
    }

    pub(crate) fn allows(&self, kind: PasswordKind) -> bool {
        match kind {
            PasswordKind::Digest => self.allow_digest,
            PasswordKind::Text => self.allow_text,
        }
    }

    /// The zone a `Z` or absent designator is read in; `None` means UTC.
    pub(crate) fn z_zone(&self) -> Option<&TimeZone> {
        (!self.is_strict()).then_some(&self.z_zone)
    }
}

impl Default for SecurityPolicy {
    fn default() -> Self {
        Self::strict()
    }
}
