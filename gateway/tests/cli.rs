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
