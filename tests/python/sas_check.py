#!/usr/bin/env python3
"""Structural checks of the gateway's SAS FHIR answers, as the ANS kit makes them.

Usage: sas_check.py MODE EXPECT_JSON < resource.json
  MODE: psindiv | cpts | sos | empty | outcome | practitioner | appointment | capability
  EXPECT_JSON: {"self": <url>, "identifiers": [...], "profile": <bundle profile>, "code": <issue code>,
                "base": <[base] of a CapabilityStatement>, "ig_dir": <folder of the guide's statements>}

Every resource is parsed with the fhir.resources R4B models (pydantic validation of types,
cardinalities and primitive formats), then checked with FHIRPath (fhirpathpy) the way the kit
selects resources: `meta.profile = '<url>'`, which is true only for exactly one profile.
Prints a JSON summary on success; exits 1 with the reasons otherwise.
"""
import json
import re
import sys

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.practitioner import Practitioner
from fhirpathpy import evaluate

SAS = "http://sas.fr/fhir/StructureDefinition/"
IG = "https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/"
PROFILES = {
    "psindiv": {"Bundle": SAS + "BundleAgregateur", "Slot": SAS + "FrSlotAgregateur"},
    "cpts": {"Bundle": IG + "sas-cpts-bundle-aggregator", "Slot": IG + "sas-cpts-slot-aggregator",
             "HealthcareService": IG + "sas-cpts-healthcareservice-aggregator",
             "Organization": IG + "sas-cpts-organization-aggregator"},
    "sos": {"Bundle": IG + "sas-sos-bundle-aggregator", "Slot": IG + "sas-sos-slot-aggregator",
            "Schedule": IG + "sas-sos-schedule-aggregator", "Location": IG + "sas-sos-location-aggregator",
            "Organization": IG + "sas-sos-organization-aggregator"},
}
COMMON = {"Schedule": SAS + "FrScheduleAgregateur", "Practitioner": SAS + "FrPractitionerAgregateur",
          "PractitionerRole": SAS + "FrPractitionerRoleExerciceAgregateur"}
SLOT_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$")
errors = []


def fp(resource, path):
    return evaluate(resource, path, [])


def expect(cond, message):
    if not cond:
        errors.append(message)


