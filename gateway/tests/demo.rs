//! `gateway demo` as a user runs it: the binary, called with the documentation's own commands
//! (extracted from README.md and the route pages under docs/, so the manual cannot drift from
//! what works). Each demo runs on its
//! own free ports (`--ports-offset`, substituted into the documented commands too) with its own
//! `TMPDIR`, so that a `gateway demo` running on the machine does not get in the way.
//! Needs `curl`, `openssl` and `bash`, as the README does.
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gateway::cli::{DEMO_PORTS, shift_demo_ports};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// One demo start at a time in this binary: the next one picks its ports once the previous one
/// holds its own.
static STARTING: Mutex<()> = Mutex::new(());

/// A scratch directory of this test, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "gw-demo-test-{name}-{}-{}",
            std::process::id(),
            nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

/// A running demo, killed at the end of the test whatever happens.
struct Demo {
    child: Child,
    offset: u16,
    /// The demo's `TMPDIR` (its files and its trail go there).
    tmp: PathBuf,
    stdout: Arc<Mutex<String>>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    /// The demo's port for the documented `port`.
    fn port(&self, port: u16) -> u16 {
        port + self.offset
    }

    /// What the demo printed so far (its tour and its logs).
    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Runs a README script against this demo: its ports substituted, its `TMPDIR`.
    fn bash(&self, script: &str) -> String {
        let script = shift_demo_ports(script, self.offset);
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .current_dir(ROOT)
            .env("TMPDIR", &self.tmp)
            .output()
            .expect("cannot run bash");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "script failed: {script}\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// The directory the demo wrote its files to, as it printed it.
    fn files_dir(&self) -> PathBuf {
        let stdout = self.stdout();
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("The demo's files (configuration, test PKI) are in "))
            .unwrap_or_else(|| panic!("the demo did not say where its files are:\n{stdout}"));
        PathBuf::from(line.trim_end_matches(" (removed at exit);"))
    }
}

/// An offset that moves every demo port to a free one, below the ephemeral range (so that no
/// outgoing connection holds one of them meanwhile).
fn free_offset() -> u16 {
    let seed = u32::from(std::process::id() as u16) ^ nanos();
    for attempt in 0..500u32 {
        let offset = 1000 + u16::try_from((seed.wrapping_add(attempt * 7919)) % 13_000).unwrap();
        let free = DEMO_PORTS
            .iter()
            .all(|d| std::net::TcpListener::bind(("127.0.0.1", d.port + offset)).is_ok());
        if free {
            return offset;
        }
    }
    panic!("no free set of demo ports found");
}

/// Reads a pipe into a shared string, line by line.
fn collect(pipe: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let mut text = into.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
}

