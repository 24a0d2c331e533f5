#!/usr/bin/env bash
# Checks the generated test PKI with OpenSSL: chains, validity, EKUs, CRLs and an OCSP
# round trip against a local `openssl ocsp` responder (killed on exit).
# Usage: certs-test/check.sh [PKI_DIR] [OCSP_PORT]   (defaults: certs-test/pki, 18889)
set -euo pipefail
P=${1:-$(dirname "$0")/pki}
PORT=${2:-18889}
fails=0
ok() { printf 'ok   %s\n' "$1"; }
ko() { printf 'FAIL %s\n' "$1"; fails=$((fails + 1)); }
# expect NAME PATTERN CMD...: CMD's combined output, line by line or joined into one line,
# must match PATTERN (grep -E).
expect() {
  local name=$1 pattern=$2; shift 2
  local out; out=$("$@" 2>&1 || true)
  if grep -qE "$pattern" <<<"$out" || grep -qE "$pattern" <<<"${out//$'\n'/ }"; then ok "$name"; else ko "$name"; printf '%s\n' "$out" | sed 's/^/     /'; fi
}
verify() { openssl verify -CAfile "$P/ca-bundle.pem" "$@"; }
crl_pem() { openssl crl -inform DER -in "$1"; }

for c in sas-recette sas-preproduction sas-production wrong-cn wrong-ou revoked no-client-eku internal-app portal vendor; do
  expect "chain $c" ': OK$' verify "$P/clients/$c.leaf.pem"
done
expect "chain via -untrusted" ': OK$' openssl verify -CAfile "$P/root-ca.pem" -untrusted "$P/intermediate-ca.pem" "$P/clients/sas-recette.leaf.pem"
expect "server chain" ': OK$' verify -purpose sslserver "$P/server.pem"
expect "expired fails" 'certificate has expired' verify "$P/clients/expired.leaf.pem"
expect "not-yet-valid fails" 'certificate is not yet valid' verify "$P/clients/not-yet-valid.leaf.pem"
expect "untrusted fails" 'unable to get local issuer certificate' verify "$P/clients/untrusted.leaf.pem"
expect "no-client-eku fails as client" 'unsuitable certificate purpose' verify -purpose sslclient "$P/clients/no-client-eku.leaf.pem"
expect "no-client-eku is serverAuth only" '^ +TLS Web Server Authentication$' openssl x509 -in "$P/clients/no-client-eku.leaf.pem" -noout -ext extendedKeyUsage
expect "revoked is revoked by CRL" 'certificate revoked' verify -crl_check -CRLfile <(crl_pem "$P/crl/intermediate.crl") "$P/clients/revoked.leaf.pem"
expect "recette passes CRL check" ': OK$' verify -crl_check -CRLfile "$P/crl/intermediate.crl.pem" "$P/clients/sas-recette.leaf.pem"
expect "expired CRL" 'CRL has expired' verify -crl_check -CRLfile <(crl_pem "$P/crl/intermediate-expired.crl") "$P/clients/sas-recette.leaf.pem"
expect "crl_check_all with root CRL" ': OK$' verify -crl_check_all -CRLfile <(cat "$P/crl/intermediate.crl.pem"; crl_pem "$P/crl/root.crl") "$P/clients/sas-recette.leaf.pem"
expect "intermediate CRL signature" 'verify OK' openssl crl -inform DER -in "$P/crl/intermediate.crl" -CAfile "$P/ca-bundle.pem" -noout
expect "root CRL signature" 'verify OK' openssl crl -inform DER -in "$P/crl/root.crl" -CAfile "$P/root-ca.pem" -noout
revoked_serial=$(openssl x509 -in "$P/clients/revoked.leaf.pem" -noout -serial | cut -d= -f2)
expect "CRL lists the revoked serial" "Serial Number: $revoked_serial" openssl crl -inform DER -in "$P/crl/intermediate.crl" -noout -text

# OCSP: `run_responder SIGNER NREQUESTS` starts openssl ocsp in the background.
pid=
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap stop EXIT
run_responder() {
  openssl ocsp -index "$P/ocsp/index.txt" -port "$PORT" -rsigner "$P/ocsp/$1.pem" -rkey "$P/ocsp/$1.key" \
    -CA "$P/intermediate-ca.pem" -nrequest "$2" >/dev/null 2>&1 &
  pid=$!
  # Wait until it listens, without connecting (a probe would use up one of its requests).
  for _ in $(seq 50); do
    if command -v ss >/dev/null; then ss -ltn | grep -q ":$PORT " && return 0; fi
    sleep 0.1
  done
}
query() { openssl ocsp -issuer "$P/intermediate-ca.pem" -cert "$P/clients/$1.pem" -url "http://127.0.0.1:$PORT" -CAfile "$P/ca-bundle.pem"; }
run_responder responder 3
expect "OCSP good" 'Response verify OK.*: good' query sas-recette
expect "OCSP revoked" 'Response verify OK.*: revoked.*keyCompromise' query revoked
expect "OCSP expired still answered by serial" 'Response verify OK.*: good' query expired
stop
run_responder responder-no-eku 1
expect "OCSP responder without EKU rejected" 'missing ocspsigning usage' query sas-recette
stop
run_responder responder-untrusted 1
expect "OCSP untrusted responder rejected" 'Response Verify Failure.*unable to get local issuer' query sas-recette
stop

if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all checks passed"
