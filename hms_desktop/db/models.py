"""ORM models (SQLAlchemy 2 typed style).

Appointment dates and times are the clinic's wall-clock time (see the clinic's
time zone setting). Timestamps (created, updated, audit) are UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    and_,
    case,
    false,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("admin", "receptionist", "doctor", "patient")
STATUSES = ("booked", "completed", "cancelled", "no_show")
#: Where a booked visit is on its day (migration 0013): a booked visit whose patient
#: checked in has ``arrived_at``; one the doctor called in also ``consultation_at``.
#: They read as statuses of their own (:attr:`Appointment.flow_status`).
FLOW_STATUSES = ("booked", "arrived", "in_consultation", "completed", "cancelled", "no_show")
VISIT_TYPES = ("consultation", "follow_up", "check_up", "emergency", "procedure")
WAITLIST_STATES = ("waiting", "booked", "removed")
#: The visit types a new database holds (name, label, minutes); migration 0006 adds them.
DEFAULT_VISIT_TYPES = (
    ("consultation", "Consultation", 30),
    ("follow_up", "Follow-up", 30),
    ("check_up", "Check-up", 30),
    ("emergency", "Emergency", 30),
    ("procedure", "Procedure", 30),
)
#: Dated availability rows: extra hours on a date, or a day off (leave, holiday).
AVAILABILITY_KINDS = ("extra", "off")
#: A "live" appointment occupies its slot; only cancelled ones free it again.
LIVE_CONDITION = "status <> 'cancelled'"
#: The visits that hold a doctor's slot: live ones, except overbooked extras.
DOCTOR_SLOT_CONDITION = "status <> 'cancelled' AND NOT overbooked"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store naive UTC, hand back aware UTC, on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set by an administrator's password reset: the next sign-in must choose a new one.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )


class SignInFailures(Base):
    """Recent failed sign-ins for one typed name (known or not), by its SHA-256 (migration
    0012): the name's growing delay."""

    __tablename__ = "sign_in_failures"

    name_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")


class Doctor(Base):
    __tablename__ = "doctors"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    qualification: Mapped[str] = mapped_column(String(200), default="", server_default="")
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    blacklisted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Raised by the database with every change of the doctor's weekly or dated hours
    #: (triggers, migration 0017): a booking that checked the hours before its write
    #: proves in the write that they are still the ones it checked.
    schedule_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    department: Mapped[Department] = relationship(lazy="joined")


