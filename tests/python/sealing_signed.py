"""An outside RFC 9421 client of the gateway's sealing route: `requests` + `requests-http-signature`.

Usage: python3 sealing_signed.py SEAL_URL CA_BUNDLE HMAC_SECRET KEYID

SEAL_URL is e.g. https://localhost:PORT/seal-contract (a route that accepts anonymous TLS callers
and authenticates them by their signature). Nothing of the project is used: the signature, its
base, the `Content-Digest` and the nonce are made by `requests-http-signature` 2.x (on
`http-message-signatures`), hmac-sha256, covering `@method`, `@target-uri` and `content-digest`
with `created`, `keyid` and `nonce` (the library also adds and covers a `Date` field of its own).
The script sends

1. good:         a PDF, signed with the shared secret           -> expects 200 and the sealed PDF;
2. replay:       the very same prepared request, byte for byte  -> 401 signature-replay;
3. wrong_key:    the PDF signed with another secret             -> 401 signature-bad;
4. body_changed: signed, then other bytes put in the body        -> 401 signature-digest-mismatch;

and, as cross-checks of the library rather than of the gateway: has it sign RFC 9421's own
hmac-sha256 example (Appendix B.2.5, which the gateway's verifier reproduces too), rebuilds the
signature base of request 1 by hand (section 2.5) from the fields it sent and recomputes the HMAC,
and recomputes the RFC 9530 digest with hashlib. Prints one JSON object with what each step saw;
tests/tests/sealing_python.rs checks it.
"""

import base64
import datetime
import hashlib
import hmac
import json
import re
import secrets
import sys

import requests
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver
from requests_http_signature import HTTPSignatureAuth, algorithms

COMPONENTS = ("@method", "@target-uri", "content-digest")


def auth_for(secret, keyid):
    return HTTPSignatureAuth(
        signature_algorithm=algorithms.HMAC_SHA256,
        key=secret,
        key_id=keyid,
        covered_component_ids=COMPONENTS,
        label="sig1",
        use_nonce=True,
    )


def prepared_post(session, url, body, auth):
    request = requests.Request(
        "POST", url, data=body, headers={"Content-Type": "application/pdf"}, auth=auth
    )
    return session.prepare_request(request)


def independent_check(prepared, secret):
    """RFC 9421 section 2.5 by hand: the signature base of `prepared`'s only signature, and
    whether HMAC-SHA256 of it is the `Signature` sent. Returns (base, matches)."""
    label, params = prepared.headers["Signature-Input"].split("=", 1)
    inner = params[params.index("(") + 1 : params.index(")")]
    lines = []
    for name in re.findall(r'"([^"]+)"', inner):
        if name == "@method":
            value = prepared.method
        elif name == "@target-uri":
            value = prepared.url
        elif name.startswith("@"):
            raise ValueError(f"unexpected derived component {name}")
        else:
            value = prepared.headers[name].strip()
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {params}')
    base = "\n".join(lines)
    mac = hmac.new(secret, base.encode("ascii"), hashlib.sha256).digest()
    sent = prepared.headers["Signature"]
    expected = f"{label}=:{base64.b64encode(mac).decode('ascii')}:"
    return base, hmac.compare_digest(sent, expected)


def rfc9421_b25():
    """The library's signature of RFC 9421 Appendix B.2.5's request (its shared secret, its
    `created`, covering "date" "@authority" "content-type", no `alg`), and the RFC's value."""
    secret = base64.b64decode(
        "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ=="
    )
    request = requests.Request(
        "POST",
        "https://example.com/foo?param=Value&Pet=dog",
        data=b'{"hello": "world"}',
        headers={
            "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
            "Content-Type": "application/json",
            "Content-Digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
        },
    ).prepare()
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.HMAC_SHA256,
        key_resolver=MappingKeyResolver(private_keys={"test-shared-secret": secret}, public_keys={}),
    )
    signer.sign(
        request,
        key_id="test-shared-secret",
        created=datetime.datetime.fromtimestamp(1618884473, datetime.timezone.utc),
        label="sig-b25",
        include_alg=False,
        covered_component_ids=("date", "@authority", "content-type"),
        use_existing_digest=True,
    )
    return {
        "signature_input": request.headers["Signature-Input"],
        "signature": request.headers["Signature"],
        "rfc_signature_input": 'sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
        "rfc_signature": "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:",
    }


def outcome(response):
    seen = {
        "status": response.status_code,
        "content_type": response.headers.get("Content-Type"),
        "www_authenticate": response.headers.get("WWW-Authenticate"),
    }
    if (seen["content_type"] or "").startswith("application/problem+json"):
        problem = response.json()
        seen.update(type=problem.get("type"), title=problem.get("title"), detail=problem.get("detail"))
    return seen


def wire_bytes(prepared):
    """What the request line, fields and body of `prepared` are (requests sends them as is)."""
    fields = "".join(f"{k}: {v}\r\n" for k, v in prepared.headers.items())
    return f"{prepared.method} {prepared.path_url}\r\n{fields}\r\n".encode() + (prepared.body or b"")


def main():
    url, ca, secret, keyid = sys.argv[1:5]
    secret = secret.encode()
    session = requests.Session()
    # REQUESTS_CA_BUNDLE (set on many machines) would override session.verify otherwise.
    session.trust_env = False
    session.verify = ca
    pdf = b"%PDF-1.7\n% a contract to seal, " + secrets.token_hex(8).encode() + b"\n%%EOF\n"
    out = {"rfc9421_b25": rfc9421_b25()}

    # 1. Signed with the shared secret.
    good = prepared_post(session, url, pdf, auth_for(secret, keyid))
    base, matches = independent_check(good, secret)
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(pdf).digest()).decode("ascii") + ":"
    out["sent"] = {
        "signature_input": good.headers["Signature-Input"],
        "signature": good.headers["Signature"],
        "content_digest": good.headers.get("Content-Digest"),
        "content_digest_matches_hashlib": good.headers.get("Content-Digest") == digest,
        "signature_base": base,
        "independent_base_matches": matches,
    }
    good_bytes = wire_bytes(good)
    r = session.send(good, timeout=30)
    seen = outcome(r)
    if r.status_code == 200:
        seen.update(
            length=len(r.content),
            starts_with_sent_pdf=r.content.startswith(pdf),
            tail=r.content[len(pdf):].decode("latin-1"),
        )
    out["good"] = seen

    # 2. The same prepared request again: same fields, same signature, same nonce, same body.
    seen = outcome(session.send(good, timeout=30))
    seen["same_bytes_as_good"] = wire_bytes(good) == good_bytes
    out["replay"] = seen

    # 3. Signed by someone who does not hold the secret (a fresh nonce: not a replay).
    wrong = prepared_post(session, url, pdf, auth_for(b"not-the-shared-secret-0123456789abcdef", keyid))
    out["wrong_key"] = outcome(session.send(wrong, timeout=30))

    # 4. Signed over this PDF, then the body swapped for other bytes (same length, so that only
    # the digest can tell).
    changed = prepared_post(session, url, pdf, auth_for(secret, keyid))
    forged = pdf.replace(b"a contract", b"A CONTRACT")
    assert len(forged) == len(pdf) and forged != pdf
    changed.body = forged
    changed.prepare_content_length(forged)
    out["body_changed"] = outcome(session.send(changed, timeout=30))

    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
