//! Parse and verify a typical ~2 KB ASPOne alert request, then check its nonce
//! against an in-memory replay cache: the per-request work of the SOAP front.
//!
//! Run: `taskset -c 1 cargo bench -p soap --bench alert_request`
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use soap::{Envelope, Limits, SecurityHeader, SecurityPolicy, SoapVersion, check_must_understand};
use state::{MemoryStore, StateStore};

const CREATED: &str = "2024-06-01T11:59:30.250Z";
/// Distinct requests (distinct nonces) cycled through by the benchmark.
const DISTINCT: usize = 1024;

fn requests() -> Vec<String> {
    (0..DISTINCT)
        .map(|i| {
            let mut nonce = [0u8; 16];
            nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
            common::aspone_request(&common::digest_token("portal", "s3cret", &nonce, CREATED))
        })
        .collect()
}

/// What the ASPOne adapter does with a request before forwarding it.
fn handle(xml: &[u8], policy: &SecurityPolicy, now: jiff::Timestamp) -> (String, usize) {
    let limits = Limits::default();
    let env = Envelope::parse(xml, &limits, SoapVersion::V11).unwrap();
    check_must_understand(
        &env,
        &[
            (soap::WSSE_NS, "Security"),
            (common::ASPONE_V1, "serviceVersion"),
            (common::ASPONE_V0, "context"),
        ],
    )
    .unwrap();
    let credentials = common::partner("portal", "s3cret");
    let token = SecurityHeader::find(&env)
        .unwrap()
        .verify(policy, &credentials, now)
        .unwrap();
    let version = env.header_block_any_ns("serviceVersion").unwrap();
    let context = env.header_block_any_ns("context").unwrap().element();
    let login = context.path_any_ns(&["user", "login"]).unwrap().text();
    let password = context.path_any_ns(&["user", "password"]).unwrap().text();
    let op = env.payload().unwrap();
    let fields = op.children().len() + usize::from(soap::is_sso_form(password));
    black_box((version.element().text(), login, fields));
    (token.replay_key().unwrap(), fields)
}

fn bench(c: &mut Criterion) {
    let requests = requests();
    let size = requests[0].len();
    let policy = SecurityPolicy::strict();
    let now: jiff::Timestamp = "2024-06-01T12:00:00Z".parse().unwrap();
    let ttl = policy.replay_ttl();

    let mut group = c.benchmark_group(format!("alert_request_{size}B"));
    group.throughput(Throughput::Elements(1));

    group.bench_function("parse_verify", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % DISTINCT;
            black_box(handle(requests[i].as_bytes(), &policy, now))
        });
    });

    // A fresh store every DISTINCT requests so that every check is a first
    // sighting (an insert), the common case; its drop is counted in the time.
    group.bench_function("parse_verify_replay_memory_sync", |b| {
        b.iter_custom(|iters| {
            let mut store = MemoryStore::default();
            let started = Instant::now();
            for n in 0..iters as usize {
                let i = n % DISTINCT;
                if i == 0 {
                    store = MemoryStore::default();
                }
                let (key, _) = handle(requests[i].as_bytes(), &policy, now);
                assert!(!store.seen_or_insert_sync(&key, ttl).unwrap());
            }
            started.elapsed()
        });
    });

    // The same through the async trait object, on a current-thread runtime.
    group.bench_function("parse_verify_replay_memory_async", |b| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        b.iter_custom(|iters| {
            let mut store: Box<dyn StateStore> = Box::new(MemoryStore::default());
            let started = Instant::now();
            for n in 0..iters as usize {
                let i = n % DISTINCT;
                if i == 0 {
                    store = Box::new(MemoryStore::default());
                }
                let (key, _) = handle(requests[i].as_bytes(), &policy, now);
                assert!(!runtime.block_on(store.seen_or_insert(&key, ttl)).unwrap());
            }
            started.elapsed()
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(8));
    targets = bench
}
criterion_main!(benches);