def no_empty(value, where="$"):
    """The guide: never "", [] or {}."""
    if value in ("", [], {}):
        errors.append(f"empty value at {where}")
    elif isinstance(value, dict):
        for k, v in value.items():
            no_empty(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            no_empty(v, f"{where}[{i}]")


def check_bundle(doc, mode, exp):
    Bundle.model_validate(doc)
    no_empty(doc)
    profiles = dict(COMMON, **PROFILES[mode])
    expect(fp(doc, f"Bundle.meta.profile = '{profiles['Bundle']}'") == [True], "bundle profile")
    expect(fp(doc, "Bundle.type") == ["searchset"], "type searchset")
    expect(fp(doc, "Bundle.link.count() = 1") == [True], "exactly one link")
    expect(fp(doc, "Bundle.link.where(relation = 'self').url") == [exp["self"]],
           f"self link {fp(doc, 'Bundle.link.url')} != {exp['self']}")
    slots = fp(doc, "Bundle.entry.resource.ofType(Slot)")
    expect(fp(doc, "Bundle.total") == [len(slots)], "total counts the Slot entries")
    expect(fp(doc, "Bundle.entry.all(fullUrl.exists())") == [True], "fullUrl on every entry")
    expect(fp(doc, "Bundle.entry.resource.all(meta.profile.count() = 1)") == [True],
           "exactly one profile per resource")
    expect(fp(doc, "Bundle.entry.where(resource is Slot).all(search.mode = 'match')") == [True], "slots are matches")
    expect(fp(doc, "Bundle.entry.where((resource is Slot).not()).all(search.mode = 'include')") == [True],
           "others are includes")
    for kind, url in profiles.items():
        if kind == "Bundle" or (mode == "sos" and kind in ("Practitioner", "PractitionerRole")):
            continue
        n = len(fp(doc, f"Bundle.entry.resource.ofType({kind})"))
        m = len(fp(doc, f"Bundle.entry.where(resource.meta.profile = '{url}')"))
        expect(n == m, f"{kind}: {m} of {n} carry {url}")
    ids = {f"{r['resourceType']}/{r['id']}" for r in fp(doc, "Bundle.entry.resource")}
    for s in slots:
        expect(SLOT_TIME.match(s["start"]) and SLOT_TIME.match(s["end"]), f"slot time format {s['start']}")
        expect(s["start"] < s["end"] or s["start"][:19] < s["end"][:19], "start < end")
        expect(s["status"] == "free", "status free")
        expect(s["schedule"]["reference"] in ids, f"schedule {s['schedule']['reference']} included")
        expect(len(s["meta"].get("security", [])) >= 1, "slot type in meta.security")
    summary = {"total": doc["total"], "slots": [s["id"] for s in slots]}
    if mode == "sos":
        for sch in fp(doc, "Bundle.entry.resource.ofType(Schedule)"):
            refs = [a["reference"] for a in sch["actor"]]
            expect(len(refs) == 1 and refs[0].startswith("Location/") and refs[0] in ids, f"SOS schedule actor {refs}")
        for loc in fp(doc, "Bundle.entry.resource.ofType(Location)"):
            expect(loc["managingOrganization"]["reference"] in ids, "Location.managingOrganization included")
            expect(len(loc["address"]["postalCode"]) <= 5, "postalCode")
        orgs = fp(doc, "Bundle.entry.resource.ofType(Organization)")
        expect(all(len(o["identifier"]) == 1 and re.match(r"^3\d{14}$", o["identifier"][0]["value"]) for o in orgs),
               "SOS organization: one identifier, 3 + SIRET")
        summary["organizations"] = [o["identifier"][0]["value"] for o in orgs]
        summary["locations"] = len(fp(doc, "Bundle.entry.resource.ofType(Location)"))
        return summary
    practitioners = fp(doc, "Bundle.entry.resource.ofType(Practitioner)")
    values = [p["identifier"][0]["value"] for p in practitioners]
    expect(len(values) == len(set(values)), "one Practitioner per professional")
    for v in values:
        expect(v in exp.get("identifiers", []), f"identifier {v} byte-equal to a queried one")
    expect(fp(doc, "Bundle.entry.resource.ofType(Practitioner).all(identifier.first().system = "
                   "'urn:oid:1.2.250.1.71.4.2.1' and identifier.first().type.coding.code = 'IDNPS')") == [True],
           "practitioner identifier system and type")
    for sch in fp(doc, "Bundle.entry.resource.ofType(Schedule)"):
        refs = sorted(a["reference"].split("/")[0] for a in sch["actor"])
        expect(refs == ["Practitioner", "PractitionerRole"], f"schedule actors {refs}")
        expect(all(a["reference"] in ids for a in sch["actor"]), "schedule actors included")
    roles = fp(doc, "Bundle.entry.resource.ofType(PractitionerRole)")
    expect(len(roles) == len(fp(doc, "Bundle.entry.resource.ofType(Schedule)")), "one Schedule per PractitionerRole")
    for r in roles:
        expect(len(r["contained"]) == 1 and r["contained"][0]["resourceType"] == "Location", "one contained Location")
        loc = r["contained"][0]
        expect(r["location"] == [{"reference": "#" + loc["id"]}], "location points to the contained one")
        expect(loc["meta"]["profile"] == [SAS + "FrLocationAgregateur"], "contained Location profile")
        expect(re.match(r"^\d{5}$", loc["address"]["postalCode"]) is not None, "postal code 5 digits")
        expect(r["practitioner"]["reference"] in ids, "role practitioner included")
        org = r.get("organization", {}).get("identifier")
        if org:
            expect(org.get("system") == "urn:oid:1.2.250.1.71.4.2.2" and org.get("type", {}).get("coding", [{}])[0].get("code") == "IDNST"
                   and org["value"][0] in "1340", "role organization IDNST prefixed")
        for t in r.get("telecom", []):
            expect(re.match(r"^\+33\d{9}$", t["value"]) is not None, "phone in E.164")
    summary["practitioners"] = values
    summary["roles"] = len(roles)
    if mode == "cpts":
        services = {f"HealthcareService/{h['id']}": h for h in fp(doc, "Bundle.entry.resource.ofType(HealthcareService)")}
        for h in services.values():
            expect(h["providedBy"]["reference"] in ids, "HealthcareService.providedBy included")
        orgs = fp(doc, "Bundle.entry.resource.ofType(Organization)")
        expect(all(len(o["identifier"]) == 1 and re.match(r"^1\d{9}$", o["identifier"][0]["value"]) for o in orgs),
               "CPTS organization: one identifier, 1 + FINESS")
        cpts_slots = 0
        for s in slots:
            refs = [st for st in s.get("serviceType", []) if "extension" in st]
            if any(c["code"] == "CPTS" for c in s["meta"]["security"]):
                cpts_slots += 1
                expect(len(refs) >= 1, "CPTS slot points to its HealthcareService")
            for st in refs:
                expect(st["extension"][0]["valueReference"]["reference"] in services, "service type reference included")
                expect(len(st["coding"]) == 1 and st["coding"][0]["code"] == "604", "one 604 coding")
        summary["cpts_slots"] = cpts_slots
        summary["organizations"] = [o["identifier"][0]["value"] for o in orgs]
    return summary


# What the SAS guide's statements for the vendor's role list and this base does not serve, each
# explained in docs/sas-fhir.md ("CapabilityStatement"). The check below fails if an entry is
# missing here or if an entry is not really a difference any more.
IG_GAPS = {
    ("Slot", "interaction", "read"),
    ("Schedule", "interaction", "read"),
    ("Practitioner", "interaction", "read"),
    ("Practitioner", "interaction", "search-type"),
    ("Location", "resource", None),
    ("Organization", "resource", None),
}


def check_capability(doc, exp):
    """The base's CapabilityStatement: valid R4(B), what the route serves, and the guide's
    statements for the vendor's role (every capability they list is here or in IG_GAPS)."""
    import glob
    import os
    CapabilityStatement.model_validate(doc)
    no_empty(doc)
    expect(fp(doc, "CapabilityStatement.kind") == ["instance"], "kind instance")
    expect(fp(doc, "CapabilityStatement.status") == ["active"], "status active")
    expect(fp(doc, "CapabilityStatement.fhirVersion") == ["4.0.1"], "fhirVersion 4.0.1")
    expect("application/fhir+json" in fp(doc, "CapabilityStatement.format"), "format application/fhir+json")
    expect(fp(doc, "CapabilityStatement.format.where($this.contains('xml')).empty()") == [True], "no XML format")
    expect(fp(doc, "CapabilityStatement.implementation.url") == [exp["base"]], "implementation.url is the base")
    expect(fp(doc, "CapabilityStatement.rest.count() = 1 and CapabilityStatement.rest.mode = 'server'") == [True],
           "one server rest")
    expect("https://interop.esante.gouv.fr/ig/fhir/sas" in fp(doc, "CapabilityStatement.implementationGuide"),
           "the SAS guide")
    ours = {r["type"]: r for r in fp(doc, "CapabilityStatement.rest.resource")}
    summary = {"formats": doc["format"], "instantiates": doc.get("instantiates", []), "resources": {}}
    for t, r in ours.items():
        summary["resources"][t] = {
            "interactions": [i["code"] for i in r.get("interaction", [])],
            "params": {p["name"]: p["type"] for p in r.get("searchParam", [])},
            "definitions": [p.get("definition") for p in r.get("searchParam", [])],
            "includes": r.get("searchInclude", []),
            "revincludes": r.get("searchRevInclude", []),
            "profiles": r.get("supportedProfile", []),
            "conditionalUpdate": r.get("conditionalUpdate", False),
            "updateCreate": r.get("updateCreate", False),
            "conditionalCreate": r.get("conditionalCreate", False),
        }
    files = sorted(glob.glob(os.path.join(exp["ig_dir"], "CapabilityStatement-SAS-Gestionnaire*.json")))
    expect(len(files) == 4, f"the guide's four vendor statements in {exp['ig_dir']}: {files}")
    gaps_seen = set()
    ig_interactions = set()
    for f in files:
        with open(f, encoding="utf-8") as fh:
            ig = json.load(fh)
        CapabilityStatement.model_validate(ig)
        expect(ig["url"] in summary["instantiates"], f"instantiates {ig['url']}")
        for r in ig["rest"][0]["resource"]:
            t = r["type"]
            if t not in ours:
                gaps_seen.add((t, "resource", None))
                expect((t, "resource", None) in IG_GAPS, f"{ig['id']}: {t} is not served")
                continue
            mine = summary["resources"][t]
            for i in r.get("interaction", []):
                ig_interactions.add((t, i["code"]))
                if i["code"] not in mine["interactions"]:
                    gaps_seen.add((t, "interaction", i["code"]))
                    expect((t, "interaction", i["code"]) in IG_GAPS, f"{ig['id']}: {t} {i['code']} missing")
            for inc in r.get("searchInclude", []):
                expect(inc in mine["includes"], f"{ig['id']}: {t} _include {inc} missing")
            for inc in r.get("searchRevInclude", []):
                expect(inc in mine["revincludes"], f"{ig['id']}: {t} _revinclude {inc} missing")
            for p in r.get("searchParam", []):
                expect(p["definition"] in mine["definitions"], f"{ig['id']}: {t} parameter {p['definition']} missing")
            if r.get("profile"):
                expect(r["profile"] in mine["profiles"] + [ours[t].get("profile")], f"{ig['id']}: {t} profile {r['profile']}")
            for flag in ("conditionalUpdate", "updateCreate"):
                if r.get(flag):
                    expect(mine[flag], f"{ig['id']}: {t} {flag}")
    expect(gaps_seen == IG_GAPS, f"IG_GAPS differs from the statements: not listed {sorted(map(str, gaps_seen - IG_GAPS))}, "
                                 f"listed but served {sorted(map(str, IG_GAPS - gaps_seen))}")
    for t, mine in summary["resources"].items():
        for code in mine["interactions"]:
            expect((t, code) in ig_interactions, f"{t} {code} is in no statement of the guide")
    summary["gaps"] = sorted(f"{t} {k} {v or ''}".strip() for t, k, v in gaps_seen)
    return summary


def main():
    mode, exp = sys.argv[1], json.loads(sys.argv[2])
    doc = json.load(sys.stdin)
    summary = {}
    if mode in PROFILES:
        summary = check_bundle(doc, mode, exp)
    elif mode == "empty":
        Bundle.model_validate(doc)
        expect(fp(doc, f"Bundle.meta.profile = '{exp['profile']}'") == [True], "bundle profile")
        expect(fp(doc, "Bundle.total = 0 and Bundle.entry.empty()") == [True], "total 0, no entry")
        expect(fp(doc, "Bundle.link.where(relation = 'self').url") == [exp["self"]], "self link")
    elif mode == "capability":
        summary = check_capability(doc, exp)
    elif mode == "outcome":
        OperationOutcome.model_validate(doc)
        expect(fp(doc, "OperationOutcome.issue.all(severity = 'error')") == [True], "severity error")
        expect(fp(doc, "OperationOutcome.issue.first().code") == [exp["code"]],
               f"issue code {fp(doc, 'OperationOutcome.issue.code')} != {exp['code']}")
        expect(fp(doc, "OperationOutcome.issue.first().diagnostics.exists()") == [True], "diagnostics")
        summary = {"diagnostics": fp(doc, "OperationOutcome.issue.first().diagnostics")[0]}
    elif mode == "practitioner":
        Practitioner.model_validate(doc)
        summary = {"id": doc.get("id")}
    elif mode == "appointment":
        Appointment.model_validate(doc)
        no_empty(doc)
        expect(fp(doc, "Appointment.meta.profile = 'http://sas.fr/fhir/StructureDefinition/FrAppointmentSAS'") == [True],
               "FrAppointmentSAS profile")
        expect(fp(doc, "Appointment.identifier.count() = 1") == [True], "one identifier")
        expect(fp(doc, "Appointment.extension.where(url = 'http://interopsante.org/fhir/StructureDefinition/"
                       "FrAppointmentOperator').valueReference.identifier.value.exists()") == [True], "operator")
        expect(fp(doc, "Appointment.participant.actor.identifier.where(system = 'urn:oid:1.2.250.1.71.4.2.1')"
                       ".type.coding.code") == ["IDNPS"], "participant IDNPS")
        summary = {"status": doc["status"], "start": doc["start"]}
    else:
        errors.append(f"unknown mode {mode}")
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
