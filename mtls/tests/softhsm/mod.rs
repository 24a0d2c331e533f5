//! A SoftHSM token for PKCS#11 tests (Debian `softhsm2`), shared by `mtls/tests/pkcs11.rs` and
//! the gateway's `tests/tests/outbound_pkcs11.rs` (included there by path): a token initialised
//! in a temporary directory with one key imported, and the child-process runner that gives a
//! test `SOFTHSM2_CONF` without `set_var`.
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian puts the module (`dpkg -L softhsm2`), newest layout first.
pub const MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
];
pub const TOKEN: &str = "test";
pub const PIN: &str = "1234";
pub const KEY_LABEL: &str = "card-key";

pub fn module() -> PathBuf {
    let found = MODULES.iter().map(PathBuf::from).find(|p| p.exists());
    found.unwrap_or_else(|| {
        panic!(
            "softhsm2 is not installed (no libsofthsm2.so in {MODULES:?}): \
             `apt-get install softhsm2` (scripts/test.sh does it)"
        )
    })
}

/// A SoftHSM token directory with its configuration file.
pub struct Hsm {
    pub dir: tempfile::TempDir,
    pub conf: PathBuf,
}

pub fn softhsm2_util(hsm: &Hsm, args: &[&str]) {
    let out = Command::new("softhsm2-util")
        .args(args)
        .env("SOFTHSM2_CONF", &hsm.conf)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "softhsm2-util cannot run ({e}): softhsm2 is not installed: \
                 `apt-get install softhsm2` (scripts/test.sh does it)"
            )
        });
    assert!(
        out.status.success(),
        "softhsm2-util {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh token `test` (PIN 1234) holding `key_pem` (PKCS#8 PEM) as `card-key`.
pub fn token_with_key(key_pem: &Path) -> Hsm {
    module();
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let hsm = Hsm { dir, conf };
    softhsm2_util(
        &hsm,
        &[
            "--init-token",
            "--free",
            "--label",
            TOKEN,
            "--pin",
            PIN,
            "--so-pin",
            "5678",
        ],
    );
    let key = key_pem.to_str().unwrap();
    softhsm2_util(
        &hsm,
        &[
            "--import", key, "--token", TOKEN, "--label", KEY_LABEL, "--id", "01", "--pin", PIN,
        ],
    );
    hsm
}

/// Runs `child::<name>` in a child process with the token's configuration (and `extra`
/// variables), and fails with its output if it fails or did not run.
pub fn run_child(name: &str, hsm: &Hsm, extra: &[(&str, &Path)]) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            &format!("child::{name}"),
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("SOFTHSM2_CONF", &hsm.conf)
        .env("MTLS_TEST_PKCS11_MODULE", module())
        .env("MTLS_TEST_DIR", hsm.dir.path());
    for (k, v) in extra {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child::{name} failed:\n{stdout}\n{stderr}"
    );
    eprint!("{stderr}");
}
