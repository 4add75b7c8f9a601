"""FHIR history export: a demo patient's bundle validates against the FHIR models and
holds exactly what the database holds."""

from __future__ import annotations

import importlib
import json
from collections import Counter
from datetime import datetime, time
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select, update

from hms_desktop.db.models import Appointment, Patient, Treatment
from hms_desktop.errors import PermissionDeniedError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clinic_settings.identity import clinic_id
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.demo import generator as demo_data
from hms_desktop.services.files import record_exports
from hms_desktop.services.policy import CareRelationshipRequiredError
from hms_desktop.services.records import records
from hms_desktop.services.records.records import TreatmentForm
from hms_desktop.services.safety import audit
from hms_desktop.services.scheduling import booking
from tests import factories as f
from tests.conftest import _fresh_sqlite, make_clinic
from tests.exports.conftest import leftovers
from tests.exports.helpers import FORMULA_LIKE

NAME = "Zoë Ångström-Łukasiewicz 王"

#: The front desk exports a record only at the patient's own request.
ASKED = "the patient asked for a copy at the desk"


def _demo_patient(clinic: Clinic) -> int:
    """The demo patient with the most treated visits, given unicode and formula-looking text."""
    demo_data.generate(clinic, seed=5, doctors=4, patients=30, appointments=300, days_back=60)
    with clinic.db.write() as session:
        patient_id = session.execute(
            select(Appointment.patient_id, func.count())
            .join(Treatment, Treatment.appointment_id == Appointment.id)
            .group_by(Appointment.patient_id)
            .order_by(func.count().desc(), Appointment.patient_id)
            .limit(1)
        ).one()[0]
        session.execute(update(Patient).where(Patient.id == patient_id).values(full_name=NAME))
        treatment_id = session.scalars(
            select(Treatment.id)
            .join(Appointment, Appointment.id == Treatment.appointment_id)
            .where(Appointment.patient_id == patient_id)
            .order_by(Treatment.id)
        ).first()
        session.execute(
            update(Treatment)
            .where(Treatment.id == treatment_id)
            .values(
                diagnosis=FORMULA_LIKE[0] + " Grippe — 流感",
                symptoms=FORMULA_LIKE[1],
                treatment_given=FORMULA_LIKE[2],
                prescription=FORMULA_LIKE[3] + " Ибупрофен",
                notes='"quoted" \\ back\nslash ✓',
            )
        )
    return int(patient_id)


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_a_demo_patients_bundle_validates_and_matches_the_database(
    clinic: Clinic, tmp_path: Path
) -> None:
    f.set_settings(clinic, clinic_name="Praxis Mitte")
    patient_id = _demo_patient(clinic)
    target = tmp_path / "record.json"

    result = record_exports.export_record(
        clinic, f.RECEPTION, patient_id, target, "fhir", patient_request=ASKED
    )

    assert result.path == target
    data = json.loads(target.read_text(encoding="utf-8"))
    # The whole bundle, and each resource by its own R4 model.
    Bundle.model_validate(data)
    for entry in data["entry"]:
        kind = entry["resource"]["resourceType"]
        model = getattr(importlib.import_module(f"fhir.resources.R4B.{kind.lower()}"), kind)
        model.model_validate(entry["resource"])

    with clinic.db.read() as session:
        by_status = Counter(
            session.scalars(select(Appointment.status).where(Appointment.patient_id == patient_id))
        )
        diagnoses = session.scalar(
            select(func.count())
            .select_from(Treatment)
            .join(Appointment, Appointment.id == Treatment.appointment_id)
            .where(Appointment.patient_id == patient_id, Treatment.diagnosis != "")
        )
        doctors = session.scalar(
            select(func.count(func.distinct(Appointment.doctor_id))).where(
                Appointment.patient_id == patient_id
            )
        )
    kinds = Counter(e["resource"]["resourceType"] for e in data["entry"])
    assert kinds["Encounter"] == by_status["completed"] > 0
    assert kinds["Condition"] == diagnoses > 0
    assert kinds["Appointment"] == sum(by_status.values()) - by_status["completed"]
    assert (kinds["Patient"], kinds["Organization"], kinds["Practitioner"]) == (1, 1, doctors)
    assert result.rows == sum(by_status.values())

    # Text leaves exactly as recorded; every reference points inside the bundle.
    [patient] = _resources(data, "Patient")
    assert patient["name"][0]["text"] == NAME
    conditions = [c["code"]["text"] for c in _resources(data, "Condition")]
    assert "=SUM(A1) Grippe — 流感" in conditions
    notes = [o["valueString"] for o in _resources(data, "Observation")]
    assert '"quoted" \\ back\nslash ✓' in notes and "+1" in notes
    urls = {e["fullUrl"] for e in data["entry"]}
    references = {
        v["reference"]
        for r in (e["resource"] for e in data["entry"])
        for v in _walk(r)
        if isinstance(v, dict) and "reference" in v
    }
    assert references <= urls
    assert data["type"] == "transaction"
    assert all(e["request"]["method"] == "POST" for e in data["entry"])
    # The same record gives the same bundle (ids derive from the clinic's own ids).
    again = record_exports.export_record(
        clinic, f.RECEPTION, patient_id, tmp_path / "again.json", "fhir", patient_request=ASKED
    )
    assert json.loads(again.path.read_text(encoding="utf-8"))["entry"] == data["entry"]
    entry = audit.list_entries(clinic, SYSTEM, action_prefix="history.export")[0]
    assert json.loads(entry.details)["format"] == "fhir"


