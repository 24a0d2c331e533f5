"""Checks the deployment files under deploy/: the Kubernetes overlays and the systemd unit.

Usage: python3 deploy_check.py [--gateway BIN] [--overlay DIR]... [--unit FILE | --no-unit]

Without --overlay, every directory of deploy/kubernetes/overlays/ is checked; --overlay (given
once or more) checks those directories instead, e.g. a copy with something broken on purpose
(gateway/tests/deploy.rs does that, so that the checks cannot pass vacuously). The gateway
binary is --gateway, else $GATEWAY_BIN.

For each overlay:
  1. render     `kubectl kustomize DIR`;
  2. schema     every rendered document, and ../../base/secrets.example.yaml, against the
                Kubernetes OpenAPI schemas of the newest version `kubernetes-validate` bundles,
                strict (an unknown field is an error);
  3. the rendered Deployment against the gateway.yaml it mounts (read from the rendered
     ConfigMap, what the pods will really see):
     config     the --config file is in a ConfigMap mounted as a directory (no subPath, which
                never sees an update);
     drain      terminationGracePeriodSeconds >= preStop sleep + shutdown.drain_period +
                shutdown.grace_period;
     probes     liveness GET /healthz and readiness GET /readyz on admin.bind's port, which binds
                all addresses; no Service exposes it;
     ports      each listener binds all addresses on a containerPort; each Service targets one;
     env        every `*_env` variable (and signature.keys value) comes from a Secret key
                (secretKeyRef, or envFrom of a Secret holding it) listed in secrets.example.yaml;
     files      every /etc/gateway/... path is in a mounted volume, under a key its Secret (in
                secrets.example.yaml) or ConfigMap holds; trail files are on a writable volume;
     fleet      replicas within the HPA's bounds, and the PDB's minAvailable below its minimum;
  4. check-config  the gateway's own `check-config` on that gateway.yaml, its /etc/gateway/...
                paths rewritten to files of the test PKI (certs-test/pki/) and the variables it
                names unset (warnings, not errors): exit 0 expected.
Then the unit (deploy/systemd/gateway.service):
  5. systemd    `systemd-analyze verify` (on a copy whose binary path is the gateway under test,
                since verify needs ExecStart's binary to exist): no error, no warning; the stop
                timeout covers the overlays' drain; `systemd-analyze security --offline=yes`
                exposure at most MAX_EXPOSURE.

One line per check (`ok` or `FAIL` and the reason); exit 1 when one failed.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PKI = ROOT / "certs-test" / "pki"

# The test PKI file standing in for each file the overlays mount (step 4). A path under
# /etc/gateway missing here fails the check, naming it: add its stand-in.
STAND_INS = {
    "/etc/gateway/tls/tls.crt": "server.pem",
    "/etc/gateway/tls/tls.key": "server.key",
    # IGC Santé TEST (recette, preproduction) and production hierarchies, as ANS names them
    "/etc/gateway/ca/ACR-EL-TEST.cer": "root-ca.cer",
    "/etc/gateway/ca/ACI-EL-ORG-TEST.cer": "intermediate-ca.cer",
    "/etc/gateway/ca/ACR-EL.cer": "root-ca.cer",
    "/etc/gateway/ca/ACI-EL-ORG.cer": "intermediate-ca.cer",
    "/etc/gateway/ca/internal-ca.pem": "ca-bundle.pem",
    "/etc/gateway/ca/sas-server-ca.pem": "ca-bundle.pem",
    "/etc/gateway/sas-client/tls.crt": "clients/vendor.pem",
    "/etc/gateway/sas-client/tls.key": "clients/vendor.key",
    "/etc/gateway/redis/ca.crt": "root-ca.pem",
}

# Keys whose values start with `/` but are URL paths, not files.
URL_PATH_KEYS = {"path_prefix", "path"}

# `systemd-analyze security` rates 0 (locked down) to 10; the unit measures 1.2 on systemd 252.
# Above this, a hardening line was lost.
MAX_EXPOSURE = 2.0


class Report:
    def __init__(self):
        self.failures = 0

    def ok(self, scope, what):
        print(f"ok    {scope}: {what}", flush=True)

    def fail(self, scope, what):
        self.failures += 1
        print(f"FAIL  {scope}: {what}", flush=True)

    def check(self, scope, condition, good, bad):
        if condition:
            self.ok(scope, good)
        else:
            self.fail(scope, bad)
        return condition


def seconds(text):
    """A gateway duration (`500ms`, `10s`, `5m`, `1h`) in seconds."""
    m = re.fullmatch(r"\s*(\d+)\s*(ms|s|m|h)\s*", str(text))
    if not m:
        raise ValueError(f"`{text}` is not a duration")
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def walk(node, key_path=()):
    """(key path, key, value) of every scalar of a YAML tree; list items carry their parent's key."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, key_path + (str(k),))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, key_path[:-1] + (f"{key_path[-1]}[{i}]",) if key_path else (f"[{i}]",))
    else:
        yield key_path, (key_path[-1].split("[")[0] if key_path else ""), node


