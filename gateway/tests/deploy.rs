//! The deployment files under deploy/ (Kubernetes overlays, the systemd unit), checked by
//! tests/python/deploy_check.py: rendered with `kubectl kustomize`, validated against the
//! Kubernetes schemas (`kubernetes-validate`, strict), the Deployment against the gateway.yaml
//! it mounts (drain timing, probes, ports, secrets, files), that gateway.yaml through this
//! binary's `check-config`, and the unit through `systemd-analyze verify`.
//!
//! Fails (does not skip) without python3, kubectl or systemd-analyze; the script installs
//! `kubernetes-validate` with pip when it is missing (scripts/requirements-test.txt).
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn deploy_check(args: &[&str]) -> Output {
    Command::new("python3")
        .arg(Path::new(ROOT).join("tests/python/deploy_check.py"))
        .args(["--gateway", env!("CARGO_BIN_EXE_gateway")])
        .args(args)
        .current_dir(ROOT)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); install Python 3"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn deployment_files_pass_their_checks() {
    let out = deploy_check(&[]);
    let said = text(&out);
    assert!(out.status.success(), "deploy_check.py failed:\n{said}");
    // Every overlay and the unit were checked, not an empty list.
    for scope in ["recette", "preproduction", "production", "gateway.service"] {
        assert!(
            said.contains(&format!("ok    {scope}: ")),
            "{scope} not checked:\n{said}"
        );
    }
}

/// A scratch directory of this test, removed at the end.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Replaces `from` by `to` in `file`, which must hold it: a break that silently does not happen
/// would make the test pass for nothing.
fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{} has no `{from}`", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// The checks are not vacuous: a copy of deploy/kubernetes with three mistakes an operator could
/// make fails, and each is named.
#[test]
fn a_broken_overlay_fails_naming_each_mistake() {
    let scratch = Scratch(std::env::temp_dir().join(format!(
        "gw-deploy-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    )));
    let kube = scratch.0.join("kubernetes");
    copy_tree(&Path::new(ROOT).join("deploy/kubernetes"), &kube);
    let deployment = kube.join("base/deployment.yaml");
    // 1. Less time than preStop (5s) + drain_period (10s) + grace_period (30s).
    edit(
        &deployment,
        "terminationGracePeriodSeconds: 60",
        "terminationGracePeriodSeconds: 30",
    );
    // 2. The configuration file mounted alone with subPath: ConfigMap updates never reach it.
    edit(
        &deployment,
        "mountPath: /etc/gateway/config\n",
        "mountPath: /etc/gateway/config/gateway.yaml\n              subPath: gateway.yaml\n",
    );
    // 3. gateway.yaml names a variable the Deployment does not set.
    edit(
        &kube.join("overlays/recette/gateway.yaml"),
        "url_env: GATEWAY_REDIS_URL ",
        "url_env: GATEWAY_REDIS_URI ",
    );

    let overlay = kube.join("overlays/recette");
    let out = deploy_check(&["--overlay", overlay.to_str().unwrap(), "--no-unit"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    for expected in [
        "FAIL  recette: drain: terminationGracePeriodSeconds 30 < preStop sleep 5 + drain_period 10 \
         + grace_period 30 = 45",
        "FAIL  recette: config: ConfigMap gateway-config-",
        "with subPath `gateway.yaml`",
        "FAIL  recette: env: GATEWAY_REDIS_URI (state.url_env) is named by gateway.yaml but the \
         Deployment does not provide it",
    ] {
        assert!(said.contains(expected), "no `{expected}` in:\n{said}");
    }
    // What was not broken still passes: the script went on after the first failure.
    assert!(
        said.contains("ok    recette: schema: 8 documents valid"),
        "{said}"
    );
}
