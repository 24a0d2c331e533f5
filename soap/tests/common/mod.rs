//! Builders shared by the integration tests: ASPOne-shaped requests and
//! UsernameTokens computed by hand.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest as _, Sha1};

pub const WSSE: &str = soap::WSSE_NS;
pub const WSU: &str = soap::WSU_NS;
pub const ASPONE_V0: &str = "http://aspone.fr/mb/webservices";
pub const ASPONE_V1: &str = "http://www.cegedim.com/aspone/mb/webservices";

/// Base64(SHA-1(nonce ‖ created ‖ password)).
pub fn digest(nonce: &[u8], created: &str, password: &str) -> String {
    let mut h = Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(password.as_bytes());
    STANDARD.encode(h.finalize())
}

pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// A UsernameToken with PasswordDigest, as WSS4J writes it.
pub fn digest_token(user: &str, password: &str, nonce: &[u8], created: &str) -> String {
    format!(
        r#"<wsse:UsernameToken><wsse:Username>{user}</wsse:Username><wsse:Password Type="{}">{}</wsse:Password><wsse:Nonce EncodingType="{}">{}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken>"#,
        soap::PASSWORD_DIGEST_URI,
        digest(nonce, created, password),
        soap::BASE64_BINARY_URI,
        b64(nonce),
    )
}

/// A SOAP 1.1 envelope whose Header holds a wsse:Security with `security_inner`.
pub fn envelope_with_security(security_inner: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}">
  <soapenv:Header>
    <wsse:Security soapenv:mustUnderstand="1">{security_inner}</wsse:Security>
  </soapenv:Header>
  <soapenv:Body><ping/></soapenv:Body>
</soapenv:Envelope>"#
    )
}

/// A ~2 KB ASPOne alert request as a white-label portal sends it: serviceVersion
/// in the v1 namespace, context/user in the v0 namespace, wsse:Security last.
pub fn aspone_request(token: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="{ASPONE_V1}" xmlns:ns2="{ASPONE_V0}" xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}">
  <SOAP-ENV:Header>
    <ns1:serviceVersion>1.1</ns1:serviceVersion>
    <ns2:context>
      <ns2:user>
        <ns2:login>jdupont01</ns2:login>
        <ns2:password>sso:191028:1701:669118f1183616ee47cb429d9eac6308d0cbac13f0f244234955270c3489d995</ns2:password>
      </ns2:user>
    </ns2:context>
    <wsse:Security SOAP-ENV:mustUnderstand="1">{token}</wsse:Security>
  </SOAP-ENV:Header>
  <SOAP-ENV:Body>
    <ns1:setAlertActive>
      <ns1:account>CPT000123</ns1:account>
      <ns1:alertActive>true</ns1:alertActive>
      <ns1:sendAdmin>false</ns1:sendAdmin>
      <ns1:secondaryAccountAlert>true</ns1:secondaryAccountAlert>
      <ns1:mails>compta@example.fr;direction@example.fr;paie@example.fr</ns1:mails>
      <ns1:sendMultiplePaiement>false</ns1:sendMultiplePaiement>
      <ns1:sendTest>false</ns1:sendTest>
      <ns1:teleprocedureAlert>
        <ns1:teleProcedure>TVA</ns1:teleProcedure>
        <ns1:messageService>
          <ns1:actif>true</ns1:actif>
          <ns1:type>ACS</ns1:type>
          <ns1:delai>3</ns1:delai>
          <ns1:positif>false</ns1:positif>
        </ns1:messageService>
        <ns1:messageService>
          <ns1:actif>true</ns1:actif>
          <ns1:type>ARS</ns1:type>
          <ns1:delai>5</ns1:delai>
          <ns1:positif>true</ns1:positif>
        </ns1:messageService>
      </ns1:teleprocedureAlert>
    </ns1:setAlertActive>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
"#
    )
}

/// Credentials with one partner.
pub fn partner(
    user: &'static str,
    password: &'static str,
) -> impl Fn(&str) -> Option<soap::Secret> {
    move |u: &str| (u == user).then(|| soap::Secret::from(password))
}

pub fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}