def dotted(key_path):
    return ".".join(key_path).replace(".[", "[")


def env_names(config):
    """{variable: key} for every variable gateway.yaml names: `*_env` keys and signature.keys."""
    names = {}
    for key_path, key, value in walk(config):
        if key.endswith("_env") and isinstance(value, str):
            names.setdefault(value, dotted(key_path))
        # routes[].signature.keys: {keyid: VARIABLE}
        if key_path[-3:-1] == ("signature", "keys") and isinstance(value, str):
            names.setdefault(value, dotted(key_path))
    return names


def file_paths(config):
    """(key, path) of every absolute file path in gateway.yaml."""
    for key_path, key, value in walk(config):
        if isinstance(value, str) and value.startswith("/") and key not in URL_PATH_KEYS:
            yield dotted(key_path), value


def under(path, mount):
    return path == mount or path.startswith(mount.rstrip("/") + "/")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def load_validator(report):
    try:
        import kubernetes_validate  # noqa: F401
    except ImportError:
        # scripts/test.sh installs scripts/requirements-test.txt; this covers a direct run.
        line = next(l for l in (ROOT / "scripts" / "requirements-test.txt").read_text().splitlines()
                    if l.startswith("kubernetes-validate"))
        out = run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", line])
        if out.returncode != 0:
            report.fail("setup", f"cannot install {line}: {out.stderr.strip()}")
            return None, None
    import kubernetes_validate
    from kubernetes_validate.utils import latest_version
    return kubernetes_validate, latest_version()


def validate_documents(report, scope, docs, kv, version, what):
    bad = []
    for doc in docs:
        name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            kv.validate(doc, version, strict=True)
        except kv.ValidationError as e:
            where = ".".join(str(p) for p in e.absolute_path)
            bad.append(f"{name}: {where}: {e.message}")
        except Exception as e:  # SchemaNotFoundError and the like carry .message
            bad.append(f"{name}: {getattr(e, 'message', e)}")
    report.check(scope, not bad,
                 f"schema: {len(docs)} {what} valid against Kubernetes {version} (strict)",
                 "schema: " + "; ".join(bad))


def secret_examples(path):
    """{secret name: (type, set of keys)} from secrets.example.yaml."""
    out = {}
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    for d in docs:
        if d.get("kind") == "Secret":
            keys = set(d.get("stringData", {}) or {}) | set(d.get("data", {}) or {})
            out[d["metadata"]["name"]] = (d.get("type", "Opaque"), keys)
    return docs, out


def probe_port(container, probe):
    port = probe.get("httpGet", {}).get("port")
    if isinstance(port, str):
        for p in container.get("ports", []):
            if p.get("name") == port:
                return p["containerPort"]
        return None
    return port


def split_bind(bind):
    host, _, port = str(bind).rpartition(":")
    return host.strip("[]"), int(port)


