//! Helpers of the alert service's end-to-end tests: a gateway with an `aspone_alert` route in
//! front of the demo upstream's alert service, WS-Security requests built by hand, and direct
//! reads of the upstream to see what was (not) applied.
#![allow(dead_code, clippy::unwrap_used, missing_docs, unreachable_pub)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use sha1::{Digest as _, Sha1};

use crate::common;

pub const NS: &str = "http://www.cegedim.com/aspone/mb/webservices";
pub const PARTNER_A: &str = "portal-a";
pub const SECRET_A: &str = "partner-a-secret";
pub const SSO_KEY_A: &str = "sso-key-a";
pub const PARTNER_B: &str = "portal-b";
pub const SECRET_B: &str = "partner-b-secret";
pub const SSO_KEY_B: &str = "sso-key-b";

/// How to start the gateway.
pub struct Options {
    /// Wait per failed login (the route's `backoff_step`).
    pub backoff_step: &'static str,
    /// `Some(prefix)`: state in the Redis at 127.0.0.1:6379 under that key prefix.
    pub redis_prefix: Option<String>,
    /// The upstream URL; `None` starts a fresh demo upstream.
    pub upstream: Option<String>,
    /// The upstream's request timeout.
    pub upstream_timeout: &'static str,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            backoff_step: "1s",
            redis_prefix: None,
            upstream: None,
            upstream_timeout: "5s",
        }
    }
}

pub struct Alert {
    pub gateway: gateway::Gateway,
    pub addr: SocketAddr,
    /// `http://127.0.0.1:port` of the upstream.
    pub upstream: String,
}

