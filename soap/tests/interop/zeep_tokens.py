"""Generates real WS-Security UsernameToken envelopes with zeep, without sending them.

Usage: python3 zeep_tokens.py OUT_DIR USERNAME PASSWORD

Writes one SOAP 1.1 request per case into OUT_DIR (see CASES below); the Rust test
tests/interop.rs verifies them with the gateway's soap crate.
"""

import datetime
import os
import sys

from lxml import etree
from zeep import Client
from zeep.wsse import utils
from zeep.wsse.username import UsernameToken

HERE = os.path.dirname(os.path.abspath(__file__))


def envelope(token):
    client = Client(os.path.join(HERE, "alert.wsdl"), wsse=token)
    message = client.create_message(
        client.service, "setAlertActive", account="CPT000123", alertActive=True,
        mails="compta@example.fr",
    )
    return etree.tostring(message, xml_declaration=True, encoding="utf-8")


def timestamp_token(now):
    stamp = utils.WSU.Timestamp()
    stamp.append(utils.WSU.Created(utils.get_timestamp(now, zulu_timestamp=True)))
    expires = now + datetime.timedelta(minutes=5)
    stamp.append(utils.WSU.Expires(utils.get_timestamp(expires, zulu_timestamp=True)))
    return stamp


def main():
    out_dir, username, password = sys.argv[1:4]
    now = datetime.datetime.now(datetime.timezone.utc)
    cases = {
        # zeep's defaults: random 16-byte nonce, Created "…+00:00" to the second.
        "digest.xml": UsernameToken(username, password, use_digest=True),
        "digest_zulu.xml": UsernameToken(username, password, use_digest=True, zulu_timestamp=True),
        "digest_timestamp.xml": UsernameToken(
            username, password, use_digest=True, zulu_timestamp=True,
            timestamp_token=timestamp_token(now),
        ),
        "stale.xml": UsernameToken(
            username, password, use_digest=True,
            created=now - datetime.timedelta(hours=1),
        ),
        "text.xml": UsernameToken(username, password),
    }
    for name, token in cases.items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(envelope(token))
    print(" ".join(sorted(cases)))


if __name__ == "__main__":
    main()
