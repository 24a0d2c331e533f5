//! `gateway demo` as a user runs it: the binary on its fixed loopback ports, called with the
//! README's own commands (extracted from README.md, so the README cannot drift from what works).
//! Needs `curl`, `openssl` and `bash`, as the README does.
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Kills the demo at the end of the test, whatever happens.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_demo() -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("demo")
        .current_dir(ROOT)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let demo = Demo(child);
    // The tour is printed once everything listens.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("gateway demo is running") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60)).expect(
        "`gateway demo` did not print its tour within 60 s (ports 8443, 9901, 18080, 18443, 18444, 18445 taken?)",
    );
    demo
}

/// The README's shell block that starts with the line `first_line`, up to the end of its
/// fenced block.
fn readme_block(first_line: &str) -> String {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let start = readme
        .find(first_line)
        .unwrap_or_else(|| panic!("README.md has no line `{first_line}`"));
    let rest = &readme[start..];
    let end = rest.find("\n```").unwrap();
    rest[..end].to_owned()
}

fn bash(script: &str) -> String {
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(ROOT)
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

#[test]
fn the_readme_calls_work_against_gateway_demo() {
    let _demo = start_demo();

    // ASPOne alert service: the README's getAlertConfig call and its WSDL address.
    let out = bash(&readme_block("PKI=certs-test/pki; SECRET=partner-a-secret"));
    assert!(
        out.contains("<responseType>SUCCESS</responseType>")
            && out.contains("<accountName>CPT01</accountName>"),
        "{out}"
    );
    assert!(
        out.contains(r#"<soap:address location="https://localhost:8443/aspone/alert"/>"#),
        "{out}"
    );

    // SAS FHIR flows: the README's whole block (searches, SOS, INT_R02 writes, INT_R03 to the
    // demo's fake SAS).
    let out = bash(&readme_block("P=certs-test/pki\nSAS="));
    for expected in [
        r#""type":"searchset""#,
        r#""total":0"#,
        "HTTP/2 201",
        "HTTP/2 200",
        "location: https://localhost:8443/sas/recette/fhir/Practitioner/",
    ] {
        assert!(out.contains(expected), "no `{expected}` in:\n{out}");
    }
    assert!(!out.contains("OperationOutcome"), "{out}");

    // Document exchanges: the README's block (upload, wrong digest, download, trail, verify).
    let block = readme_block("P=certs-test/pki; DOC=");
    let out = bash(&format!(
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

    // The sealing service: the README's signed request, then its replay.
    let out = bash(&readme_block("P=certs-test/pki; KEY="));
    assert!(out.contains("sealed by the demo token"), "{out}");
    assert!(
        out.contains("urn:gateway:problem:signature-replay"),
        "{out}"
    );

    // Outbound to the DMP with the medecin card through its agent; a foreign agent refused.
    let out = bash(&readme_block("P=certs-test/pki; APP="));
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
    let curl = |client: &str, path: &str| {
        format!(
            "curl -s -o /dev/null -w '%{{http_code}}' --cacert {pki}/ca-bundle.pem \
             --cert {pki}/clients/{client}.pem --key {pki}/clients/{client}.key \
             https://localhost:8443{path} || true"
        )
    };
    assert_eq!(bash(&curl("sas-recette", "/sas/hello")), "200");
    assert_eq!(bash(&curl("wrong-ou", "/sas/hello")), "403");
    // Refused in the handshake: curl reports no HTTP status.
    assert_eq!(bash(&curl("revoked", "/sas/hello")), "000");
}