def search_key(length: int) -> String:
    """A column compared by prefix ranges: byte order on every backend.

    PostgreSQL's usual collations (e.g. en_US) order by language rules that skip
    spaces and punctuation at first, so the range for "anna s" would also match
    "annasophie" and the one for "o'" would miss "o'brien". The "C" collation orders
    like SQLite and Python, and its index serves the range.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (
        # A surname prefix's patients in surname, name order, read from the prefix on
        # and stopped at the page's end: the search's surname way (migration 0014).
        Index("ix_patients_surname_name_id", "surname_key", "name_key", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    #: Lower-cased, accent-folded name for prefix search (indexed).
    name_key: Mapped[str] = mapped_column(search_key(120), index=True)
    #: The folded last word of the name, so "smi" finds "Anna Smith" too.
    #: (Indexed with the name: ix_patients_surname_name_id.)
    surname_key: Mapped[str] = mapped_column(search_key(120), default="", server_default="")
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(16), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    #: Digits of the phone number only, for search (indexed).
    phone_key: Mapped[str] = mapped_column(
        search_key(40), default="", server_default="", index=True
    )
    #: The same digits reversed: the end of a number (a local number said without its
    #: country code, or the last digits) becomes a prefix search too (indexed).
    phone_rev_key: Mapped[str] = mapped_column(
        search_key(40), default="", server_default="", index=True
    )
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
    reminders_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    blacklisted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PatientNameWord(Base):
    """A word of a patient's folded name that neither the name nor the surname finds
    the patient by (migration 0018): "hughes" of "Anna Smith-Hughes", "garcia" of
    "María García López" (see ``validation.name_words``).

    Written with the patient's name by the patients service (a rename writes them
    again) and the demo data generator. The key is the search's order, so the word way
    (``services/people/patients.search_ways``) reads a prefix's words from the prefix
    on and stops at the page's end, as the other ways read their indexes; the name key
    beside the word serves "hughes anna" from the index's entries as well.
    """

    __tablename__ = "patient_name_words"
    __table_args__ = (
        # A patient's own words: written again on a rename, deleted with the patient,
        # and the word way's check for a patient's earlier matching word.
        Index("ix_patient_name_words_patient_word", "patient_id", "word_key"),
    )

    word_key: Mapped[str] = mapped_column(search_key(120), primary_key=True)
    #: The patient's name_key: the order within a word, and the name's start for
    #: a name written surname first.
    name_key: Mapped[str] = mapped_column(search_key(120), primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )


class WeeklyHours(Base):
    """A doctor's usual hours on one weekday (0 = Monday), repeated every week."""

    __tablename__ = "weekly_hours"
    __table_args__ = (
        UniqueConstraint("doctor_id", "weekday", "start_time", name="uq_weekly_hours_slot"),
        CheckConstraint("start_time < end_time", name="window"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default=text("30"))


class Availability(Base):
    """An exception to a doctor's weekly hours on one date (migration 0011).

    ``extra``: a window of extra hours on that date. ``off``: the weekly hours of that
    date do not apply (leave, a holiday, or hours set for that date alone, which are
    then its ``extra`` rows). The dated windows from before weekly hours became
    ``extra`` rows, so every booking made in them stays inside its doctor's hours.
    """

    __tablename__ = "availability"
    __table_args__ = (
        UniqueConstraint("doctor_id", "day", "start_time", "kind", name="uq_availability_slot"),
        CheckConstraint("start_time < end_time", name="window"),
        CheckConstraint(f"kind IN {AVAILABILITY_KINDS!r}", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    #: The window's slot grid, fixed when it is published: every PC offers the same
    #: start times in it whatever its own slot setting, so no two bookings overlap.
    slot_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default=text("30"))
    kind: Mapped[str] = mapped_column(String(8), default="extra", server_default="extra")
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES!r}", name="status"),
        CheckConstraint("start_time < end_time", name="length"),
        # The database itself refuses a second live appointment in a doctor's slot
        # or a patient's second live appointment at the same time.
        # An overbooked walk-in is the one visit allowed to share the doctor's time.
        Index(
            "uq_appointments_doctor_live_slot",
            "doctor_id",
            "day",
            "start_time",
            unique=True,
            sqlite_where=text(DOCTOR_SLOT_CONDITION),
            postgresql_where=text(DOCTOR_SLOT_CONDITION),
        ),
        Index(
            "uq_appointments_patient_live_slot",
            "patient_id",
            "day",
            "start_time",
            unique=True,
            sqlite_where=text(LIVE_CONDITION),
            postgresql_where=text(LIVE_CONDITION),
        ),
        Index("ix_appointments_day_status", "day", "status"),
        # The appointment lists' order (date, time, id): the first page of a million
        # appointments reads 200 index entries instead of sorting every row.
        Index("ix_appointments_day_time_id", "day", "start_time", "id"),
        Index("ix_appointments_doctor_day", "doctor_id", "day"),
        Index("ix_appointments_patient_day", "patient_id", "day"),
        # An id is never given twice, even after a booking is taken back and deleted:
        # the audit log and the messages sent name visits by id (migration 0015).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    day: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)
    #: When the visit ends (same day; from the visit type's length, migration 0006).
    #: No doctor and no patient has two live visits whose [start, end) overlap: an
    #: exclusion constraint on PostgreSQL, triggers on SQLite (migration 0006).
    end_time: Mapped[time] = mapped_column(Time)
    visit_type: Mapped[str] = mapped_column(String(32), default="consultation")
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), default="booked", server_default="booked")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The patient checked in at the desk (migration 0013).
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The doctor called the patient in.
    consultation_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: An extra visit squeezed into a full day (a walk-in), with why: it may overlap
    #: the doctor's other visits, never the patient's.
    overbooked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    overbook_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: The status a person reads: a booked visit shows how far the patient got that day.
    flow_status: Mapped[str] = column_property(
        case(
            (and_(status == "booked", consultation_at.is_not(None)), "in_consultation"),
            (and_(status == "booked", arrived_at.is_not(None)), "arrived"),
            else_=status,
        )
    )
    #: The calendar invitation's SEQUENCE: raised by every move and by a cancel, so the
    #: patient's calendar takes the newest message about this visit (migration 0010).
    calendar_sequence: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: The recurring series this visit belongs to: the id of the series' first visit.
    series_id: Mapped[int | None] = mapped_column(Integer, index=True)

    doctor: Mapped[Doctor] = relationship()
    patient: Mapped[Patient] = relationship()
    treatment: Mapped[Treatment | None] = relationship(back_populates="appointment", uselist=False)


