//! SOAP 1.1/1.2 envelopes, faults, WS-Security UsernameToken and SSO tokens (pure, no I/O).
