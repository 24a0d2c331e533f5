//! WS-Security failures and their mapping to faults — the one place that mapping lives.

use crate::wsse::{PasswordKind, WSSE_NS};
use crate::{Fault, FaultCode};

/// The WS-Security fault codes (WS-Security 1.1 §12), all `wsse` QNames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityFault {
    /// `wsse:InvalidSecurity`: the header itself is unusable.
    InvalidSecurity,
    /// `wsse:InvalidSecurityToken`: the token is malformed or not allowed.
    InvalidSecurityToken,
    /// `wsse:FailedAuthentication`: unknown user or wrong password, never said which.
    FailedAuthentication,
    /// `wsse:MessageExpired`: outside the freshness window.
    MessageExpired,
}

impl SecurityFault {
    /// Local name of the fault code in the `wsse` namespace.
    pub const fn local_name(self) -> &'static str {
        match self {
            Self::InvalidSecurity => "InvalidSecurity",
            Self::InvalidSecurityToken => "InvalidSecurityToken",
            Self::FailedAuthentication => "FailedAuthentication",
            Self::MessageExpired => "MessageExpired",
        }
    }

    /// The faultstring WS-Security (and WSS4J) use: it says nothing specific.
    pub const fn fault_string(self) -> &'static str {
        match self {
            Self::InvalidSecurity => {
                "An error was discovered processing the <wsse:Security> header"
            }
            Self::InvalidSecurityToken => "An invalid security token was provided",
            Self::FailedAuthentication => {
                "The security token could not be authenticated or authorized"
            }
            Self::MessageExpired => "The message has expired",
        }
    }

    /// The fault: `wsse:<code>` as SOAP 1.1 `faultcode`, or SOAP 1.2
    /// `Sender` with the `wsse` code as subcode.
    pub fn to_fault(self) -> Fault {
        Fault::new(FaultCode::Sender, self.fault_string()).with_subcode(
            WSSE_NS,
            "wsse",
            self.local_name(),
        )
    }
}

