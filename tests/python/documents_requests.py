"""An outside RFC 9530 client of the gateway's documents route: Python `requests`, its own digests.

Usage: python3 documents_requests.py COLLECTION_URL CA_BUNDLE CLIENT_CERT CLIENT_KEY

COLLECTION_URL is e.g. https://localhost:PORT/documents/exchanges/EX/documents. Nothing of the
project is used: the `Content-Digest` fields are computed and parsed here (hashlib + base64, RFC
9530 section 2 and the RFC 9651 dictionary syntax), and the client presents CLIENT_CERT over TLS
(the gateway's mutual TLS). The script

1. uploads a document (1 MiB and a bit of seeded pseudo-random bytes) with
   `Content-Digest: sha-256=:BASE64:`;
2. downloads it back, asking for sha-512 too (`Want-Content-Digest`), and checks every digest of
   the response's `Content-Digest` it knows against the bytes it received;
3. uploads other bytes with a deliberately wrong digest (the first document's);
4. lists the exchange.

Prints one JSON object with what each step saw; tests/tests/documents_interop.rs checks it.
"""

import base64
import hashlib
import json
import random
import sys

import requests

# RFC 9530 section 5 (the "Hash Algorithms for HTTP Digest Fields" registry): the active ones.
ALGORITHMS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


def content_digest(data, algorithm="sha-256"):
    """The `Content-Digest` member for `data`: `sha-256=:BASE64:` (a byte sequence, RFC 9651)."""
    value = base64.b64encode(ALGORITHMS[algorithm](data).digest()).decode("ascii")
    return f"{algorithm}=:{value}:"


def parse_digest_field(field):
    """An RFC 9530 digest field (an RFC 9651 dictionary of byte sequences) as {algorithm: bytes}.

    Members are `key=:base64:`, optionally with parameters (`;name=value`), which carry no
    meaning for digests and are dropped. Raises ValueError on anything else.
    """
    members = {}
    for member in field.split(","):
        member = member.strip(" \t")
        key, sep, rest = member.partition("=")
        if not sep or not key or key != key.lower():
            raise ValueError(f"not a dictionary member: {member!r}")
        value = rest.split(";", 1)[0]
        if len(value) < 2 or value[0] != ":" or value[-1] != ":":
            raise ValueError(f"{key}: not a byte sequence: {value!r}")
        members[key] = base64.b64decode(value[1:-1], validate=True)
    return members


def check_digest_field(field, data):
    """{algorithm: matches} for each known algorithm of `field`, and the unknown ones."""
    verified, unknown = {}, []
    for algorithm, expected in parse_digest_field(field).items():
        if algorithm in ALGORITHMS:
            verified[algorithm] = ALGORITHMS[algorithm](data).digest() == expected
        else:
            unknown.append(algorithm)
    return verified, unknown


def response_digest(response):
    """What the response's own `Content-Digest` (if any) says of its body."""
    field = response.headers.get("Content-Digest")
    if field is None:
        return None
    verified, unknown = check_digest_field(field, response.content)
    return {"field": field, "verified": verified, "unknown": unknown}


def main():
    collection, ca, cert, key = sys.argv[1:5]
    session = requests.Session()
    # REQUESTS_CA_BUNDLE (set on many machines) would override session.verify otherwise.
    session.trust_env = False
    session.verify = ca
    session.cert = (cert, key)

    document = random.Random(9530).randbytes(1024 * 1024 + 4099)
    out = {"size": len(document), "sha256": hashlib.sha256(document).hexdigest()}

    # 1. Upload with our own digest.
    sent = content_digest(document)
    r = session.post(
        collection,
        data=document,
        headers={"Content-Type": "application/octet-stream", "Content-Digest": sent},
        timeout=30,
    )
    upload = {"status": r.status_code, "content_digest_sent": sent,
              "location": r.headers.get("Location"), "response_digest": response_digest(r)}
    if r.status_code == 201:
        meta = r.json()
        upload.update(id=meta["id"], core_sha256=meta["sha256"], core_size=meta["size"])
    else:
        upload["body"] = r.text
    out["upload"] = upload

    # 2. Download it back, checking the response's Content-Digest against what we received.
    if "id" in upload:
        r = session.get(
            f"{collection}/{upload['id']}",
            headers={"Want-Content-Digest": "sha-256=10, sha-512=3"},
            timeout=30,
        )
        received = r.content
        field = r.headers.get("Content-Digest")
        download = {"status": r.status_code, "length": len(received),
                    "identical": received == document,
                    "sha256": hashlib.sha256(received).hexdigest(), "content_digest": field}
        if field is not None:
            download["verified"], download["unknown"] = check_digest_field(field, received)
        out["download"] = download

    # 3. Other bytes, announced with the first document's digest: a deliberate mismatch.
    other = random.Random(1).randbytes(200 * 1024)
    r = session.post(
        collection,
        data=other,
        headers={"Content-Type": "application/octet-stream", "Content-Digest": sent},
        timeout=30,
    )
    wrong = {"status": r.status_code, "content_type": r.headers.get("Content-Type")}
    try:
        problem = r.json()
        wrong.update(type=problem.get("type"), title=problem.get("title"), detail=problem.get("detail"))
    except ValueError:
        wrong["body"] = r.text
    out["wrong"] = wrong

    # 4. What the exchange holds now.
    r = session.get(collection, timeout=30)
    listing = r.json() if r.status_code == 200 else []
    out["list"] = {"status": r.status_code, "count": len(listing),
                   "documents": [{"id": d["id"], "sha256": d["sha256"], "size": d["size"]} for d in listing]}

    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