/// Starts `binary demo --ports-offset N` in `cwd` with `TMPDIR=tmp`; returns once its tour is
/// printed, or fails saying what the demo said.
fn start_demo_at(binary: &Path, cwd: &Path, tmp: &Path) -> Demo {
    let _one_at_a_time = STARTING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let offset = free_offset();
    let mut child = Command::new(binary)
        .args(["demo", "--ports-offset", &offset.to_string()])
        .current_dir(cwd)
        .env("TMPDIR", tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (stdout, stderr) = (Arc::default(), Arc::new(Mutex::new(String::new())));
    collect(child.stdout.take().unwrap(), Arc::clone(&stdout));
    collect(child.stderr.take().unwrap(), Arc::clone(&stderr));
    let mut demo = Demo {
        child,
        offset,
        tmp: tmp.to_owned(),
        stdout,
    };
    let ports: Vec<String> = DEMO_PORTS
        .iter()
        .map(|d| (d.port + offset).to_string())
        .collect();
    let ports = ports.join(", ");
    let started = Instant::now();
    // The tour is printed once everything listens.
    while !demo.stdout().contains("gateway demo is running") {
        if let Some(status) = demo.child.try_wait().unwrap() {
            std::thread::sleep(Duration::from_millis(100));
            panic!(
                "`gateway demo --ports-offset {offset}` (ports {ports}) exited ({status}) before \
                 printing its tour:\n{}{}",
                stderr.lock().unwrap(),
                demo.stdout()
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "`gateway demo --ports-offset {offset}` (ports {ports}) did not print its tour \
             within 60 s:\n{}{}",
            stderr.lock().unwrap(),
            demo.stdout()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    demo
}

/// The demo of the built binary, started from the repository root (where the documented
/// relative `certs-test/pki` paths resolve).
fn start_demo(tmp: &Scratch) -> Demo {
    start_demo_at(
        Path::new(env!("CARGO_BIN_EXE_gateway")),
        Path::new(ROOT),
        &tmp.0,
    )
}

/// The shell block, in README.md or a page of docs/routes/, that starts with the line
/// `first_line`, up to the end of its fenced block.
fn readme_block(first_line: &str) -> String {
    let mut pages = vec![PathBuf::from(format!("{ROOT}/README.md"))];
    let routes = std::fs::read_dir(format!("{ROOT}/docs/routes")).unwrap();
    pages.extend(routes.map(|e| e.unwrap().path()));
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        if let Some(start) = text.find(first_line) {
            let rest = &text[start..];
            let end = rest.find("\n```").unwrap();
            return rest[..end].to_owned();
        }
    }
    panic!("neither README.md nor docs/routes/ has a line `{first_line}`")
}

/// `curl` of `path` on the demo's listener with a client of `pki`: the HTTP status (`000` when
/// the handshake is refused).
fn status_script(pki: &str, client: &str, path: &str) -> String {
    format!(
        "curl -s -o /dev/null -w '%{{http_code}}' --cacert {pki}/ca-bundle.pem \
         --cert {pki}/clients/{client}.pem --key {pki}/clients/{client}.key \
         https://localhost:8443{path} || true"
    )
}

#[test]
fn the_readme_calls_work_against_gateway_demo() {
    let tmp = Scratch::new("readme");
    let demo = start_demo(&tmp);
    let edge = demo.port(8443);

    // ASPOne alert service (docs/routes/aspone-alert.md): its getAlertConfig call and WSDL address.
    let out = demo.bash(&readme_block("PKI=certs-test/pki; SECRET=partner-a-secret"));
    assert!(
        out.contains("<responseType>SUCCESS</responseType>")
            && out.contains("<accountName>CPT01</accountName>"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            r#"<soap:address location="https://localhost:{edge}/aspone/alert"/>"#
        )),
        "{out}"
    );

    // SAS FHIR flows (docs/routes/sas.md): the whole block (searches, SOS, INT_R02 writes,
    // INT_R03 to the demo's fake SAS).
    let out = demo.bash(&readme_block("P=certs-test/pki\nSAS="));
    for expected in [
        r#""type":"searchset""#.to_owned(),
        r#""total":0"#.to_owned(),
        "HTTP/2 201".to_owned(),
        "HTTP/2 200".to_owned(),
        format!("location: https://localhost:{edge}/sas/recette/fhir/Practitioner/"),
    ] {
        assert!(out.contains(&expected), "no `{expected}` in:\n{out}");
    }
    assert!(!out.contains("OperationOutcome"), "{out}");

    // Document exchanges (docs/routes/documents.md): upload, wrong digest, download, trail, verify.
    let block = readme_block("P=certs-test/pki; DOC=");
    let out = demo.bash(&format!(
        "GATEWAY={}\n{block}",
        env!("CARGO_BIN_EXE_gateway")
    ));
    for expected in [
        r#""exchange_id":"ex-1""#,
        "urn:gateway:problem:digest-mismatch",
        "content-digest: sha-256=",
        r#""instance":"demo""#,
        "ok: ",
    ] {
        assert!(out.contains(expected), "no `{expected}` in:\n{out}");
    }

    // The sealing service (docs/routes/sealing.md): the signed request, then its replay.
    let out = demo.bash(&readme_block("P=certs-test/pki; KEY="));
    assert!(out.contains("sealed by the demo token"), "{out}");
    assert!(
        out.contains("urn:gateway:problem:signature-replay"),
        "{out}"
    );

    // Outbound to the DMP with the medecin card through its agent; a foreign agent refused.
    // Known: the refusal (answered before the request body is read) reaches curl over HTTP/2
    // as a reset stream now and then (curl exit 92, about 1 call in 20), which fails this step.
    let out = demo.bash(&readme_block("P=certs-test/pki; APP="));
    assert!(
        out.contains("card=\"899700000017/MEDECIN0001 Jean (TEST)\""),
        "{out}"
    );
    assert!(
        out.contains("urn:gateway:problem:agent-not-allowed"),
        "{out}"
    );

    // The tour: the pinned SAS client goes through, the revoked certificate does not.
    let pki = "certs-test/pki";
    assert_eq!(
        demo.bash(&status_script(pki, "sas-recette", "/sas/hello")),
        "200"
    );
    assert_eq!(
        demo.bash(&status_script(pki, "wrong-ou", "/sas/hello")),
        "403"
    );
    // Refused in the handshake: curl reports no HTTP status.
    assert_eq!(
        demo.bash(&status_script(pki, "revoked", "/sas/hello")),
        "000"
    );
}

/// Log fields are plain values (no `Some(…)`), latencies are rounded to the microsecond, a
/// pipe gets no colour codes, and the CRL metrics are labelled by the file's name, not its path.
#[test]
fn demo_logs_are_plain_text_and_metric_labels_short() {
    let tmp = Scratch::new("logs");
    let demo = start_demo(&tmp);
    let pki = "certs-test/pki";
    assert_eq!(
        demo.bash(&status_script(pki, "sas-recette", "/sas/hello")),
        "200"
    );
    assert_eq!(
        demo.bash(&status_script(pki, "wrong-ou", "/sas/hello")),
        "403"
    );
    let metrics = demo.bash("curl -s http://127.0.0.1:9901/metrics");
    assert!(
        metrics.contains(r#"gateway_crl_age_seconds{source="intermediate.crl"}"#),
        "{metrics}"
    );
    assert!(!metrics.contains(r#"source="/"#), "{metrics}");

    // The access lines are written after the answers: wait for both.
    let started = Instant::now();
    while demo.stdout().matches("latency_ms=").count() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}",
            demo.stdout()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let logs = demo.stdout();
    assert!(
        !logs.contains('\u{1b}'),
        "ANSI codes written to a pipe:\n{logs}"
    );
    assert!(!logs.contains("Some("), "{logs}");
    assert!(
        logs.contains(&format!("addr=127.0.0.1:{}", demo.port(8443))),
        "{logs}"
    );
    assert!(logs.contains("next_update=2045-01-01T00:00:00Z"), "{logs}");
    // The CRL's log lines name it as its metrics do: the file's name, not a path of the
    // machine that built or runs the gateway.
    assert!(logs.contains("source=intermediate.crl "), "{logs}");
    assert!(!logs.contains("source=/"), "{logs}");
    for latency in logs.split("latency_ms=").skip(1) {
        let value = latency.split_whitespace().next().unwrap();
        let decimals = value.split_once('.').map_or(0, |(_, d)| d.len());
        assert!(decimals <= 3, "latency_ms={value} is not rounded:\n{logs}");
        assert!(value.parse::<f64>().is_ok(), "latency_ms={value}");
    }
}

/// The built binary, copied alone elsewhere and started from an unrelated directory, runs the
/// demo with its embedded files; `POST /reload` reloads the configuration it wrote, and the
/// files are removed when it stops.
#[test]
fn a_copied_binary_runs_the_demo_from_anywhere_and_reloads_its_own_file() {
    let scratch = Scratch::new("copied");
    let bin = scratch.0.join("bin");
    let cwd = scratch.0.join("elsewhere");
    let tmp = scratch.0.join("tmp");
    for dir in [&bin, &cwd, &tmp] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let binary = bin.join("gateway");
    std::fs::copy(env!("CARGO_BIN_EXE_gateway"), &binary).unwrap();
    let mut demo = start_demo_at(&binary, &cwd, &tmp);
    let files = demo.files_dir();
    assert!(files.starts_with(&tmp), "{}", files.display());
    let pki = files.join("certs-test/pki");
    let pki = pki.to_str().unwrap();

    // The embedded PKI: the listener's certificate and anchors, the CRL (the revoked client is
    // refused), the fake SAS and the DMP stand-in with the medecin card's agent.
    assert_eq!(
        demo.bash(&status_script(pki, "sas-recette", "/sas/hello")),
        "200"
    );
    assert_eq!(
        demo.bash(&status_script(pki, "revoked", "/sas/hello")),
        "000"
    );
    // The README's DMP call: its first command (the second, a refused agent, meets an HTTP/2
    // reset now and then: see the_readme_calls_work_against_gateway_demo).
    let block = readme_block("P=certs-test/pki; APP=");
    let first_call = block
        .split("\n# an agent outside")
        .next()
        .unwrap()
        .replacen("P=certs-test/pki", &format!("P={pki}"), 1);
    let out = demo.bash(&first_call);
    assert!(
        out.contains("card=\"899700000017/MEDECIN0001 Jean (TEST)\""),
        "{out}"
    );
    let out = demo.bash(&format!(
        "P={pki}; curl -s -o /dev/null -w '%{{http_code}}' \
         --cacert $P/ca-bundle.pem --cert $P/clients/internal-app.pem \
         --key $P/clients/internal-app.key -H 'Content-Type: application/json' \
         -X POST https://localhost:8443/internal/sas/appointments \
         -d '{{\"id\":\"0b5d7c1e-6f7a-4c1d-9d3e-1a2b3c4d5e6f\",\"operator\":{{\"national_id\":\"3456780581/11242343\"}},\
         \"practitioner\":\"810002909371\",\"start\":\"2030-09-04T14:00:00+02:00\",\
         \"end\":\"2030-09-04T14:20:00+02:00\",\"status\":\"booked\"}}'"
    ));
    assert!(out.starts_with('2'), "INT_R03 to the fake SAS: {out}");

    // Reload reads the file in the demo's directory: as written, it reloads; broken, it is
    // refused naming that file; restored, it reloads again.
    let reload = "curl -s -X POST http://127.0.0.1:9901/reload";
    assert!(demo.bash(reload).contains("reloaded"));
    let config = files.join("config/demo.yaml");
    let yaml = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{yaml}\nno_such_key: 1\n")).unwrap();
    let out = demo.bash(reload);
    assert!(
        out.contains(&config.display().to_string()) && out.contains("no_such_key"),
        "{out}"
    );
    std::fs::write(&config, yaml).unwrap();
    assert!(demo.bash(reload).contains("reloaded"));

    // SIGTERM: a graceful stop, and the demo's files are gone.
    let pid = demo.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = demo.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    assert!(!files.exists(), "{} left behind", files.display());
}

/// A port of the demo that something else holds: the demo exits 69 naming the port and what
/// needed it, and says how to run beside it.
#[test]
fn a_taken_port_makes_the_demo_fail_naming_it() {
    let tmp = Scratch::new("taken");
    let _one_at_a_time = STARTING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let offset = free_offset();
    let sas = 18443 + offset;
    let _holder = std::net::TcpListener::bind(("127.0.0.1", sas)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["demo", "--ports-offset", &offset.to_string()])
        .env("TMPDIR", &tmp.0)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{stderr}");
    assert!(
        stderr.contains(&format!("port {sas} (the fake SAS)")),
        "{stderr}"
    );
    assert!(stderr.contains("--ports-offset N"), "{stderr}");
    // Nothing else was started, and nothing was written.
    assert_eq!(std::fs::read_dir(&tmp.0).unwrap().count(), 0, "{stderr}");
}