def check_overlay(report, overlay, kv, version, gateway_bin, secrets_path, drains):
    scope = overlay.name
    render = run(["kubectl", "kustomize", str(overlay)])
    if render.returncode != 0:
        report.fail(scope, f"render: kubectl kustomize {overlay}: {render.stderr.strip()}")
        return
    docs = [d for d in yaml.safe_load_all(render.stdout) if d]
    kinds = sorted({d["kind"] for d in docs})
    report.ok(scope, f"render: {len(docs)} documents ({', '.join(kinds)})")

    if kv:
        validate_documents(report, scope, docs, kv, version, "documents")

    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    deployments = by_kind.get("Deployment", [])
    if len(deployments) != 1:
        report.fail(scope, f"expected one Deployment, rendered {len(deployments)}")
        return
    deployment = deployments[0]
    pod = deployment["spec"]["template"]["spec"]
    containers = [c for c in pod["containers"] if "--config" in (c.get("command", []) + c.get("args", []))]
    if len(containers) != 1:
        report.fail(scope, "config: no container runs the gateway with `--config FILE`")
        return
    container = containers[0]
    argv = container.get("command", []) + container.get("args", [])
    config_path = argv[argv.index("--config") + 1]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = container.get("volumeMounts", [])

    # --- the ConfigMap holding gateway.yaml, mounted as a directory ---
    config_mounts = [m for m in mounts if under(config_path, m["mountPath"])]
    if not config_mounts:
        report.fail(scope, f"config: {config_path} (--config) is in no volumeMount")
        return
    mount = max(config_mounts, key=lambda m: len(m["mountPath"]))
    volume = volumes.get(mount["name"], {})
    if "configMap" not in volume:
        report.fail(scope, f"config: {config_path} is on volume `{mount['name']}`, not a ConfigMap")
        return
    cm_name = volume["configMap"]["name"]
    if "subPath" in mount or "subPathExpr" in mount:
        report.fail(scope, f"config: ConfigMap {cm_name} is mounted at {mount['mountPath']} with "
                           f"subPath `{mount.get('subPath', mount.get('subPathExpr'))}`: a subPath "
                           f"mount never sees an update; mount the directory")
        key = mount.get("subPath", "")
    else:
        rel = config_path[len(mount["mountPath"].rstrip("/")) + 1:]
        items = {i["path"]: i["key"] for i in volume["configMap"].get("items", [])}
        key = items.get(rel, rel) if items else rel
        report.ok(scope, f"config: {config_path} is key `{key}` of ConfigMap {cm_name}, "
                         f"mounted as the directory {mount['mountPath']} (no subPath)")
    configmaps = {c["metadata"]["name"]: c for c in by_kind.get("ConfigMap", [])}
    text = configmaps.get(cm_name, {}).get("data", {}).get(key)
    if text is None:
        report.fail(scope, f"config: ConfigMap {cm_name} with key `{key}` is not among the rendered documents")
        return
    config = yaml.safe_load(text)

    # --- drain timing ---
    shutdown = config.get("shutdown") or {}
    missing = [k for k in ("drain_period", "grace_period") if k not in shutdown]
    tgps = pod.get("terminationGracePeriodSeconds", 30)
    pre_stop = (container.get("lifecycle") or {}).get("preStop") or {}
    sleep = 0
    if "sleep" in pre_stop:
        sleep = pre_stop["sleep"]["seconds"]
    elif "exec" in pre_stop:
        m = re.search(r"\bsleep\s+(\d+)", " ".join(pre_stop["exec"].get("command", [])))
        sleep = int(m.group(1)) if m else 0
    if missing:
        report.fail(scope, "drain: gateway.yaml sets no shutdown." + " nor shutdown.".join(missing)
                    + ": the drain cannot be checked against terminationGracePeriodSeconds")
    else:
        drain, grace = seconds(shutdown["drain_period"]), seconds(shutdown["grace_period"])
        drains.append((scope, drain + grace))
        total = sleep + drain + grace
        report.check(scope, tgps >= total,
                     f"drain: terminationGracePeriodSeconds {tgps} >= preStop sleep {sleep} + "
                     f"drain_period {drain:g} + grace_period {grace:g} = {total:g}",
                     f"drain: terminationGracePeriodSeconds {tgps} < preStop sleep {sleep} + "
                     f"drain_period {drain:g} + grace_period {grace:g} = {total:g}: the kubelet "
                     f"kills the gateway while requests may still be in flight")
    report.check(scope, sleep > 0, f"drain: preStop sleeps {sleep}s before SIGTERM",
                 "drain: no preStop sleep: SIGTERM may arrive before the Service's endpoints "
                 "and the load balancer have dropped the pod")

    # --- probes on the admin listener ---
    admin_bind = (config.get("admin") or {}).get("bind", "127.0.0.1:9901")
    admin_host, admin_port = split_bind(admin_bind)
    report.check(scope, admin_host in ("0.0.0.0", "::"),
                 f"probes: admin.bind {admin_bind} reachable by the kubelet",
                 f"probes: admin.bind {admin_bind} is not reachable from outside the pod: the "
                 f"kubelet's probes would fail")
    for kind, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        probe = container.get(kind)
        if not probe:
            report.fail(scope, f"probes: no {kind}")
            continue
        got_path, got_port = probe.get("httpGet", {}).get("path"), probe_port(container, probe)
        report.check(scope, got_path == path and got_port == admin_port,
                     f"probes: {kind} GET {got_path} on port {got_port} (admin.bind)",
                     f"probes: {kind} is GET {got_path} on port {got_port}; expected GET {path} "
                     f"on admin.bind's port {admin_port}")
    if container.get("startupProbe"):
        probe = container["startupProbe"]
        got_path, got_port = probe.get("httpGet", {}).get("path"), probe_port(container, probe)
        report.check(scope, got_path in ("/healthz", "/readyz") and got_port == admin_port,
                     f"probes: startupProbe GET {got_path} on port {got_port} (admin.bind)",
                     f"probes: startupProbe is GET {got_path} on port {got_port}; expected "
                     f"/healthz on admin.bind's port {admin_port}")

    # --- listeners and Services ---
    container_ports = {p["containerPort"]: p.get("name") for p in container.get("ports", [])}
    named = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    listener_ports = set()
    for listener in config.get("listeners", []):
        host, port = split_bind(listener["bind"])
        listener_ports.add(port)
        report.check(scope, host in ("0.0.0.0", "::") and port in container_ports,
                     f"ports: listener `{listener['name']}` binds {listener['bind']}, containerPort "
                     f"`{container_ports.get(port)}`",
                     f"ports: listener `{listener['name']}` binds {listener['bind']}: expected all "
                     f"addresses on one of the containerPorts {sorted(container_ports)}")
    for service in by_kind.get("Service", []):
        for sp in service["spec"].get("ports", []):
            target = sp.get("targetPort", sp.get("port"))
            target = named.get(target) if isinstance(target, str) else target
            name = service["metadata"]["name"]
            report.check(scope, target in listener_ports and target != admin_port,
                         f"ports: Service {name} port {sp['port']} -> {target} (a listener)",
                         f"ports: Service {name} port {sp['port']} targets {target}, which is "
                         + ("the admin listener: never expose it"
                            if target == admin_port else "no listener of gateway.yaml"))

    # --- environment variables from Secrets ---
    _, secrets = secret_examples(secrets_path)
    env = {e["name"]: e for e in container.get("env", [])}
    env_from = [e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e]
    for var, key in sorted(env_names(config).items()):
        if var in env:
            source = (env[var].get("valueFrom") or {}).get("secretKeyRef")
            if not source:
                report.fail(scope, f"env: {var} ({key}) is given by value in the Deployment: a "
                                   f"secret must come from a Secret (secretKeyRef)")
            elif source["key"] not in secrets.get(source["name"], ("", set()))[1]:
                report.fail(scope, f"env: {var} ({key}) comes from Secret {source['name']} key "
                                   f"`{source['key']}`, which {secrets_path.name} does not list")
            else:
                report.ok(scope, f"env: {var} ({key}) from Secret {source['name']} key `{source['key']}`")
        else:
            holders = [s for s in env_from if var in secrets.get(s, ("", set()))[1]]
            report.check(scope, bool(holders),
                         f"env: {var} ({key}) from envFrom Secret {', '.join(holders)}",
                         f"env: {var} ({key}) is named by gateway.yaml but the Deployment does "
                         f"not provide it (no env entry, no envFrom Secret listing it in "
                         f"{secrets_path.name})")

    # --- files on volumes ---
    for key, path in file_paths(config):
        candidates = [m for m in mounts if under(path, m["mountPath"])]
        is_trail = key.startswith("trails.")
        if not path.startswith("/etc/gateway/") and not is_trail:
            continue
        if not candidates:
            report.fail(scope, f"files: {key} {path} is in no volumeMount "
                               f"({', '.join(m['mountPath'] for m in mounts)})")
            continue
        m = max(candidates, key=lambda c: len(c["mountPath"]))
        volume = volumes.get(m["name"], {})
        if is_trail:
            report.check(scope, not m.get("readOnly") and not ("secret" in volume or "configMap" in volume),
                         f"files: {key} {path} on writable volume `{m['name']}`",
                         f"files: {key} {path} is on read-only volume `{m['name']}`: the trail "
                         f"cannot be written")
            continue
        rel = path[len(m["mountPath"].rstrip("/")) + 1:]
        if "secret" in volume:
            name = volume["secret"]["secretName"]
            items = {i["path"]: i["key"] for i in volume["secret"].get("items", [])}
            skey = items.get(rel, rel) if items else rel
            known = secrets.get(name)
            report.check(scope, known is not None and skey in known[1],
                         f"files: {key} {path} is key `{skey}` of Secret {name}",
                         f"files: {key} {path} needs key `{skey}` of Secret {name}, which "
                         f"{secrets_path.name} does not list")
        elif "configMap" in volume:
            name = volume["configMap"]["name"]
            data = configmaps.get(name, {}).get("data", {})
            report.check(scope, rel in data, f"files: {key} {path} is key `{rel}` of ConfigMap {name}",
                         f"files: {key} {path}: ConfigMap {name} has no key `{rel}`")
        else:
            report.ok(scope, f"files: {key} {path} on volume `{m['name']}`")

    # --- the fleet: HPA, PDB, replicas ---
    hpas = by_kind.get("HorizontalPodAutoscaler", [])
    pdbs = by_kind.get("PodDisruptionBudget", [])
    if hpas:
        hpa = hpas[0]["spec"]
        low, high = hpa.get("minReplicas", 1), hpa["maxReplicas"]
        replicas = deployment["spec"].get("replicas", 1)
        report.check(scope, low <= replicas <= high,
                     f"fleet: replicas {replicas} within the HPA's {low}..{high}",
                     f"fleet: replicas {replicas} outside the HPA's {low}..{high}")
        for pdb in pdbs:
            floor = pdb["spec"].get("minAvailable")
            if isinstance(floor, int):
                report.check(scope, floor < low,
                             f"fleet: PDB minAvailable {floor} < HPA minReplicas {low} (drains proceed)",
                             f"fleet: PDB minAvailable {floor} >= HPA minReplicas {low}: a node drain "
                             f"can never evict a pod")

    # --- the gateway's own check ---
    check_config(report, scope, text, config, gateway_bin)


