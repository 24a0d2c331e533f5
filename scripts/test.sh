#!/usr/bin/env bash
# Runs every test of the workspace. Installs what a fresh machine lacks (Python test clients,
# openssl, softhsm2) and starts Redis on 127.0.0.1:6379 if it is not running.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v openssl >/dev/null || need_apt+=(openssl)
command -v curl >/dev/null || need_apt+=(curl)
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v python3 >/dev/null || need_apt+=(python3 python3-pip)
# make and a C compiler: jemalloc, the gateway binary's allocator, is built from its C sources
command -v make >/dev/null || need_apt+=(make)
command -v cc >/dev/null || need_apt+=(gcc)
# SoftHSM: the PKCS#11 token of mtls' outbound-identity tests (they fail without it)
command -v softhsm2-util >/dev/null || need_apt+=(softhsm2)
# clamd: the antivirus tests (documents_scan) start their own, with a test database (they fail
# without it); it may sit in /usr/sbin, outside a non-root PATH
command -v clamd >/dev/null || [ -x /usr/sbin/clamd ] || need_apt+=(clamav-daemon)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
fi

if ! python3 -c 'import zeep, fhir.resources, fhirpathpy, requests, requests_http_signature, rfc3161_client, kubernetes_validate' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
fi

if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 0.1; done
fi

# --no-fail-fast: one failing test binary must not hide the results of the others.
cargo test --workspace --locked --no-fail-fast "$@"
