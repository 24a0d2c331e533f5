//! All TLS policy of the gateway: trust stores, verifiers, CN/OU pinning, revocation, outbound identities.
