//! The binary's command line: `check-config` exit codes and messages.
#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Command;

fn gateway() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gateway"));
    cmd.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    cmd
}

#[test]
fn check_config_accepts_every_example() {
    let out = gateway()
        .args(["check-config", "config/demo.yaml", "config/recette.yaml"])
        // The demo's alert partner takes its secrets from the environment, as production does.
        .envs(gateway::cli::DEMO_SECRETS.iter().copied())
        .args(["config/preproduction.yaml", "config/production.yaml"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("config/production.yaml: valid"), "{stdout}");
}

#[test]
fn check_config_exits_64_and_names_file_key_and_reason() {
    let out = gateway()
        .args(["check-config", "tests/broken-configs/unknown-field.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim(),
        "tests/broken-configs/unknown-field.yaml: line 9 column 7: unknown field \
         `requre_client_cert`, expected one of cert, key, client_auth, session_cache_size"
    );
}

#[test]
fn run_with_an_invalid_file_exits_64() {
    let out = gateway()
        .args(["run", "--config", "tests/broken-configs/many-errors.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 20);
}

#[test]
fn audit_verify_exits_0_on_a_whole_trail_and_65_naming_the_first_broken_line() {
    let key = "cli-test-trail-key-0123456789abcdef";
    let mut chain = integrity::Chain::new(integrity::Key::new(key.as_bytes()).unwrap(), "cli");
    let lines: Vec<String> = (0..3)
        .map(|i| {
            let entry = integrity::Entry::new(
                "2026-12-01T10:00:00Z",
                format!("req-{i}"),
                "documents",
                integrity::Action::Upload,
                integrity::Outcome::Stored,
            );
            chain.seal(entry).unwrap()
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("gw-cli-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("trail.jsonl");
    let run = |text: String| {
        std::fs::write(&file, text).unwrap();
        gateway()
            .args(["audit", "verify", "--key-env", "CLI_TRAIL_KEY"])
            .arg(&file)
            .env("CLI_TRAIL_KEY", key)
            .output()
            .unwrap()
    };
    let out = run(lines.join("\n") + "\n");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: 3 records"));
    let tampered = lines[1].replacen("req-1", "req-X", 1);
    let out = run([lines[0].clone(), tampered, lines[2].clone()].join("\n") + "\n");
    assert_eq!(out.status.code(), Some(65));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 2: MAC does not match"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