/// Why a `wsse:Security` header was refused.
///
/// `Display` gives the exact reason for the log and never includes a password, a
/// digest or its inputs (nonce, Created), a key or a token; usernames are truncated.
/// The caller answers with [`WsSecurityError::to_fault`], which says much less.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WsSecurityError {
    /// No `wsse:Security` header block addressed to us.
    #[error("no wsse:Security header block targets this receiver")]
    MissingSecurityHeader,
    /// More than one `wsse:Security` block addressed to us (BSP R3206).
    #[error("{count} wsse:Security header blocks target this receiver; one is allowed")]
    DuplicateSecurityHeader {
        /// How many there are.
        count: usize,
    },
    /// `wsse:Security` holds no UsernameToken.
    #[error("wsse:Security holds no UsernameToken")]
    MissingUsernameToken,
    /// More than one UsernameToken, refused by the strict profile.
    #[error("wsse:Security holds {count} UsernameTokens; the strict policy allows one")]
    MultipleUsernameTokens {
        /// How many there are.
        count: usize,
    },
    /// More than one `wsu:Timestamp` (BSP R3227).
    #[error("wsse:Security holds {count} wsu:Timestamp elements; one is allowed")]
    DuplicateTimestamp {
        /// How many there are.
        count: usize,
    },
    /// A required child of UsernameToken is missing.
    #[error("UsernameToken has no {element}")]
    MissingElement {
        /// `Username`, `Password`, `Nonce` or `Created`.
        element: &'static str,
    },
    /// A child of UsernameToken or Timestamp appears more than once.
    #[error("{element} appears more than once")]
    DuplicateElement {
        /// The repeated element.
        element: &'static str,
    },
    /// `Username` is empty.
    #[error("UsernameToken has an empty Username")]
    EmptyUsername,
    /// `Password` has no `Type`, refused by the strict profile.
    #[error("Password has no Type attribute (required by the strict policy)")]
    MissingPasswordType,
    /// `Password/@Type` is neither PasswordDigest nor PasswordText.
    #[error("unknown Password Type {type_uri:?}")]
    UnknownPasswordType {
        /// The attribute value (truncated).
        type_uri: String,
    },
    /// The password form is not enabled for this partner.
    #[error("{kind} is not allowed by this partner's policy")]
    PasswordTypeNotAllowed {
        /// The form the token used.
        kind: PasswordKind,
    },
    /// `Nonce` has no `EncodingType`, refused by the strict profile.
    #[error("Nonce has no EncodingType attribute (required by the strict policy)")]
    MissingNonceEncoding,
    /// `Nonce/@EncodingType` is not Base64Binary.
    #[error("unsupported Nonce EncodingType {encoding_type:?}")]
    UnsupportedNonceEncoding {
        /// The attribute value (truncated).
        encoding_type: String,
    },
    /// `Nonce` is not valid base64.
    #[error("Nonce is not valid base64")]
    NonceNotBase64,
    /// The decoded nonce is shorter than the policy's minimum.
    #[error("Nonce decodes to {len} bytes; the policy requires at least {min}")]
    NonceTooShort {
        /// Decoded length.
        len: usize,
        /// Policy minimum.
        min: usize,
    },
    /// A date-time is not acceptable.
    #[error("{element} is not an acceptable xs:dateTime: {problem}")]
    BadDateTime {
        /// `Created`, `Timestamp/Created` or `Timestamp/Expires`.
        element: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// `Created` is older than the policy's maximum age.
    #[error("{element} is {age_secs} s old; the policy allows {max_secs} s")]
    TooOld {
        /// `Created` or `Timestamp/Created`.
        element: &'static str,
        /// Age in whole seconds.
        age_secs: i64,
        /// Policy maximum.
        max_secs: u64,
    },
    /// `Created` is further in the future than the policy's skew.
    #[error("{element} is {ahead_secs} s in the future; the policy allows {skew_secs} s")]
    InFuture {
        /// `Created` or `Timestamp/Created`.
        element: &'static str,
        /// How far ahead, in whole seconds.
        ahead_secs: i64,
        /// Policy skew.
        skew_secs: u64,
    },
    /// `wsu:Timestamp/Expires` has passed.
    #[error("Timestamp expired {ago_secs} s ago")]
    TimestampExpired {
        /// How long ago, in whole seconds.
        ago_secs: i64,
    },
    /// `wsu:Timestamp/Expires` is not after its `Created` (strict profile).
    #[error("Timestamp Expires is not after its Created")]
    TimestampInverted,
    /// No secret is known for the username. Answered exactly like a wrong password.
    #[error("unknown username {username:?}")]
    UnknownUser {
        /// The username (truncated).
        username: String,
    },
    /// The password or digest does not match.
    #[error("{kind} mismatch for username {username:?}")]
    WrongPassword {
        /// The username (truncated).
        username: String,
        /// The form the token used.
        kind: PasswordKind,
    },
}

impl WsSecurityError {
    /// The WS-Security fault code this error is answered with.
    pub fn security_fault(&self) -> SecurityFault {
        match self {
            Self::MissingSecurityHeader
            | Self::DuplicateSecurityHeader { .. }
            | Self::MissingUsernameToken
            | Self::MultipleUsernameTokens { .. }
            | Self::DuplicateTimestamp { .. } => SecurityFault::InvalidSecurity,
            Self::MissingElement { .. }
            | Self::DuplicateElement { .. }
            | Self::EmptyUsername
            | Self::MissingPasswordType
            | Self::UnknownPasswordType { .. }
            | Self::PasswordTypeNotAllowed { .. }
            | Self::MissingNonceEncoding
            | Self::UnsupportedNonceEncoding { .. }
            | Self::NonceNotBase64
            | Self::NonceTooShort { .. }
            | Self::BadDateTime { .. }
            | Self::TimestampInverted => SecurityFault::InvalidSecurityToken,
            Self::TooOld { .. } | Self::InFuture { .. } | Self::TimestampExpired { .. } => {
                SecurityFault::MessageExpired
            }
            Self::UnknownUser { .. } | Self::WrongPassword { .. } => {
                SecurityFault::FailedAuthentication
            }
        }
    }

    /// The fault to answer with: only the WS-Security code and its generic string.
    pub fn to_fault(&self) -> Fault {
        self.security_fault().to_fault()
    }
}
