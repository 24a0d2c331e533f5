//! Caller authentication: the connection's revocation verdict as the route applies it, then the
//! route's client policy (pinned CN and OU, any verified client, or anonymous).

use crate::config::{RouteRevocation, RouteSettings};
use crate::problem::GatewayError;
use crate::server::ConnectionInfo;

/// The matched client's name (pinned routes), or why the caller is refused.
///
/// # Errors
/// 403 for a revoked certificate (or an unknown status where the route requires a good one) and
/// for a client the route does not allow; 401 without a certificate.
pub(crate) fn check(
    route: &RouteSettings,
    conn: &ConnectionInfo,
) -> Result<Option<String>, GatewayError> {
    if let Some(rev) = &conn.revocation {
        // The CRL again (O(1), no I/O): a CRL loaded since the handshake takes effect on open
        // connections. The connection's verdict also carries OCSP.
        let crl_now = rev.handle.check_crl_prepared(&rev.chain);
        let refused = [&rev.verdict, &crl_now]
            .into_iter()
            .find(|v| match route.revocation {
                RouteRevocation::ListenerPolicy => v.refuse(),
                RouteRevocation::RequireGood => **v != mtls::Verdict::Good,
            });
        if let Some(verdict) = refused {
            return Err(GatewayError::Revoked {
                verdict: verdict.to_string(),
            });
        }
    }
    route
        .policy
        .check(conn.identity.as_deref())
        .map_err(|refusal| match refusal {
            mtls::PinRefusal::NoCertificate => GatewayError::Unauthenticated(refusal),
            mtls::PinRefusal::NotAllowed { .. } => GatewayError::Forbidden(refusal),
        })
        .map(|name| name.map(str::to_owned))
}