class AppointmentCount(Base):
    """How many appointments one day has in one status (migration 0014).

    Written only by the database's triggers on ``appointments`` (every insert, update
    and delete, bulk ones included), so the dashboard's totals read one small row per
    day and status instead of counting every appointment since the clinic began.
    """

    __tablename__ = "appointment_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class TableCount(Base):
    """How many rows a table holds, kept by the database's triggers (migration 0014):
    ``patients`` (a count(*) of half a million patients took 100 ms on PostgreSQL)."""

    __tablename__ = "table_counts"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class ClinicSetting(Base):
    """One clinic-wide setting (migration 0006): the same on every PC of the clinic.

    The value is JSON text; :mod:`hms_desktop.services.clinic_settings` types and
    checks it. Changed only by an administrator, each change audited.
    """

    __tablename__ = "clinic_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VisitType(Base):
    """A kind of visit and how long it lasts by default (migration 0006)."""

    __tablename__ = "visit_types"
    __table_args__ = (CheckConstraint("minutes BETWEEN 5 AND 480", name="minutes"),)

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(64))
    minutes: Mapped[int] = mapped_column(Integer)


class Treatment(Base):
    __tablename__ = "treatments"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), unique=True)
    symptoms: Mapped[str] = mapped_column(Text, default="", server_default="")
    diagnosis: Mapped[str] = mapped_column(Text, default="", server_default="")
    treatment_given: Mapped[str] = mapped_column(Text, default="", server_default="")
    prescription: Mapped[str] = mapped_column(Text, default="", server_default="")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    appointment: Mapped[Appointment] = relationship(back_populates="treatment")


