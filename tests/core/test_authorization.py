"""The authorization matrix: every role against every service operation.

Each operation runs once per role on a fresh target (its own booking, where it
changes one), and must either succeed or raise PermissionDeniedError, exactly as
the table says. A refused operation must leave no trace: the audit log, which
every write extends, does not grow.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select

from hms_desktop.db.models import AuditEntry
from hms_desktop.errors import PermissionDeniedError
from hms_desktop.services.actor import SYSTEM, Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.files import exports
from hms_desktop.services.people import accounts, doctors, patients, users
from hms_desktop.services.records import records, stats
from hms_desktop.services.safety import audit
from hms_desktop.services.scheduling import availability, booking
from tests import factories as f

ROLES = ("admin", "receptionist", "doctor_own", "doctor_other", "patient_self", "patient_other")
STAFF = {"admin", "receptionist"}
CARE = STAFF | {"doctor_own", "patient_self"}
#: Clinical fields: the patient and the doctor in a care relationship, not the desk.
CLINICAL = {"doctor_own", "patient_self"}
REASON = "Unconscious patient brought in, allergies unknown"

#: operation -> the roles allowed to run it (everyone else gets PermissionDeniedError).
MATRIX: dict[str, set[str]] = {
    "list_appointments": CARE,
    "get_appointment": CARE,
    "book": STAFF | {"patient_self"},
    "cancel": CARE,
    "reschedule": STAFF | {"patient_self"},
    "complete": STAFF | {"doctor_own"},
    "mark_no_show": STAFF | {"doctor_own"},
    "record_treatment": {"doctor_own"},
    "amend_treatment": {"doctor_own"},
    "read_treatment": CLINICAL,
    "read_versions": CLINICAL,
    "read_history": CLINICAL,
    # doctor_own has only a booking ahead with the other patient: no care relationship.
    "read_history_booked_only": {"patient_other"},
    "read_history_emergency": {"doctor_own", "doctor_other", "patient_other"},
    "export_history": CLINICAL,
    "export_history_patient_request": CLINICAL | STAFF,
    "get_patient": CARE,
    "edit_patient": STAFF | {"patient_self"},
    "search_patients": STAFF,
    "blacklist_patient": STAFF,
    "blacklist_doctor": STAFF,
    "add_doctor": STAFF,
    "edit_doctor": STAFF,
    "save_department": STAFF,
    "set_availability": STAFF | {"doctor_own"},
    "create_user": {"admin"},
    "list_users": {"admin"},
    "disable_user": {"admin"},
    "unlock_user": {"admin"},
    "reset_password": {"admin"},
    "list_emergency_access": {"admin"},
    "read_audit": {"admin"},
    "dashboard_stats": STAFF,
}


@dataclass
class Ctx:
    """Doctor D (own) has a live booking with patient P (self); D2 and P2 are strangers."""

    w: f.World
    actors: dict[str, Actor]
    base_appointment: int
    today: date
    treated: int | None = None
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count())

    @property
    def clinic(self) -> Clinic:
        return self.w.clinic

    @property
    def export_dir(self) -> Path:
        folder = self.clinic.pc.effective_export_dir
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _slot(self, day: date) -> time:
        free = availability.free_slots(self.clinic, self.w.doctor_id, day)
        return free[0].time

    def fresh_booking(self, *, today: bool = False) -> int:
        day = self.today if today else self.w.day
        return booking.book(
            self.clinic,
            SYSTEM,
            patient_id=self.w.patient_id,
            doctor_id=self.w.doctor_id,
            day=day,
            at=self._slot(day),
        )

    def fresh_completed(self) -> int:
        appt = self.fresh_booking(today=True)
        booking.complete(self.clinic, SYSTEM, appt, early_close=True)
        return appt

    def next_slot(self) -> time:
        return self._slot(self.w.day)

    def n(self) -> int:
        return next(self._seq)


def _make_ctx(clinic: Clinic) -> Ctx:
    w = f.world(clinic)
    today = clinic.today()  # 09:00 on the fake clock
    # Enough slots for a fresh booking per operation and role.
    f.open_day(clinic, w.doctor_id, w.day, "07:00", "20:00")
    f.open_day(clinic, w.doctor_id, today, "09:30", "20:00")
    base = booking.book(
        clinic, SYSTEM, patient_id=w.patient_id, doctor_id=w.doctor_id, day=w.day, at="08:00"
    )
    # Care: the own doctor sees the patient today. With the other patient, the same doctor
    # has only a booking ahead, which is not yet care.
    seen = booking.book(
        clinic, SYSTEM, patient_id=w.patient_id, doctor_id=w.doctor_id, day=today, at="09:30"
    )
    booking.complete(clinic, SYSTEM, seen, early_close=True)
    booking.book(
        clinic, SYSTEM, patient_id=w.other_patient_id, doctor_id=w.doctor_id, day=w.day, at="08:30"
    )
    actors = {
        "admin": Actor(user_id=None, username="boss", role="admin"),
        "receptionist": f.RECEPTION,
        "doctor_own": f.doctor_actor(w.doctor_id),
        "doctor_other": f.doctor_actor(w.other_doctor_id),
        "patient_self": f.patient_actor(w.patient_id),
        "patient_other": f.patient_actor(w.other_patient_id),
    }
    return Ctx(w, actors, base, today)


Run = Callable[[Ctx, Actor, object], object]
Prepare = Callable[[Ctx], object]


def _none(c: Ctx) -> None:
    return None


def _list(c: Ctx, a: Actor, _: object) -> None:
    flt = booking.AppointmentFilter(doctor_id=c.w.doctor_id, patient_id=c.w.patient_id)
    assert c.base_appointment in [r.id for r in booking.list_appointments(c.clinic, a, flt)]


def _edit_patient(c: Ctx, a: Actor, _: object) -> None:
    form = patients.PatientForm(f"José Núñez {'I' * (c.n() + 1)}", phone="+34 600 123 456")
    patients.edit_patient(c.clinic, a, c.w.patient_id, form)


def _blacklist_patient(c: Ctx, a: Actor, _: object) -> None:
    patients.set_blacklisted(c.clinic, a, c.w.other_patient_id, True)
    patients.set_blacklisted(c.clinic, SYSTEM, c.w.other_patient_id, False)


def _blacklist_doctor(c: Ctx, a: Actor, _: object) -> None:
    doctors.set_blacklisted(c.clinic, a, c.w.other_doctor_id, True)
    doctors.set_blacklisted(c.clinic, SYSTEM, c.w.other_doctor_id, False)


def _set_availability(c: Ctx, a: Actor, _: object) -> None:
    day = c.today + timedelta(days=3)
    end = time(10 + c.n() % 12, 0)
    availability.set_day(c.clinic, a, c.w.doctor_id, day, [("09:00", end)])


def _dashboard(c: Ctx, a: Actor, _: object) -> None:
    service = stats.StatsService(c.clinic)
    try:
        assert service.dashboard(a).stats.appointments >= 1
    finally:
        service.close()


def _treated(c: Ctx) -> int:
    """One treated visit for every role: a refused amendment leaves it as it was."""
    if c.treated is None:
        c.treated = c.fresh_completed()
        form = records.TreatmentForm(diagnosis="flu")
        records.record_treatment(c.clinic, SYSTEM, c.treated, form)
    return c.treated


def _new_user(c: Ctx) -> int:
    return accounts.create_user(c.clinic, SYSTEM, f"acct{c.n()}", "long-enough-pw", "receptionist")


def _today_booking(c: Ctx) -> int:
    return c.fresh_booking(today=True)


def _booking(c: Ctx) -> int:
    return c.fresh_booking()


def _begun_booking(c: Ctx) -> tuple[int, datetime]:
    """A visit of today whose start has passed (a no-show is recorded only then); the
    clock goes back after the call, so the other operations' slots stay ahead."""
    appt = c.fresh_booking(today=True)
    row = booking.get_appointment(c.clinic, SYSTEM, appt)
    clock = c.clinic.clock
    was = clock.now()
    clock.set(datetime.combine(row.date, row.time, clock.tz) + timedelta(minutes=1))
    return appt, was


