"""Calls every operation of the gateway's alert service with zeep, the WSDL taken from the gateway.

Usage: python3 alert_zeep.py BASE_URL CA_BUNDLE CLIENT_CERT CLIENT_KEY PARTNER SECRET [PORT]

BASE_URL is e.g. https://localhost:PORT/aspone/alert. PORT is the WSDL port to call through:
AlertPort (SOAP 1.1, the default) or AlertSoap12Port (SOAP 1.2). The client presents
CLIENT_CERT over TLS (the gateway's mTLS), signs every call with its own WS-Security
UsernameToken (PasswordDigest), and puts the user's credentials in the context header. Prints
one JSON object with what each call returned, and what went on the wire (envelope namespaces,
media types); tests/tests/alert_zeep.rs checks it.
"""

import json
import sys

import requests
from zeep import Client, Settings
from zeep.exceptions import Fault
from zeep.helpers import serialize_object
from zeep.plugins import HistoryPlugin
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken


def headers(login, password):
    return {"serviceVersion": "1.1", "context": {"user": {"login": login, "password": password}}}


def plain(value):
    return json.loads(json.dumps(serialize_object(value), default=str))


def main():
    base, ca, cert, key, partner, secret = sys.argv[1:7]
    port = sys.argv[7] if len(sys.argv) > 7 else "AlertPort"
    session = requests.Session()
    wire = {"request_types": set(), "response_types": set()}

    def seen(response, *args, **kwargs):
        if response.request.method == "POST":
            wire["request_types"].add(response.request.headers.get("Content-Type", "").split(";")[0])
            wire["response_types"].add(response.headers.get("Content-Type", "").split(";")[0])

    session.hooks["response"].append(seen)
    history = HistoryPlugin()
    # REQUESTS_CA_BUNDLE (set on many machines) would override session.verify otherwise.
    session.trust_env = False
    session.verify = ca
    session.cert = (cert, key)
    client = Client(
        base + "?wsdl",
        transport=Transport(session=session, timeout=10),
        wsse=UsernameToken(partner, secret, use_digest=True),
        settings=Settings(strict=True),
        plugins=[history],
    )
    service = client.bind("AlertService", port)
    ports = client.wsdl.services["AlertService"].ports
    out = {
        "address": ports[port].binding_options["address"],
        "addresses": {name: p.binding_options["address"] for name, p in ports.items()},
        "binding": type(ports[port].binding).__name__,
    }

    out["get"] = plain(service.getAlertConfig(accountName="CPT01", _soapheaders=headers("CPT01", "Primary-01-pass")))
    out["set"] = plain(service.setAlertActive(accountName="CPT01", alertActive=False, _soapheaders=headers("CPT01", "Primary-01-pass")))
    out["update"] = plain(service.updateAlertConfig(
        accountName="CPT01",
        secondaryAccountAlert=False,
        mailsToAdd="new@cpt01.example",
        mailsToDelete="boss@cpt01.example",
        sendTest=True,
        teleProcedureAlert=[
            {"teleProcedure": "TVA", "messageService": [
                {"actif": True, "type": "RCP", "delai": 0, "positif": True},
                {"actif": False, "type": "ARS", "delai": 0, "positif": True},
            ]},
            {"teleProcedure": "IR", "messageService": [
                {"actif": True, "type": "ACS", "delai": 7, "positif": False},
            ]},
        ],
        _soapheaders=headers("CPT01", "Primary-01-pass"),
    ))
    out["get_after"] = plain(service.getAlertConfig(_soapheaders=headers("CPT01", "Primary-01-pass")))
    out["invalid"] = plain(service.updateAlertConfig(
        accountName="CPT01", mails="not-an-address",
        teleProcedureAlert=[{"teleProcedure": "TVA", "messageService": [
            {"actif": True, "type": "AIS", "delai": 1, "positif": True}]}],
        _soapheaders=headers("CPT01", "Primary-01-pass"),
    ))
    try:
        service.getAlertConfig(_soapheaders=headers("CPT02", "wrong-password"))
        out["fault"] = None
    except Fault as fault:
        out["fault"] = {"code": str(fault.code), "message": fault.message,
                        "subcodes": [str(c) for c in (fault.subcodes or [])]}
    out["wire"] = {
        "request_types": sorted(wire["request_types"]),
        "response_types": sorted(wire["response_types"]),
        "sent_envelope": history.last_sent["envelope"].nsmap.get(history.last_sent["envelope"].prefix),
        "received_envelope": history.last_received["envelope"].nsmap.get(history.last_received["envelope"].prefix),
        "action": history.last_sent["http_headers"].get("Content-Type", ""),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