class TreatmentVersion(Base):
    """An earlier version of a treatment, kept when it was amended (migration 0012)."""

    __tablename__ = "treatment_versions"
    __table_args__ = (
        UniqueConstraint("treatment_id", "version", name="uq_treatment_versions_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    treatment_id: Mapped[int] = mapped_column(ForeignKey("treatments.id", ondelete="CASCADE"))
    #: 1 for the first recording; the current values (in ``treatments``) are the next one.
    version: Mapped[int] = mapped_column(Integer)
    symptoms: Mapped[str] = mapped_column(Text, default="", server_default="")
    diagnosis: Mapped[str] = mapped_column(Text, default="", server_default="")
    treatment_given: Mapped[str] = mapped_column(Text, default="", server_default="")
    prescription: Mapped[str] = mapped_column(Text, default="", server_default="")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    written_by: Mapped[str] = mapped_column(String(80), default="", server_default="")
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaced_by: Mapped[str] = mapped_column(String(80), default="", server_default="")
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Append-only: the database refuses UPDATE and DELETE (triggers in the migration).

    Hash-chained (migration 0008): ``seq`` numbers the entries 1, 2, 3... and
    ``row_hash`` covers this entry and ``prev_hash``, the previous entry's hash, so an
    edit, removal or reordering made behind the application's back shows in
    ``hms audit verify`` (:mod:`hms_desktop.services.safety.audit_chain`).
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_patient_at", "patient_id", "at"),
        Index("ix_audit_log_seq", "seq", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    patient_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[str] = mapped_column(Text, default="", server_default="")
    seq: Mapped[int] = mapped_column(Integer, server_default="0")
    prev_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    row_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")


class JobRun(Base):
    """The ledger: a job runs at most once per period (job name + period key)."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job_name", "period_key", name="uq_job_runs_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_name: Mapped[str] = mapped_column(String(64))
    period_key: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="running")
    host: Mapped[str] = mapped_column(String(255), default="", server_default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counts: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    error: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: What started the run: schedule, catch-up, manual (the Jobs panel) or cli (migration 0002).
    trigger: Mapped[str] = mapped_column(String(16), default="", server_default="")


# --- Background jobs: outbox and monthly reports (migration 0002) -----------------------

OUTBOX_KINDS = (
    "reminder",
    "monthly_report",
    # Calendar messages to the patient (migration 0010): confirmation, move, cancel.
    "booking_confirmation",
    "appointment_update",
    "appointment_cancel",
)
#: pending -> sending -> sent; pending -> failed after the last retry; undeliverable when
#: there is no address; expired when a reminder's visit is past or no longer booked.
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "undeliverable", "expired")


class MonthlyReport(Base):
    """A doctor's report for one calendar month (clinic-local dates), rendered to HTML."""

    __tablename__ = "monthly_reports"
    __table_args__ = (UniqueConstraint("doctor_id", "month", name="uq_monthly_reports_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"))
    #: "YYYY-MM".
    month: Mapped[str] = mapped_column(String(7))
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id", ondelete="SET NULL"))
    total: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)
    no_shows: Mapped[int] = mapped_column(Integer, default=0)
    treatments: Mapped[int] = mapped_column(Integer, default=0)
    unique_patients: Mapped[int] = mapped_column(Integer, default=0)
    html: Mapped[str] = mapped_column(Text, default="")


class OutboxMessage(Base):
    """One email to send (a reminder or a report), with its delivery state.

    A reminder is unique per appointment and day of the visit, a report email per
    report, so a run repeated after a crash queues nothing twice.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(f"kind IN {OUTBOX_KINDS!r}", name="kind"),
        CheckConstraint(f"status IN {OUTBOX_STATUSES!r}", name="status"),
        UniqueConstraint("kind", "appointment_id", "target_day", name="uq_outbox_reminder"),
        UniqueConstraint("kind", "report_id", name="uq_outbox_report"),
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE")
    )
    #: The day of the visit a reminder is about (clinic-local).
    target_day: Mapped[date | None] = mapped_column(Date)
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("monthly_reports.id", ondelete="CASCADE")
    )
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(254), default="", server_default="")
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WaitlistEntry(Base):
    """A patient who asked for an earlier time (migration 0013).

    For one doctor or any doctor of a department, on some weekdays (``days``:
    ``"mon,tue"``; empty for any), between two times of day (or any), until a date.
    """

    __tablename__ = "waitlist"
    __table_args__ = (
        CheckConstraint(
            "(doctor_id IS NOT NULL) OR (department_id IS NOT NULL)", name="doctor_or_department"
        ),
        CheckConstraint(f"state IN {WAITLIST_STATES!r}", name="state"),
        Index("ix_waitlist_state_created", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE")
    )
    days: Mapped[str] = mapped_column(String(40), default="", server_default="")
    time_from: Mapped[time | None] = mapped_column(Time)
    time_to: Mapped[time | None] = mapped_column(Time)
    until: Mapped[date | None] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer, default=30, server_default=text("30"))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    state: Mapped[str] = mapped_column(String(16), default="waiting", server_default="waiting")
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80), default="", server_default="")
