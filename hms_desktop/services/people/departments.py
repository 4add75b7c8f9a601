"""Departments (specializations)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hms_desktop.db.models import Department, Doctor
from hms_desktop.errors import NotFoundError, ValidationError
from hms_desktop.services.actor import Actor, require_staff
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.validation import clean_name, clean_text
from hms_desktop.services.safety import audit
from hms_desktop.services.views import DepartmentRow


def list_departments(clinic: Clinic) -> list[DepartmentRow]:
    """Every department with its number of doctors who take bookings; anyone may read."""
    counts = (
        select(Doctor.department_id, func.count().label("n"))
        .where(Doctor.blacklisted.is_(False))
        .group_by(Doctor.department_id)
        .subquery()
    )
    stmt = (
        select(Department, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.department_id == Department.id)
        .order_by(Department.name)
    )
    with clinic.db.read() as session:
        return [
            DepartmentRow(d.id, d.name, d.description, int(n)) for d, n in session.execute(stmt)
        ]


def save_department(
    clinic: Clinic,
    actor: Actor,
    name: str,
    description: str = "",
    *,
    department_id: int | None = None,
) -> int:
    """Add a department, or rename/describe one. Returns its id."""
    require_staff(actor, "manage departments")
    name = clean_name(name, "name", max_len=100)
    description = clean_text(description, "description", max_len=2000)
    try:
        with clinic.db.write() as session:
            # "CARDIOLOGY" and "Cardiology" are one department to the desk (the table's
            # unique index only tells exact spellings apart).
            same = session.scalar(
                select(Department.id).where(
                    func.lower(Department.name) == name.lower(),
                    Department.id != (department_id or 0),
                )
            )
            if same is not None:
                raise ValidationError(f"A department named {name!r} exists already.", field="name")
            if department_id is None:
                dept = Department(name=name, description=description)
                session.add(dept)
            else:
                found = session.get(Department, department_id)
                if found is None:
                    raise NotFoundError("That department no longer exists.")
                dept = found
                dept.name, dept.description = name, description
            session.flush()
            audit.record(session, actor, "department.save", "department", dept.id, name=name)
            new_id = dept.id
    except IntegrityError:
        raise ValidationError(
            f"A department named {name!r} exists already.", field="name"
        ) from None
    clinic.changes.notify("departments")
    return new_id
