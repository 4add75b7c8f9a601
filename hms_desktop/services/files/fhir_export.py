"""A patient's complete record as a FHIR R4 Bundle (plain JSON, no FHIR library at run time).

The bundle is a ``transaction`` another system can import as it is (POST to its
base URL): the Patient, the clinic as Organization, each doctor seen as a
Practitioner, and per visit:

- a completed visit: an Encounter (finished), a Condition for its diagnosis, a
  Procedure for the treatment given, a MedicationRequest for the prescription, and
  Observations for the symptoms and the doctor's notes;
- any other visit (upcoming, cancelled, no-show, booked but never closed): an
  Appointment with the matching status.

Resources refer to each other by ``urn:uuid`` full URLs. The UUIDs derive from the
clinic's UUID and its own ids, so exporting twice gives the same bundle, and every
resource carries an identifier in a system of this clinic
(``https://hms-desktop.invalid/clinic/<clinic UUID>/patient``...) with a conditional
create (``ifNoneExist``) so importing twice does not duplicate it, and importing two
clinics' bundles never merges one clinic's patient 95 with the other's. Text is written
exactly as recorded: JSON has no formulas to defuse.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hms_desktop.services.files.history_data import DoctorInfo, PatientRecord, Visit
from hms_desktop.services.scheduling.visit_times import visit_span
from hms_desktop.services.views import VISIT_LABELS

FHIR_VERSION = "4.0.1"
#: Identifier systems are ``<this>/<clinic UUID>/<kind>`` (``.invalid``: a name that is
#: never anyone else's and is not meant to be fetched; FHIR asks only for a unique URI).
_SYSTEM_BASE = "https://hms-desktop.invalid/clinic"
#: Our appointment statuses as FHIR Appointment.status codes.
APPOINTMENT_STATUS = {"booked": "booked", "cancelled": "cancelled", "no_show": "noshow"}
#: FHIR administrative gender codes for the genders people are recorded with.
GENDERS = {"female": "female", "f": "female", "male": "male", "m": "male", "other": "other"}
#: Words before a name that are titles (FHIR HumanName.prefix), without their dot.
_TITLES = frozenset({"dr", "prof"})
_AMBULATORY = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
    "code": "AMB",
    "display": "ambulatory",
}


@dataclass(frozen=True)
class _Ids:
    """Full URLs and identifiers of one clinic's resources.

    Identifier systems name the clinic by its UUID, so patient 95 of one clinic and
    patient 95 of another stay two patients in a system that imports both; full URLs
    derive from it too, so a bundle is the same every time it is exported.
    """

    clinic: uuid.UUID

    def system(self, kind: str) -> str:
        return f"{_SYSTEM_BASE}/{self.clinic}/{kind}"

    def urn(self, kind: str, key: object) -> str:
        return f"urn:uuid:{uuid.uuid5(self.clinic, f'{kind}/{key}')}"

    def entry(
        self, resource_type: str, kind: str, key: object, resource: dict[str, Any]
    ) -> dict[str, Any]:
        ident = {"system": self.system(kind), "value": str(key)}
        return _entry(resource_type, self.urn(kind, key), ident, resource)


def _entry(
    resource_type: str, full_url: str, ident: dict[str, str], resource: dict[str, Any]
) -> dict[str, Any]:
    """A conditional create (``ifNoneExist`` on the identifier): importing twice adds nothing."""
    resource = {"resourceType": resource_type, "identifier": [ident], **resource}
    return {
        "fullUrl": full_url,
        "resource": resource,
        "request": {
            "method": "POST",
            "url": resource_type,
            "ifNoneExist": f"identifier={ident['system']}|{ident['value']}",
        },
    }


def _human_name(full_name: str) -> dict[str, Any]:
    """The name as written (``text``); prefix, given and family are a guess from its words.

    Leading titles ("Dr.", "Prof") are the prefix, never a given name or the family
    name; of the rest, the last word is the family name and the others are given.
    """
    parts = full_name.split()
    titles = 0
    while titles < len(parts) and parts[titles].rstrip(".").lower() in _TITLES:
        titles += 1
    name: dict[str, Any] = {"text": full_name}
    rest = parts[titles:]
    if rest:
        name["family"] = rest[-1]
    if len(rest) > 1:
        name["given"] = rest[:-1]
    if titles:
        name["prefix"] = parts[:titles]
    return name


def _telecom(phone: str, email: str) -> list[dict[str, str]]:
    out = []
    if phone.strip():
        out.append({"system": "phone", "value": phone.strip()})
    if email.strip():
        out.append({"system": "email", "value": email.strip()})
    return out


def _text(value: str) -> dict[str, str]:
    return {"text": value}


def _patient(ids: _Ids, record: PatientRecord) -> dict[str, Any]:
    resource: dict[str, Any] = {"active": True, "name": [_human_name(record.full_name)]}
    telecom = _telecom(record.phone, record.email)
    if telecom:
        resource["telecom"] = telecom
    gender = GENDERS.get(record.gender.strip().lower())
    if gender or record.gender.strip():
        resource["gender"] = gender or "unknown"
    if record.date_of_birth is not None:
        resource["birthDate"] = record.date_of_birth.isoformat()
    if record.address.strip():
        resource["address"] = [{"text": record.address.strip()}]
    return ids.entry("Patient", "patient", record.patient_id, resource)


def _organization(ids: _Ids, name: str, address: str) -> dict[str, Any]:
    """The clinic, identified by its UUID as a URI (the FHIR way to write one)."""
    resource: dict[str, Any] = {"active": True, "name": name}
    if address.strip():
        resource["address"] = [{"text": address.strip()}]
    ident = {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{ids.clinic}"}
    return _entry("Organization", ids.urn("organization", "clinic"), ident, resource)


def _practitioner(ids: _Ids, doctor: DoctorInfo) -> dict[str, Any]:
    resource: dict[str, Any] = {"active": True, "name": [_human_name(doctor.full_name)]}
    telecom = _telecom(doctor.phone, doctor.email)
    if telecom:
        resource["telecom"] = telecom
    if doctor.qualification.strip():
        resource["qualification"] = [{"code": _text(doctor.qualification.strip())}]
    return ids.entry("Practitioner", "practitioner", doctor.id, resource)


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _visit_entries(
    ids: _Ids, record: PatientRecord, visit: Visit, tz: ZoneInfo, patient_ref: dict[str, str]
) -> list[dict[str, Any]]:
    doctor = record.doctors[visit.doctor_id]
    doctor_ref = {"reference": ids.urn("practitioner", doctor.id), "display": doctor.full_name}
    start, end = visit_span(visit.day, visit.start, visit.minutes, tz)
    visit_type = _text(VISIT_LABELS.get(visit.visit_type, visit.visit_type))
    key = visit.appointment_id
    if visit.status != "completed":
        appointment: dict[str, Any] = {
            "status": APPOINTMENT_STATUS.get(visit.status, "booked"),
            "appointmentType": visit_type,
            "serviceType": [_text(doctor.department)],
            "start": _instant(start),
            "end": _instant(end),
            "minutesDuration": visit.minutes,
            "participant": [
                {"actor": patient_ref, "status": "accepted"},
                {"actor": doctor_ref, "status": "accepted"},
            ],
        }
        if visit.reason.strip():
            appointment["description"] = visit.reason.strip()
        return [ids.entry("Appointment", "appointment", key, appointment)]
    encounter_ref = {"reference": ids.urn("encounter", key)}
    encounter: dict[str, Any] = {
        "status": "finished",
        "class": _AMBULATORY,
        "type": [visit_type],
        "serviceType": _text(doctor.department),
        "subject": patient_ref,
        "participant": [{"individual": doctor_ref}],
        "period": {"start": _instant(start), "end": _instant(end)},
        "serviceProvider": {"reference": ids.urn("organization", "clinic")},
    }
    if visit.reason.strip():
        encounter["reasonCode"] = [_text(visit.reason.strip())]
    entries = [ids.entry("Encounter", "encounter", key, encounter)]
    when = _instant(start)
    common = {"subject": patient_ref, "encounter": encounter_ref}
    if visit.diagnosis.strip():
        entries.append(
            ids.entry(
                "Condition",
                "condition",
                key,
                {
                    "code": _text(visit.diagnosis),
                    **common,
                    "onsetDateTime": when,
                    "recordedDate": when,
                    "recorder": doctor_ref,
                },
            )
        )
    if visit.treatment_given.strip():
        entries.append(
            ids.entry(
                "Procedure",
                "procedure",
                key,
                {
                    "status": "completed",
                    "code": _text(visit.treatment_given),
                    **common,
                    "performedDateTime": when,
                    "performer": [{"actor": doctor_ref}],
                },
            )
        )
    if visit.prescription.strip():
        entries.append(
            ids.entry(
                "MedicationRequest",
                "medication-request",
                key,
                {
                    # Whether the patient still takes it is not recorded: say so.
                    "status": "unknown",
                    "intent": "order",
                    "medicationCodeableConcept": _text(visit.prescription),
                    **common,
                    "authoredOn": when,
                    "requester": doctor_ref,
                    "dosageInstruction": [{"text": visit.prescription}],
                },
            )
        )
    for kind, label, value in (
        ("symptoms", "Symptoms", visit.symptoms),
        ("note", "Clinical note", visit.notes),
    ):
        if value.strip():
            entries.append(
                ids.entry(
                    "Observation",
                    f"observation-{kind}",
                    key,
                    {
                        "status": "final",
                        "code": _text(label),
                        **common,
                        "effectiveDateTime": when,
                        "performer": [doctor_ref],
                        "valueString": value,
                    },
                )
            )
    return entries


def build_bundle(
    record: PatientRecord,
    *,
    tz: ZoneInfo,
    clinic_id: uuid.UUID,
    clinic_name: str,
    clinic_address: str = "",
    generated_at: datetime,
) -> dict[str, Any]:
    """The FHIR R4 transaction Bundle of ``record`` as a JSON-ready dict.

    ``clinic_id`` (:func:`~hms_desktop.services.clinic_settings.identity.clinic_id`) is
    in every identifier system, so two clinics' bundles never claim each other's
    patients; ``clinic_name`` names the Organization ("Clinic" when it has none).
    """
    ids = _Ids(clinic_id)
    patient_ref = {"reference": ids.urn("patient", record.patient_id), "display": record.full_name}
    entries = [
        _patient(ids, record),
        _organization(ids, clinic_name.strip() or "Clinic", clinic_address),
    ]
    entries += [_practitioner(ids, record.doctors[i]) for i in sorted(record.doctors)]
    for visit in record.visits:
        entries += _visit_entries(ids, record, visit, tz, patient_ref)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(clinic_id, f"bundle/{record.patient_id}")),
        "meta": {"lastUpdated": _instant(generated_at)},
        "type": "transaction",
        "timestamp": _instant(generated_at),
        "entry": entries,
    }


def bundle_json(bundle: dict[str, Any]) -> bytes:
    """UTF-8 JSON, indented for a person who opens it; non-ASCII kept as written."""
    return (json.dumps(bundle, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
