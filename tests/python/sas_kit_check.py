#!/usr/bin/env python3
"""The ANS SAS test kit's checks of the answer to one of its inputs, replayed with its FHIRPath.

Usage: sas_kit_check.py GROUP EXPECT_JSON < bundle.json
  GROUP: one_place | two_places | multi_cpts | together
  EXPECT_JSON: {"launch": "psindiv" | "cpts", "rpps": ["8…", …], "date_fin": "YYYY-MM-DDThh:mm:ss"}

The kit (ansforge/interop-outil-fhir-sas-test-kit 0.3.0, commit 7f644fa9, folder
lib/sas_test_kit/aggregation/) asks the vendor for practitioners (its inputs practitioner_id to
practitioner_id4), searches their slots from now to the end of the day after tomorrow, and
selects resources with `entry.where(resource.meta.profile = '<url>')`. docs/ans-kit.md lists the
demo's practitioners for each input. Prints a JSON summary; exits 1 with the reasons otherwise.
"""
import json
import re
import sys
from datetime import datetime, timezone

from fhir.resources.R4B.bundle import Bundle
from fhirpathpy import evaluate
from fhirpathpy.models import models

SAS = "http://sas.fr/fhir/StructureDefinition/"
IG = "https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/"
PRACTITIONER = SAS + "FrPractitionerAgregateur"
ROLE = SAS + "FrPractitionerRoleExerciceAgregateur"
SCHEDULE = SAS + "FrScheduleAgregateur"
SERVICE = IG + "sas-cpts-healthcareservice-aggregator"
ORGANIZATION = IG + "sas-cpts-organization-aggregator"
SERVICE_TYPE_EXT = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Slot.serviceType"
CATEGORY = "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/TRE-R66-CategorieEtablissement"
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$")
PHONES = [re.compile(p) for p in (r"^\+33\d{9}$", r"^\+262\d{9}$", r"^\+590\d{9}$", r"^\+596\d{9}$", r"^\+594\d{9}$")]
IDNST = [re.compile(p) for p in (r"^1[0-9]{9}$", r"^3[0-9]{14}$", r"^4[0-9]{14}$")]
errors = []


def expect(cond, message):
    if not cond:
        errors.append(message)


def fp(doc, path):
    # With the R4 model, as the kit's FHIRPath service: `value` resolves `valueReference`.
    return evaluate(doc, path, {}, models["r4"])


def having(doc, profile):
    """The kit's selection: resources whose meta.profile is exactly this one URL."""
    return fp(doc, f"entry.where(resource.meta.profile = '{profile}').resource")


def setup(doc, slot_profile):
    """setup_test.rb: a non-empty Bundle with at least one Slot of the mode's profile."""
    Bundle.model_validate(doc)
    expect(doc.get("entry"), "the Bundle is empty")
    slots = having(doc, slot_profile)
    expect(len(slots) > 0, "no Slot with the mode's profile")
    return slots


def refs(doc):
    """ps_validate_ref / multi_lieux: role -> practitioner, schedule -> both, role -> contained."""
    practitioners = having(doc, PRACTITIONER)
    roles = having(doc, ROLE)
    for r in roles:
        expect(r["practitioner"]["reference"] == "Practitioner/" + practitioners[0]["id"], "role -> practitioner")
        ids = [c["id"] for c in r.get("contained", []) if c["resourceType"] == "Location"]
        expect([loc["reference"] for loc in r["location"]] == ["#" + i for i in ids], "role -> contained Location")
    for s in having(doc, SCHEDULE):
        actors = [a["reference"] for a in s["actor"]]
        expect([a for a in actors if a.startswith("Practitioner/")] == ["Practitioner/" + practitioners[0]["id"]],
               "schedule -> exactly the practitioner")
        expect(any(a in actors for a in ("PractitionerRole/" + r["id"] for r in roles)), "schedule -> a role")