def check_config(report, scope, text, config, gateway_bin):
    if not gateway_bin:
        report.fail(scope, "check-config: no gateway binary (--gateway BIN or $GATEWAY_BIN)")
        return
    unknown = sorted({p for _, p in file_paths(config) if p.startswith("/etc/gateway/")} - set(STAND_INS))
    if unknown:
        report.fail(scope, f"check-config: no test PKI stand-in for {', '.join(unknown)} (add it to "
                           f"STAND_INS in {Path(__file__).name})")
        return
    with tempfile.TemporaryDirectory(prefix="deploy-check-") as tmp:
        # Text replacement, not a YAML round trip: the gateway reads the file as written
        # (quoting, comments, YAML 1.2 scalars).
        rewritten = re.sub(r"/etc/gateway/[^\s,\]\}\"'#]+",
                           lambda m: str(PKI / STAND_INS[m.group(0)]) if m.group(0) in STAND_INS else m.group(0),
                           text)
        rewritten = rewritten.replace("/var/lib/gateway/", f"{tmp}/var-lib-gateway/")
        (Path(tmp) / "var-lib-gateway" / "trail").mkdir(parents=True)
        path = Path(tmp) / f"{scope}-gateway.yaml"
        path.write_text(rewritten)
        env = {k: v for k, v in os.environ.items() if k not in env_names(config)}
        out = run([gateway_bin, "check-config", str(path)], env=env)
    said = (out.stdout + out.stderr).strip().replace(str(path), "gateway.yaml")
    report.check(scope, out.returncode == 0,
                 f"check-config: exit 0 ({said.splitlines()[0] if said else 'no output'}; "
                 f"unset variables as warnings: {sum('warning' in l for l in said.splitlines())})",
                 f"check-config: exit {out.returncode}:\n      " + "\n      ".join(said.splitlines()))