def _walk(value: Any) -> list[Any]:
    found = [value]
    if isinstance(value, dict):
        for v in value.values():
            found += _walk(v)
    elif isinstance(value, list):
        for v in value:
            found += _walk(v)
    return found


def test_a_stranger_gets_no_bundle_and_the_refusal_is_audited(
    clinic: Clinic, out_dir: Path
) -> None:
    mine, other = f.patient(clinic), f.patient(clinic)
    with pytest.raises(PermissionDeniedError):
        record_exports.export_record(
            clinic, f.patient_actor(mine), other, out_dir / "x.json", "fhir"
        )
    assert leftovers(out_dir) == []
    entry = audit.list_entries(clinic, SYSTEM, action_prefix="history.export")[0]
    assert json.loads(entry.details)["outcome"] == "refused"


def test_the_record_is_exported_under_the_historys_own_rule(clinic: Clinic, out_dir: Path) -> None:
    """A FHIR bundle or a PDF holds the clinical record as a CSV export does, so the same
    rule holds (it did not: the front desk exported any record without the patient's
    request, and a doctor any patient ever booked with them): the front desk only at the
    patient's request, a doctor only in care."""
    world = f.world(clinic)
    booking.book(clinic, SYSTEM, patient_id=world.patient_id, doctor_id=world.doctor_id,
                 day=world.day, at="09:00")  # fmt: skip
    for who, kind in ((f.RECEPTION, PermissionDeniedError),
                      (f.doctor_actor(world.doctor_id), CareRelationshipRequiredError)):  # fmt: skip
        with pytest.raises(kind):
            record_exports.export_record(clinic, who, world.patient_id, out_dir / "x.json", "fhir")
    assert leftovers(out_dir) == []
    made = record_exports.export_record(
        clinic, f.RECEPTION, world.patient_id, out_dir / "x.json", "fhir", patient_request=ASKED
    )
    assert made.path.exists()
    outcomes = [
        json.loads(e.details)
        for e in audit.list_entries(clinic, SYSTEM, action_prefix="history.export")
    ]
    assert [o["outcome"] for o in reversed(outcomes)] == ["refused", "refused", "completed"]
    assert outcomes[0]["patient_request"] == ASKED


def _validate(data: dict[str, Any]) -> None:
    Bundle.model_validate(data)
    for entry in data["entry"]:
        kind = entry["resource"]["resourceType"]
        model = getattr(importlib.import_module(f"fhir.resources.R4B.{kind.lower()}"), kind)
        model.model_validate(entry["resource"])