/// A unique key prefix for one test's Redis state.
pub fn unique_prefix(test: &str) -> String {
    format!(
        "alert-e2e-{test}-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    )
}

/// A fresh demo upstream; its `http://127.0.0.1:port`.
pub async fn demo_upstream() -> String {
    let addr = demo_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    format!("http://{addr}")
}

pub async fn start(opts: Options) -> Alert {
    let upstream = match opts.upstream {
        Some(u) => u,
        None => demo_upstream().await,
    };
    let state = match &opts.redis_prefix {
        Some(prefix) => format!(
            "state:\n  backend: redis\n  url_env: ALERT_TEST_REDIS\n  key_prefix: {prefix}\n"
        ),
        None => "state:\n  backend: memory\n".to_owned(),
    };
    let yaml = format!(
        r#"
{listener}
{state}
upstreams:
  alert-service:
    url: {upstream}
    connect_timeout: 1s
    request_timeout: {timeout}
routes:
  - name: aspone-alert
    listener: edge
    path_prefix: /aspone/alert
    methods: [GET, POST]
    handler: aspone_alert
    upstream: alert-service
    allow_any_verified_client: true
    max_body_size: 256KiB
    aspone_alert:
      backoff_step: {step}
      partners:
        - username: {PARTNER_A}
          secret_env: ALERT_A_SECRET
          sso_key_env: ALERT_A_SSO
          sso_validity: 5m
        - username: {PARTNER_B}
          secret_env: ALERT_B_SECRET
          sso_key_env: ALERT_B_SSO
          profile: lenient
          created_local_zone: Europe/Paris
          account_name_max_len: 20
"#,
        listener = common::listener("required"),
        timeout = opts.upstream_timeout,
        step = opts.backoff_step,
    );
    let env: HashMap<String, String> = [
        ("ALERT_A_SECRET", SECRET_A),
        ("ALERT_A_SSO", SSO_KEY_A),
        ("ALERT_B_SECRET", SECRET_B),
        ("ALERT_B_SSO", SSO_KEY_B),
        ("ALERT_TEST_REDIS", "redis://127.0.0.1:6379"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let gateway = common::start_with_env(&yaml, &env).await;
    let addr = gateway.addr("edge").unwrap();
    Alert {
        gateway,
        addr,
        upstream,
    }
}

/// A request: who the partner is, who the user is, what the body says.
pub struct Call {
    pub partner: &'static str,
    pub secret: &'static str,
    pub login: String,
    pub password: String,
    pub body: String,
    /// `Created`; `None` is now.
    pub created: Option<String>,
    /// The nonce; `None` is a fresh random one.
    pub nonce: Option<Vec<u8>>,
}

impl Call {
    /// Partner A calling as `login`/`password` with an operation body (inner XML of `op`).
    pub fn new(login: &str, password: &str, op: &str, inner: &str) -> Self {
        Self {
            partner: PARTNER_A,
            secret: SECRET_A,
            login: login.to_owned(),
            password: password.to_owned(),
            body: format!(r#"<a:{op} xmlns:a="{NS}">{inner}</a:{op}>"#),
            created: None,
            nonce: None,
        }
    }

    pub fn partner(mut self, partner: &'static str, secret: &'static str) -> Self {
        self.partner = partner;
        self.secret = secret;
        self
    }

    pub fn xml(&self) -> String {
        let nonce = self.nonce.clone().unwrap_or_else(fresh_nonce);
        // Partner B is configured as a portal that writes its Paris clock with a literal `Z`.
        let created = self.created.clone().unwrap_or_else(|| {
            let now = jiff::Timestamp::now();
            if self.partner == PARTNER_B {
                let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
                now.to_zoned(paris)
                    .strftime("%Y-%m-%dT%H:%M:%SZ")
                    .to_string()
            } else {
                now.strftime("%Y-%m-%dT%H:%M:%S.%3fZ").to_string()
            }
        });
        let mut h = Sha1::new();
        h.update(&nonce);
        h.update(created.as_bytes());
        h.update(self.secret.as_bytes());
        let digest = STANDARD.encode(h.finalize());
        // As portals write it (reference §3): serviceVersion in v1, context in v0, then Security.
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:v0="http://aspone.fr/mb/webservices" xmlns:v1="{NS}" xmlns:wsse="{wsse}" xmlns:wsu="{wsu}">
<soapenv:Header>
<v1:serviceVersion>1.1</v1:serviceVersion>
<v0:context><v0:user><v0:login>{login}</v0:login><v0:password>{password}</v0:password></v0:user></v0:context>
<wsse:Security soapenv:mustUnderstand="1"><wsse:UsernameToken><wsse:Username>{partner}</wsse:Username><wsse:Password Type="{pd}">{digest}</wsse:Password><wsse:Nonce EncodingType="{b64}">{nonce}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>
</soapenv:Header>
<soapenv:Body>{body}</soapenv:Body>
</soapenv:Envelope>"#,
            wsse = soap::WSSE_NS,
            wsu = soap::WSU_NS,
            login = self.login,
            password = self.password,
            partner = self.partner,
            pd = soap::PASSWORD_DIGEST_URI,
            b64 = soap::BASE64_BINARY_URI,
            nonce = STANDARD.encode(&nonce),
            body = self.body,
        )
    }
}

pub fn fresh_nonce() -> Vec<u8> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let mut out = N.fetch_add(1, Ordering::Relaxed).to_le_bytes().to_vec();
    out.extend_from_slice(&(jiff::Timestamp::now().as_nanosecond() as u64).to_le_bytes());
    out.extend_from_slice(&std::process::id().to_le_bytes());
    out
}

/// A SOAP answer.
pub struct Soap {
    pub status: u16,
    pub body: String,
}

impl Soap {
    pub fn is_success(&self) -> bool {
        self.body.contains("<responseType>SUCCESS</responseType>")
    }

    /// The `code` of every in-band message, in order.
    pub fn codes(&self) -> Vec<String> {
        tags(&self.body, "code")
    }

    /// The `field` of every in-band message, in order.
    pub fn fields(&self) -> Vec<String> {
        tags(&self.body, "field")
    }

    pub fn faultcode(&self) -> Option<String> {
        let start = self.body.find("<faultcode")?;
        let rest = &self.body[start..];
        let open = rest.find('>')? + 1;
        let close = rest.find("</faultcode>")?;
        Some(rest[open..close].to_owned())
    }

    /// Asserts a SOAP fault with this `faultcode`.
    pub fn assert_fault(&self, code: &str) {
        assert_eq!(self.faultcode().as_deref(), Some(code), "{}", self.body);
    }

    /// Asserts an in-band ERROR with exactly these (field, code) pairs.
    pub fn assert_problems(&self, expected: &[(&str, &str)]) {
        assert_eq!(self.status, 200, "{}", self.body);
        assert!(
            self.body.contains("<responseType>ERROR</responseType>"),
            "{}",
            self.body
        );
        let got: Vec<(String, String)> = self.fields().into_iter().zip(self.codes()).collect();
        let want: Vec<(String, String)> = expected
            .iter()
            .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
            .collect();
        assert_eq!(got, want, "{}", self.body);
    }
}

fn tags(body: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    body.split(&open)
        .skip(1)
        .filter_map(|s| s.split_once(&close).map(|(v, _)| v.to_owned()))
        .collect()
}

pub async fn post(addr: SocketAddr, xml: String) -> Soap {
    let req = Request::post("https://localhost/aspone/alert")
        .header("host", "localhost")
        .header("content-type", "text/xml; charset=utf-8")
        .header("soapaction", "\"\"")
        .body(Full::new(Bytes::from(xml)))
        .unwrap();
    let answer = common::send(addr, Some("portal"), false, req)
        .await
        .unwrap();
    Soap {
        status: answer.status,
        body: String::from_utf8(answer.body.to_vec()).unwrap(),
    }
}

pub async fn call(a: &Alert, call: &Call) -> Soap {
    post(a.addr, call.xml()).await
}

/// The account's configuration read straight from the upstream (not through the gateway).
pub async fn upstream_config(upstream: &str, partner: &str, account: &str) -> serde_json::Value {
    let bytes = reqwest::get(format!(
        "{upstream}/v1/partners/{partner}/accounts/{account}/alert-config"
    ))
    .await
    .unwrap()
    .bytes()
    .await
    .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// An HTTP front that forwards to `upstream`, waiting `delay` first for requests of `only`
/// (every request when `None`): a slow internal service, for timeout tests.
pub async fn delaying_front(
    upstream: String,
    delay: Duration,
    only: Option<http::Method>,
) -> String {
    use axum::body::Body;
    let client = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let client = client.clone();
        let upstream = upstream.clone();
        let only = only.clone();
        async move {
            if only.as_ref().is_none_or(|m| m == req.method()) {
                tokio::time::sleep(delay).await;
            }
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
            let url = format!("{upstream}{}", parts.uri.path());
            let resp = client
                .request(parts.method, url)
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let bytes = resp.bytes().await.unwrap();
            http::Response::builder()
                .status(status)
                .body(Body::from(bytes))
                .unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// One `teleProcedureAlert` with one `messageService`.
pub fn tpa(tp: &str, actif: &str, kind: &str, delai: &str, positif: &str) -> String {
    format!(
        "<a:teleProcedureAlert><a:teleProcedure>{tp}</a:teleProcedure><a:messageService><a:actif>{actif}</a:actif><a:type>{kind}</a:type><a:delai>{delai}</a:delai><a:positif>{positif}</a:positif></a:messageService></a:teleProcedureAlert>"
    )
}
