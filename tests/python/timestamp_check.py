"""An outside RFC 3161 verifier of the gateway's `Timestamp-Token`: `rfc3161-client`.

Usage: python3 timestamp_check.py TOKEN_DER SEALED_PDF ROOT_PEM TSA_PEM OTHER_ROOT_PEM POLICY_OID

TOKEN_DER is the DER the gateway handed over in `Timestamp-Token: :BASE64:`, SEALED_PDF the
document as the caller received it, ROOT_PEM the test TSA's root, TSA_PEM its leaf, OTHER_ROOT_PEM
an unrelated root, POLICY_OID the TSA's default policy. Nothing of the project is used. The script
decodes the token with `rfc3161_client.decode_timestamp_response` and verifies it with a
`VerifierBuilder` verifier:

- message:        `verify_message` over the PDF's bytes (the library hashes them), root + TSA leaf;
- digest:         `verify` over hashlib's SHA-256 of the PDF, root + TSA leaf + policy;
- root_only:      `verify_message` with nothing but the root (the leaf is the one in the token);
- other_document: `verify_message` over other bytes           (must be refused);
- other_root:     `verify_message` trusting only another root (must be refused).

Prints one JSON object; tests/tests/sealing_python.rs checks it.
"""

import hashlib
import json
import sys

import cryptography.x509
from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response


def der_length(n):
    if n < 0x80:
        return bytes([n])
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def as_response(token):
    """The header carries a TimeStampToken (a CMS ContentInfo), not a TimeStampResp, and
    rfc3161-client only decodes responses: wrap it in one, as RFC 3161 section 2.4.2 defines it,
    `TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken }`, with the
    status `PKIStatusInfo ::= SEQUENCE { status PKIStatus }` granted (0): 30 03 02 01 00."""
    if token[:1] != b"\x30":
        raise ValueError("the token is not a DER SEQUENCE (a ContentInfo)")
    content = b"\x30\x03\x02\x01\x00" + token
    return b"\x30" + der_length(len(content)) + content


def load_pem(path):
    with open(path, "rb") as f:
        return cryptography.x509.load_pem_x509_certificate(f.read())


def attempt(verify):
    try:
        return "ok" if verify() else "returned false"
    except VerificationError as e:
        return f"refused: {e}"
    except ValueError as e:
        return f"refused (ValueError): {e}"


def main():
    token_path, pdf_path, root_path, tsa_path, other_root_path, policy = sys.argv[1:7]
    with open(token_path, "rb") as f:
        token = f.read()
    with open(pdf_path, "rb") as f:
        pdf = f.read()
    root, leaf, other_root = load_pem(root_path), load_pem(tsa_path), load_pem(other_root_path)
    policy_oid = cryptography.x509.ObjectIdentifier(policy)

    response = decode_timestamp_response(as_response(token))
    info = response.tst_info
    imprint = info.message_imprint
    out = {
        "decoded": {
            "status": response.status,
            "token_round_trips": response.time_stamp_token() == token,
            "hash_algorithm": imprint.hash_algorithm.dotted_string,
            "imprint_is_sha256_of_pdf": imprint.message == hashlib.sha256(pdf).digest(),
            "policy": info.policy.dotted_string,
            "serial_number": info.serial_number,
            "gen_time": info.gen_time.isoformat(),
            "nonce_present": info.nonce is not None,
            "embedded_certificates": len(response.signed_data.certificates),
        }
    }

    def verifier(*, roots, tsa=None, with_policy=False):
        builder = VerifierBuilder()
        for r in roots:
            builder = builder.add_root_certificate(r)
        if tsa is not None:
            builder = builder.tsa_certificate(tsa)
        if with_policy:
            builder = builder.policy_id(policy_oid)
        return builder.build()

    digest = hashlib.sha256(pdf).digest()
    out["verify"] = {
        "message": attempt(lambda: verifier(roots=[root], tsa=leaf).verify_message(response, pdf)),
        "digest": attempt(
            lambda: verifier(roots=[root], tsa=leaf, with_policy=True).verify(response, digest)
        ),
        "root_only": attempt(lambda: verifier(roots=[root]).verify_message(response, pdf)),
        "other_document": attempt(
            lambda: verifier(roots=[root], tsa=leaf).verify_message(response, pdf + b"\n% changed")
        ),
        "other_root": attempt(lambda: verifier(roots=[other_root]).verify_message(response, pdf)),
    }

    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