def check_unit(report, unit, gateway_bin, drains):
    scope = unit.name
    text = unit.read_text()
    if shutil.which("systemd-analyze") is None:
        report.fail(scope, "systemd-analyze not found (Debian: apt-get install systemd)")
        return
    # The drain: the unit is for /etc/gateway/gateway.yaml, which is not here; the overlays'
    # shutdown settings are what the unit's comments promise to cover.
    m = re.search(r"^TimeoutStopSec=(\S+)", text, re.M)
    longest = max((d for _, d in drains), default=40)
    report.check(scope, m is not None and seconds(m.group(1)) > longest,
                 f"drain: TimeoutStopSec={m.group(1) if m else '?'} > drain_period + grace_period "
                 f"({longest:g}s)",
                 f"drain: TimeoutStopSec={m.group(1) if m else 'unset'} does not exceed drain_period + "
                 f"grace_period ({longest:g}s): systemd would SIGKILL in-flight requests")
    start = re.search(r"^ExecStart=.*--config\s+(\S+)", text, re.M)
    pre = re.search(r"^ExecStartPre=.*check-config\s+--require-env\s+(\S+)", text, re.M)
    report.check(scope, start and pre and start.group(1) == pre.group(1),
                 f"exec: ExecStartPre checks {pre.group(1) if pre else '?'} with --require-env, the "
                 f"file ExecStart runs",
                 "exec: ExecStartPre must run `check-config --require-env` on ExecStart's --config file")
    with tempfile.TemporaryDirectory(prefix="deploy-check-unit-") as tmp:
        binary = gateway_bin
        if not binary:
            # verify only needs an executable at ExecStart's path.
            binary = str(Path(tmp) / "gateway")
            Path(binary).write_text("#!/bin/sh\nexit 0\n")
            os.chmod(binary, 0o755)
        copy_path = Path(tmp) / unit.name
        copy_path.write_text(text.replace("/usr/local/bin/gateway", str(Path(binary).resolve())))
        out = run(["systemd-analyze", "verify", str(copy_path)])
        said = (out.stdout + out.stderr).strip().replace(str(copy_path), unit.name)
        # Unknown keys and unparsable values are only warnings for verify (exit 0): any output fails.
        report.check(scope, out.returncode == 0 and not said,
                     "systemd-analyze verify: no error, no warning",
                     f"systemd-analyze verify: exit {out.returncode}: {said}")
        out = run(["systemd-analyze", "security", "--offline=yes", str(copy_path)])
        m = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", out.stdout)
        if m is None:
            report.fail(scope, f"systemd-analyze security --offline=yes: no score: {out.stderr.strip()}")
        else:
            score = float(m.group(1))
            report.check(scope, score <= MAX_EXPOSURE,
                         f"systemd-analyze security --offline=yes: exposure {score} {m.group(2)} "
                         f"(at most {MAX_EXPOSURE})",
                         f"systemd-analyze security --offline=yes: exposure {score} {m.group(2)}, "
                         f"above {MAX_EXPOSURE}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gateway", default=os.environ.get("GATEWAY_BIN"))
    parser.add_argument("--overlay", action="append", type=Path)
    parser.add_argument("--unit", type=Path, default=ROOT / "deploy" / "systemd" / "gateway.service")
    parser.add_argument("--no-unit", action="store_true")
    args = parser.parse_args()
    overlays = args.overlay or sorted(p for p in (ROOT / "deploy" / "kubernetes" / "overlays").iterdir() if p.is_dir())

    report = Report()
    if shutil.which("kubectl") is None:
        report.fail("setup", "kubectl not found (it renders the overlays: kubectl kustomize)")
        return 1
    kv, version = load_validator(report)

    checked_examples = set()
    drains = []
    for overlay in overlays:
        overlay = overlay.resolve()
        secrets_path = overlay.parent.parent / "base" / "secrets.example.yaml"
        if not secrets_path.is_file():
            report.fail(overlay.name, f"no {secrets_path} (the Secrets the overlay's files and env need)")
            continue
        if kv and secrets_path not in checked_examples:
            checked_examples.add(secrets_path)
            docs, _ = secret_examples(secrets_path)
            validate_documents(report, "secrets.example.yaml", docs, kv, version, "example Secrets")
        check_overlay(report, overlay, kv, version, args.gateway, secrets_path, drains)

    if not args.no_unit:
        check_unit(report, args.unit, args.gateway, drains)

    if report.failures:
        print(f"{report.failures} check(s) failed", flush=True)
        return 1
    print("every check passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