def one_place(doc, exp, slot_profile, slots):
    # ps_validate_cardinality: one of each, and total = the Slots.
    expect(len(having(doc, PRACTITIONER)) == 1, "exactly one Practitioner")
    expect(len(having(doc, ROLE)) == 1, "exactly one PractitionerRole")
    expect(len(having(doc, SCHEDULE)) == 1, "exactly one Schedule")
    expect(fp(doc, f"entry.where(resource.meta.profile = '{ROLE}').resource.contained.count()") == [1],
           "exactly one Location")
    expect(doc["total"] == len(slots), "total counts the Slots")
    # ps_validate_rpps
    values = fp(doc, f"entry.where(resource.meta.profile = '{PRACTITIONER}').resource.identifier.value")
    expect(values[:1] == exp["rpps"][:1] and re.match(r"^8[0-9]{11}$", values[0]), f"RPPS {values}")
    # ps_validate_dates: nothing in the past, nothing after the window's last day, formats.
    now = datetime.now(timezone.utc)
    last_day = exp["date_fin"][:10]
    for s in slots:
        expect(datetime.fromisoformat(s["start"]) >= now, f"slot {s['id']} starts in the past")
        expect(s["start"][:10] <= last_day, f"slot {s['id']} after {last_day}")
        expect(TIME.match(s["start"]) and TIME.match(s.get("end", "")), f"slot {s['id']} time format")
        expect(s["start"] < s["end"], f"slot {s['id']} start < end")
        expect(s["status"] == "free", "status free")  # ps_validate_slots_status
        codes = [c["code"] for c in s.get("appointmentType", {}).get("coding", [])]
        expect(codes and all(c in ("ROUTINE", "WALKIN") for c in codes), "appointmentType")
    # The input's promise: free slots until the day after tomorrow (the window's last day).
    expect(any(s["start"][:10] == last_day for s in slots), f"no free slot on {last_day}")
    # ps_slot_has_url (PS indiv slots), ps_validate_location
    expect(fp(doc, f"entry.where(resource.meta.profile = '{SAS}FrSlotAgregateur').resource.all(comment.exists())")
           == [True], "a booking URL on every slot")
    address = fp(doc, f"entry.where(resource.meta.profile = '{ROLE}').resource.contained.address")
    expect(address and address[0].get("line") and address[0].get("city")
           and re.match(r"^[0-9]{5}$", address[0].get("postalCode", "")), "address line, city, 5-digit postal code")
    refs(doc)
    # practitioner_optionnel_group: names, the place's phone and IDNST.
    expect(fp(doc, f"entry.where(resource.meta.profile = '{PRACTITIONER}').resource.name.family"), "family name")
    expect(fp(doc, f"entry.where(resource.meta.profile = '{PRACTITIONER}').resource.name.given"), "given name")
    phone = fp(doc, f"entry.where(resource.meta.profile = '{ROLE}').resource.telecom.value")
    expect(phone and any(p.match(phone[0]) for p in PHONES), f"role phone {phone}")
    idnst = fp(doc, f"entry.where(resource.meta.profile = '{ROLE}').resource.organization.identifier.value")
    expect(idnst and any(p.match(idnst[0]) for p in IDNST), f"role IDNST {idnst}")
    # options_slot_group: the slot types and consultation modes the operator declares.
    summary = {"slots": len(slots), "last_day": last_day,
               "slot_types": sorted(fp(doc, f"entry.where(resource.meta.profile = '{slot_profile}').resource"
                                        ".meta.security.code.distinct()")),
               "modes": sorted(c for c in fp(doc, f"entry.where(resource.meta.profile = '{slot_profile}').resource"
                                              ".serviceType.coding.code.distinct()") if c != "604")}
    if exp["launch"] == "cpts":
        services = having(doc, SERVICE)
        orgs = having(doc, ORGANIZATION)
        # validate_cardinality_cpts, validate_ref_cpts, validate_cpts_id: exactly one CPTS here.
        expect(len(services) > 0 and len(orgs) > 0 and len(services) == len(orgs), "HealthcareService = Organization")
        expect(len(services) == 1, f"linked to exactly one CPTS ({len(services)})")
        if services and orgs:
            expect(services[0]["providedBy"]["reference"] == "Organization/" + orgs[0]["id"], "providedBy")
            links = fp(doc, f"entry.resource.where(meta.profile = '{IG}sas-cpts-slot-aggregator').serviceType"
                            f".where(coding.code = '604').extension.where(url = '{SERVICE_TYPE_EXT}' and value is Reference)"
                            f".value.reference")
            expect(links and all(r == "HealthcareService/" + services[0]["id"] for r in links), f"604 links {links}")
            expect(re.match(r"^1[0-9]{9}$", orgs[0]["identifier"][0]["value"]), "CPTS id 1 + FINESS")
            # orga_optionnel_group_cpts: the CPTS's name and phone.
            expect(orgs[0].get("name"), "the CPTS's name")
            expect(fp(doc, f"entry.where(resource.meta.profile = '{ORGANIZATION}').resource.telecom.value"),
                   "the CPTS's phone")
            summary["cpts"] = orgs[0].get("name")
        summary["cpts_slots"] = len([s for s in slots if any(c["code"] == "CPTS" for c in s["meta"].get("security", []))])
    return summary