def _mark_no_show(c: Ctx, actor: Actor, target: object) -> None:
    appt, was = target  # type: ignore[misc]
    try:
        booking.set_status(c.clinic, actor, appt, "no_show")
    finally:
        c.clinic.clock.set(was)


#: operation -> (prepare a fresh target before the call, the call on that target)
OPERATIONS: dict[str, tuple[Prepare, Run]] = {
    "list_appointments": (_none, _list),
    "get_appointment": (
        _none,
        lambda c, a, _: booking.get_appointment(c.clinic, a, c.base_appointment),
    ),
    "book": (
        lambda c: c.next_slot(),
        lambda c, a, at: booking.book(
            c.clinic, a, patient_id=c.w.patient_id, doctor_id=c.w.doctor_id, day=c.w.day, at=at
        ),
    ),
    "cancel": (_booking, lambda c, a, appt: booking.cancel(c.clinic, a, appt)),
    "reschedule": (
        lambda c: (c.fresh_booking(), c.next_slot()),
        lambda c, a, t: booking.reschedule(c.clinic, a, t[0], day=c.w.day, at=t[1]),
    ),
    "complete": (
        _today_booking,
        lambda c, a, appt: booking.complete(c.clinic, a, appt, early_close=True),
    ),
    "mark_no_show": (_begun_booking, _mark_no_show),
    "record_treatment": (
        lambda c: c.fresh_completed(),
        lambda c, a, appt: records.record_treatment(
            c.clinic, a, appt, records.TreatmentForm(diagnosis="flu")
        ),
    ),
    "amend_treatment": (
        _treated,
        lambda c, a, appt: records.record_treatment(
            c.clinic, a, appt, records.TreatmentForm(diagnosis="influenza A")
        ),
    ),
    "read_treatment": (
        _none,
        lambda c, a, _: records.get_treatment(c.clinic, a, c.base_appointment),
    ),
    "read_versions": (_treated, lambda c, a, appt: records.treatment_versions(c.clinic, a, appt)),
    "read_history": (_none, lambda c, a, _: records.patient_history(c.clinic, a, c.w.patient_id)),
    "read_history_booked_only": (
        _none,
        lambda c, a, _: records.patient_history(c.clinic, a, c.w.other_patient_id),
    ),
    "read_history_emergency": (
        _none,
        lambda c, a, _: records.patient_history(
            c.clinic, a, c.w.other_patient_id, emergency_reason=REASON
        ),
    ),
    "export_history": (
        _none,
        lambda c, a, _: exports.export_history(
            c.clinic, a, c.w.patient_id, c.export_dir / f"history-{a.username}.csv"
        ),
    ),
    "export_history_patient_request": (
        _none,
        lambda c, a, _: exports.export_history(
            c.clinic,
            a,
            c.w.patient_id,
            c.export_dir / f"history-{a.username}-{c.n()}.csv",
            patient_request="The patient asked for a copy at the desk",
        ),
    ),
    "get_patient": (_none, lambda c, a, _: patients.get_patient(c.clinic, a, c.w.patient_id)),
    "edit_patient": (_none, _edit_patient),
    "search_patients": (_none, lambda c, a, _: patients.search_patients(c.clinic, a, "jose")),
    "blacklist_patient": (_none, _blacklist_patient),
    "blacklist_doctor": (_none, _blacklist_doctor),
    "add_doctor": (
        _none,
        lambda c, a, _: doctors.add_doctor(
            c.clinic, a, doctors.DoctorForm(f"Dr. New {c.n()}", c.w.department_id)
        ),
    ),
    "edit_doctor": (
        _none,
        lambda c, a, _: doctors.edit_doctor(
            c.clinic,
            a,
            c.w.other_doctor_id,
            doctors.DoctorForm(f"Dr. Turing {c.n()}", c.w.department_id),
        ),
    ),
    "save_department": (
        _none,
        lambda c, a, _: f.departments.save_department(c.clinic, a, f"Ward {c.n()}"),
    ),
    "set_availability": (_none, _set_availability),
    "create_user": (
        _none,
        lambda c, a, _: accounts.create_user(
            c.clinic, a, f"user{c.n()}", "long-enough-pw", "receptionist"
        ),
    ),
    "list_users": (_none, lambda c, a, _: users.list_users(c.clinic, a)),
    "disable_user": (_new_user, lambda c, a, uid: users.set_active(c.clinic, a, uid, False)),
    "unlock_user": (_new_user, lambda c, a, uid: users.unlock(c.clinic, a, uid)),
    "reset_password": (
        _new_user,
        lambda c, a, uid: users.reset_password(c.clinic, a, uid, "temporary-pass-1"),
    ),
    "list_emergency_access": (_none, lambda c, a, _: records.emergency_accesses(c.clinic, a)),
    "read_audit": (_none, lambda c, a, _: audit.list_entries(c.clinic, a)),
    "dashboard_stats": (_none, _dashboard),
}


def _audit_count(clinic: Clinic) -> int:
    with clinic.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_the_matrix_covers_every_operation() -> None:
    assert set(MATRIX) == set(OPERATIONS)
    assert all(allowed <= set(ROLES) for allowed in MATRIX.values())


def test_authorization_matrix(clinic: Clinic) -> None:
    """Every operation by every role on one clinic; the whole table is compared at once."""
    ctx = _make_ctx(clinic)
    outcome: dict[str, dict[str, str]] = {}
    for operation, (prepare, run) in OPERATIONS.items():
        outcome[operation] = {}
        for role in ROLES:
            target = prepare(ctx)
            before = _audit_count(clinic)
            try:
                run(ctx, ctx.actors[role], target)
            except PermissionDeniedError:
                outcome[operation][role] = "denied"
                # A refused export is audited on purpose (someone tried to take records
                # away); any other refusal leaves no trace.
                traces = 1 if operation.startswith("export_history") else 0
                assert _audit_count(clinic) == before + traces, f"{operation} by {role}"
            else:
                outcome[operation][role] = "allowed"
    expected = {
        operation: {role: "allowed" if role in allowed else "denied" for role in ROLES}
        for operation, allowed in MATRIX.items()
    }
    assert outcome == expected
