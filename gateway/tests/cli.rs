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

/// Every `config/*.yaml`, as the README's `check-config config/*.yaml` expands.
fn example_files() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../config");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml"))
        .map(|name| format!("config/{name}"))
        .collect();
    files.sort();
    files
}

#[test]
fn check_config_passes_the_readme_command_without_the_secrets_and_names_them() {
    let mut cmd = gateway();
    cmd.arg("check-config").args(example_files());
    for (var, _) in gateway::cli::DEMO_SECRETS {
        cmd.env_remove(var);
    }
    // Read with a fallback of its own (the trail instance): never reported.
    cmd.env_remove("HOSTNAME");
    let out = cmd.output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("config/demo.yaml: valid"), "{stdout}");
    for (var, _) in gateway::cli::DEMO_SECRETS {
        assert!(
            stderr.contains(&format!(
                "config/demo.yaml: warning: `{var}` is not set: the file is valid, starting it needs the variable"
            )),
            "no warning for {var}:\n{stderr}"
        );
    }
    assert_eq!(
        stderr.lines().count(),
        gateway::cli::DEMO_SECRETS.len(),
        "{stderr}"
    );
    assert!(!stderr.contains("HOSTNAME"), "{stderr}");

    // `--require-env`: what `run` would say.
    let mut cmd = gateway();
    cmd.args(["check-config", "--require-env", "config/demo.yaml"]);
    for (var, _) in gateway::cli::DEMO_SECRETS {
        cmd.env_remove(var);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "config/demo.yaml: trails.documents.key_env: environment variable `DEMO_TRAIL_KEY` is not set"
        ),
        "{stderr}"
    );
}

/// A file whose secrets must look a certain way (a Redis URL, HMAC and trail keys of 32 bytes or
/// more): unset, they are warnings; set, their values are checked.
#[test]
fn check_config_stand_ins_pass_every_secret_check_and_set_values_are_still_checked() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let dir = std::env::temp_dir().join(format!("gw-cli-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("secrets.yaml");
    std::fs::write(
        &file,
        format!(
            "listeners:
  - name: edge
    bind: 127.0.0.1:0
    tls:
      cert: {root}/certs-test/pki/server.pem
      key: {root}/certs-test/pki/server.key
upstreams:
  core:
    url: http://127.0.0.1:1
routes:
  - name: seal
    path_prefix: /seal
    handler: proxy
    upstream: core
    allow_anonymous: true
    signature:
      keys:
        app: CLI_TEST_HMAC_KEY
    trail: audit
trails:
  audit:
    file: trail.jsonl
    key_env: CLI_TEST_TRAIL_KEY
    instance: test
state:
  backend: redis
  url_env: CLI_TEST_REDIS_URL
"
        ),
    )
    .unwrap();
    let vars = [
        "CLI_TEST_HMAC_KEY",
        "CLI_TEST_TRAIL_KEY",
        "CLI_TEST_REDIS_URL",
    ];
    let mut cmd = gateway();
    cmd.arg("check-config").arg(&file);
    for var in vars {
        cmd.env_remove(var);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for var in vars {
        assert!(
            stderr.contains(&format!("warning: `{var}` is not set: the file is valid")),
            "{stderr}"
        );
    }

    // A value that is set is the one checked: a short key is still an error.
    let out = gateway()
        .arg("check-config")
        .arg(&file)
        .env("CLI_TEST_HMAC_KEY", "too-short")
        .env("CLI_TEST_REDIS_URL", "http://not-redis")
        .env_remove("CLI_TEST_TRAIL_KEY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(
        stderr.contains(
            "routes[0].signature.keys.app: `CLI_TEST_HMAC_KEY` holds fewer than 32 bytes"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "state.url_env: `CLI_TEST_REDIS_URL` does not hold a redis:// or rediss:// URL"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: `CLI_TEST_TRAIL_KEY` is not set: starting it needs the variable"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_errors_exit_64_and_help_and_version_exit_0() {
    for args in [
        &["bogus"][..],
        &[][..],
        &["run"][..],
        &["check-config"][..],
        &["demo", "--ports-offset", "50000"][..],
        &["demo", "--no-such-flag"][..],
    ] {
        let out = gateway().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(64), "gateway {args:?}");
        assert!(!out.stderr.is_empty(), "gateway {args:?} printed no error");
    }
    for args in [
        &["--help"][..],
        &["-h"][..],
        &["--version"][..],
        &["demo", "--help"][..],
    ] {
        let out = gateway().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "gateway {args:?}");
        assert!(!out.stdout.is_empty(), "gateway {args:?} printed nothing");
    }
}

#[test]
fn help_says_exit_codes_signals_admin_endpoints_environment_and_demo_ports() {
    let out = gateway().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "Exit codes:",
        "64  usage error",
        "65  `audit verify`: the trail does not verify",
        "69  cannot start",
        "SIGTERM, SIGINT",
        "SIGHUP",
        "GET  /healthz",
        "GET  /readyz",
        "GET  /metrics",
        "GET  /revocation",
        "POST /revocation/refresh",
        "POST /reload",
        "GET  /trail",
        "TMPDIR",
        "--ports-offset N",
    ] {
        assert!(
            help.contains(expected),
            "no `{expected}` in --help:\n{help}"
        );
    }
    for (var, _) in gateway::cli::DEMO_SECRETS {
        assert!(help.contains(var), "no `{var}` in --help:\n{help}");
    }
    for d in gateway::cli::DEMO_PORTS {
        assert!(
            help.contains(&d.port.to_string()),
            "no port {} in --help:\n{help}",
            d.port
        );
    }
    let out = gateway().args(["demo", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--ports-offset <N>"), "{help}");
    assert!(help.contains("18445 DMP stand-in"), "{help}");
}

/// The README's `check-config config/*.yaml` line, run as written (shell glob included) on a
/// machine where the demo's secrets are not set.
#[test]
fn the_readme_check_config_command_passes_as_written() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.contains("-- check-config config/*.yaml"))
        .expect("README.md has no `check-config config/*.yaml` line");
    let command = line.split('#').next().unwrap().trim().replacen(
        "cargo run -p gateway --",
        env!("CARGO_BIN_EXE_gateway"),
        1,
    );
    let mut cmd = Command::new("bash");
    cmd.args(["-c", &command]).current_dir(root);
    for (var, _) in gateway::cli::DEMO_SECRETS {
        cmd.env_remove(var);
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "`{command}`:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