def two_places(doc):
    # multi_lieux_group: one Practitioner, two roles, two schedules, and their references.
    expect(len(having(doc, PRACTITIONER)) == 1, "exactly one Practitioner")
    expect(len(having(doc, ROLE)) == 2, f"exactly two PractitionerRoles ({len(having(doc, ROLE))})")
    expect(len(having(doc, SCHEDULE)) == 2, f"exactly two Schedules ({len(having(doc, SCHEDULE))})")
    refs(doc)
    return {"roles": len(having(doc, ROLE))}


def multi_cpts(doc, slots):
    # single_practitioner_multiple_cpts: two_slot_two_cpts and single_slot_two_cpts.
    services = having(doc, SERVICE)
    orgs = having(doc, ORGANIZATION)
    expect(len(services) >= 2, f"at least two HealthcareServices ({len(services)})")
    expect(len(orgs) >= 2, f"at least two Organizations ({len(orgs)})")
    codes = fp(doc, f"entry.where(resource.meta.profile = '{IG}sas-cpts-slot-aggregator').resource.meta.security.code.distinct()")
    expect(codes == ["CPTS"], f"every slot CPTS-only ({codes})")
    expect(any(c.get("system") == CATEGORY and c.get("code") == "604"
               for s in slots for st in s.get("serviceType", []) for c in st.get("coding", [])), "a 604 serviceType")
    hs_refs = {"HealthcareService/" + h["id"] for h in services}
    per_slot = []
    for s in slots:
        linked = [e["valueReference"]["reference"] for st in s.get("serviceType", [])
                  for e in st.get("extension", []) if e["url"] == SERVICE_TYPE_EXT]
        expect(all(r in hs_refs for r in linked), f"slot {s['id']} links to included HealthcareServices")
        per_slot.append(sorted(set(linked)))
    expect(any(len(r) >= 2 for r in per_slot), "a slot shared by two CPTS")
    singles = {r[0] for r in per_slot if len(r) == 1}
    expect(len(singles) >= 2, f"a slot for one CPTS and another for another ({sorted(singles)})")
    org_refs = {"Organization/" + o["id"] for o in orgs}
    provided = [h["providedBy"]["reference"] for h in services]
    expect(all(p in org_refs for p in provided) and len(set(provided)) >= 2, "HealthcareService -> two Organizations")
    return {"cpts": sorted(o["identifier"][0]["value"] for o in orgs), "shared": sum(len(r) >= 2 for r in per_slot)}


def together(doc, exp):
    # search_multiple_ps_group: exactly two Practitioners, at least two roles and schedules.
    values = sorted(fp(doc, f"entry.where(resource.meta.profile = '{PRACTITIONER}').resource.identifier.value"))
    expect(values == sorted(exp["rpps"]), f"exactly the two Practitioners ({values})")
    expect(len(having(doc, ROLE)) >= 2, "at least two PractitionerRoles")
    expect(len(having(doc, SCHEDULE)) >= 2, "at least two Schedules")
    return {"practitioners": values}


def main():
    group, exp = sys.argv[1], json.loads(sys.argv[2])
    doc = json.load(sys.stdin)
    slot_profile = SAS + "FrSlotAgregateur" if exp["launch"] == "psindiv" else IG + "sas-cpts-slot-aggregator"
    slots = setup(doc, slot_profile)
    summary = {}
    if not errors:
        if group == "one_place":
            summary = one_place(doc, exp, slot_profile, slots)
        elif group == "two_places":
            summary = two_places(doc)
        elif group == "multi_cpts":
            summary = dict(two_places(doc), **multi_cpts(doc, slots))
        elif group == "together":
            summary = together(doc, exp)
        else:
            errors.append(f"unknown group {group}")
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
