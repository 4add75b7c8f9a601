"""A first end-to-end pass over the core services on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hms_desktop.errors import SlotTakenError
from hms_desktop.services.records import records
from hms_desktop.services.records.records import TreatmentForm
from hms_desktop.services.scheduling import availability, booking
from tests import factories as f


def test_book_complete_record_history(clinic, clock) -> None:
    w = f.world(clinic)
    slots = availability.free_slots(clinic, w.doctor_id, w.day)
    assert len(slots) == 6
    appt = booking.book(
        clinic, f.RECEPTION, patient_id=w.patient_id, doctor_id=w.doctor_id, day=w.day, at="09:00"
    )
    assert len(availability.free_slots(clinic, w.doctor_id, w.day)) == 5
    with pytest.raises(SlotTakenError):
        booking.book(
            clinic,
            f.RECEPTION,
            patient_id=w.other_patient_id,
            doctor_id=w.doctor_id,
            day=w.day,
            at="09:00",
        )
    clock.advance(timedelta(days=1, hours=1))
    doc = f.doctor_actor(w.doctor_id)
    booking.complete(clinic, doc, appt)
    records.record_treatment(
        clinic, doc, appt, TreatmentForm(symptoms="cough", diagnosis='cold, "mild"\nrest')
    )
    history = records.patient_history(clinic, f.patient_actor(w.patient_id), w.patient_id)
    assert [(h.doctor, h.diagnosis) for h in history] == [
        ("Dr. Ada Lovelace", 'cold, "mild"\nrest')
    ]