def _export(clinic: Clinic, patient_id: int, target: Path) -> dict[str, Any]:
    record_exports.export_record(
        clinic, f.RECEPTION, patient_id, target, "fhir", patient_request=ASKED
    )
    data = json.loads(target.read_text(encoding="utf-8"))
    _validate(data)
    return dict(data)


def test_two_clinics_bundles_never_claim_each_others_patients(
    clinic: Clinic,
    clock: FakeClock,
    tmp_path: Path,
    sqlite_template: Path,
) -> None:
    """Patient 1 of one clinic and patient 1 of another: same number, two identities."""
    (tmp_path / "other").mkdir()
    other = make_clinic(_fresh_sqlite(sqlite_template, tmp_path / "other"), clock)
    try:
        f.set_settings(clinic, clinic_name="Praxis Mitte", clinic_address="Hauptstraße 1")
        bundles = []
        for c in (clinic, other):
            w = f.world(c)
            appt = booking.book(
                c, f.RECEPTION, patient_id=w.patient_id, doctor_id=w.doctor_id, day=w.day,
                at="09:00",
            )  # fmt: skip
            clock.set(datetime.combine(w.day, time(18, 0)))
            booking.complete(c, f.doctor_actor(w.doctor_id), appt)
            records.record_treatment(
                c, f.doctor_actor(w.doctor_id), appt, TreatmentForm(diagnosis="Grippe")
            )
            bundles.append(_export(c, w.patient_id, tmp_path / f"{len(bundles)}.json"))
        ids = [clinic_id(clinic), clinic_id(other)]
    finally:
        other.close()

    assert ids[0] != ids[1]
    patients = [_resources(b, "Patient")[0]["identifier"][0] for b in bundles]
    assert patients[0]["value"] == patients[1]["value"]  # the same number in both clinics
    assert patients[0]["system"] != patients[1]["system"]
    for bundle, own in zip(bundles, ids, strict=True):
        [org] = _resources(bundle, "Organization")
        assert org["identifier"] == [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{own}"}]
        for entry in bundle["entry"]:
            [ident] = entry["resource"]["identifier"]
            assert str(own) in ident["system"] + ident["value"]
            assert entry["request"]["ifNoneExist"] == (
                f"identifier={ident['system']}|{ident['value']}"
            )
        assert "urn:hms-desktop" not in json.dumps(bundle)
    urls = [{e["fullUrl"] for e in b["entry"]} for b in bundles]
    assert urls[0].isdisjoint(urls[1]) and bundles[0]["id"] != bundles[1]["id"]
    names = [_resources(b, "Organization")[0] for b in bundles]
    assert names[0]["name"] == "Praxis Mitte"
    assert names[0]["address"] == [{"text": "Hauptstraße 1"}]
    assert names[1]["name"] == "Clinic"  # no name set: still a valid Organization


def test_a_doctors_title_is_the_names_prefix_never_a_given_name(
    clinic: Clinic, tmp_path: Path
) -> None:
    w = f.world(clinic)
    names = {
        "Dr. Jürgen Müller": {"prefix": ["Dr."], "given": ["Jürgen"], "family": "Müller"},
        "Dr. Weber": {"prefix": ["Dr."], "family": "Weber"},
        "Prof Dr Anna Ruiz": {"prefix": ["Prof", "Dr"], "given": ["Anna"], "family": "Ruiz"},
        "Grace Hopper": {"given": ["Grace"], "family": "Hopper"},
    }
    for n, name in enumerate(names):
        doctor_id = f.doctor(clinic, w.department_id, name)
        f.open_day(clinic, doctor_id, w.day)
        booking.book(
            clinic, f.RECEPTION, patient_id=w.patient_id, doctor_id=doctor_id, day=w.day,
            at=f"{9 + n // 2:02d}:{30 * (n % 2):02d}",
        )  # fmt: skip

    data = _export(clinic, w.patient_id, tmp_path / "record.json")

    written = {p["name"][0]["text"]: p["name"][0] for p in _resources(data, "Practitioner")}
    for text, parts in names.items():
        assert written[text] == {"text": text, **parts}
