"""Departments, doctors and patients: add, edit, blacklist, validation messages, search."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text

from hms_desktop.db.models import Patient
from hms_desktop.errors import NotFoundError, ValidationError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import departments, doctors, patients, validation
from hms_desktop.services.people.patients import PatientForm
from tests import factories as f


def test_departments_add_rename_and_refuse_duplicates(clinic: Clinic) -> None:
    cardio = departments.save_department(clinic, f.RECEPTION, "Cardiology", "Hearts")
    departments.save_department(clinic, f.RECEPTION, "Neurology")
    with pytest.raises(ValidationError, match="exists already") as dup:
        departments.save_department(clinic, f.RECEPTION, "Cardiology")
    assert dup.value.field == "name"
    with pytest.raises(ValidationError, match="exists already"):  # capitals do not matter
        departments.save_department(clinic, f.RECEPTION, "CARDIOLOGY")
    with pytest.raises(ValidationError, match="exists already"):  # nor when renaming another
        departments.save_department(clinic, f.RECEPTION, "cardiology", department_id=cardio + 1)
    # Its own name in other capitals is a rename, not a duplicate.
    departments.save_department(clinic, f.RECEPTION, "CARDIOLOGY", department_id=cardio)
    departments.save_department(clinic, f.RECEPTION, "Cardiology", "Hearts", department_id=cardio)
    with pytest.raises(ValidationError, match="must not be empty"):
        departments.save_department(clinic, f.RECEPTION, "   ")
    departments.save_department(clinic, f.RECEPTION, "Cardiology & Vascular", department_id=cardio)
    f.doctor(clinic, cardio)
    blacklisted = f.doctor(clinic, cardio)
    doctors.set_blacklisted(clinic, SYSTEM, blacklisted, True)
    rows = departments.list_departments(clinic)
    assert [(d.name, d.description, d.doctor_count) for d in rows] == [
        ("Cardiology & Vascular", "", 1),
        ("Neurology", "", 0),
    ]
    with pytest.raises(NotFoundError):
        departments.save_department(clinic, f.RECEPTION, "Ghosts", department_id=9999)


def test_doctors_add_edit_blacklist(clinic: Clinic) -> None:
    cardio = f.department(clinic, "Cardiology")
    neuro = f.department(clinic, "Neurology")
    form = doctors.DoctorForm("Dr. Emil Kraepelin", neuro, "MD", "ek@clinic.test", "+49 89 1234")
    doctor_id = doctors.add_doctor(clinic, f.RECEPTION, form)
    row = doctors.get_doctor(clinic, doctor_id)
    assert (row.full_name, row.department, row.qualification, row.blacklisted) == (
        "Dr. Emil Kraepelin",
        "Neurology",
        "MD",
        False,
    )
    doctors.edit_doctor(
        clinic, f.RECEPTION, doctor_id, doctors.DoctorForm("Dr. E. Kraepelin", cardio, "PhD")
    )
    row = doctors.get_doctor(clinic, doctor_id)
    assert (row.full_name, row.department, row.qualification, row.email) == (
        "Dr. E. Kraepelin",
        "Cardiology",
        "PhD",
        "",
    )
    doctors.set_blacklisted(clinic, f.RECEPTION, doctor_id, True)
    assert doctors.get_doctor(clinic, doctor_id).blacklisted
    assert doctors.list_doctors(clinic, include_blacklisted=False) == []
    assert [d.id for d in doctors.list_doctors(clinic, text="kraep")] == [doctor_id]
    doctors.set_blacklisted(clinic, f.RECEPTION, doctor_id, False)
    assert [d.id for d in doctors.list_doctors(clinic, include_blacklisted=False)] == [doctor_id]


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (doctors.DoctorForm("", 0), "department_id", "Choose a department"),
        (doctors.DoctorForm("   ", -1), "full_name", "must not be empty"),
        (doctors.DoctorForm("Dr. X", -1, email="x@"), "email", "not an email address"),
        (doctors.DoctorForm("Dr. X", -1, phone="call me"), "phone", "Phone must be digits"),
    ],
)
def test_doctor_validation_names_the_field(
    clinic: Clinic, form: doctors.DoctorForm, field: str, message: str
) -> None:
    dept = f.department(clinic)
    if form.department_id == -1:
        form = doctors.DoctorForm(form.full_name, dept, email=form.email, phone=form.phone)
    with pytest.raises(ValidationError, match=message) as err:
        doctors.add_doctor(clinic, f.RECEPTION, form)
    assert err.value.field == field
    assert doctors.list_doctors(clinic) == []


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"full_name": "  "}, "full_name", "Full name must not be empty"),
        ({"full_name": "1234"}, "full_name", "must contain letters"),
        ({"date_of_birth": "2026-02-30"}, "date_of_birth", "February 2026 has 28 days"),
        ({"date_of_birth": "30.01.1990"}, "date_of_birth", "YYYY-MM-DD"),
        ({"date_of_birth": "2026-06-16"}, "date_of_birth", "cannot be in the future"),
        ({"phone": "555-CALL-NOW"}, "phone", "Phone must be digits"),
        ({"phone": "12"}, "phone", "at least 5"),
        ({"email": "ada.example.com"}, "email", "not an email address"),
        ({"email": "ada@example"}, "email", "not an email address"),
        ({"gender": "robot"}, "gender", "Gender must be"),
    ],
)
def test_patient_validation_messages(
    clinic: Clinic, changes: dict[str, str], field: str, message: str
) -> None:
    base = {"full_name": "Ada Byron", "date_of_birth": "1990-12-10", "phone": "+44 20 7946 0000"}
    form = PatientForm(**{**base, **changes})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=message) as err:
        patients.register_patient(clinic, f.RECEPTION, form)
    assert err.value.field == field
    # Editing checks the same rules, and a refused edit changes nothing.
    patient_id = patients.register_patient(clinic, f.RECEPTION, PatientForm(**base))  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as err:
        patients.edit_patient(clinic, f.RECEPTION, patient_id, form)
    assert err.value.field == field
    row = patients.get_patient(clinic, f.RECEPTION, patient_id)
    assert (row.full_name, row.phone, str(row.date_of_birth)) == (
        "Ada Byron",
        "+44 20 7946 0000",
        "1990-12-10",
    )
    with clinic.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 1


def test_birth_date_today_is_fine_and_follows_the_clinic_clock(clinic: Clinic) -> None:
    today = clinic.today().isoformat()  # 2026-06-15 on the fake clock
    patient_id = patients.register_patient(
        clinic, f.RECEPTION, PatientForm("Newborn Baby", date_of_birth=today)
    )
    assert str(patients.get_patient(clinic, SYSTEM, patient_id).date_of_birth) == today


def test_patients_register_edit_blacklist(clinic: Clinic) -> None:
    patient_id = patients.register_patient(
        clinic,
        f.RECEPTION,
        PatientForm("  Anna   Smith ", "1985-03-04", "Female", "030 1234567", "anna@mail.test"),
    )
    row = patients.get_patient(clinic, f.RECEPTION, patient_id)
    assert (row.full_name, row.gender, row.blacklisted) == ("Anna Smith", "female", False)
    patients.edit_patient(
        clinic,
        f.patient_actor(patient_id),
        patient_id,
        PatientForm("Anna Jones", "1985-03-04", phone="030 7654321", reminders_opt_out=True),
    )
    row = patients.get_patient(clinic, f.RECEPTION, patient_id)
    assert (row.full_name, row.phone, row.email, row.reminders_opt_out) == (
        "Anna Jones",
        "030 7654321",
        "",
        True,
    )
    # The search keys follow the edit.
    assert [p.id for p in patients.search_patients(clinic, f.RECEPTION, "jones")] == [patient_id]
    assert patients.search_patients(clinic, f.RECEPTION, "smith") == []
    patients.set_blacklisted(clinic, f.RECEPTION, patient_id, True)
    assert patients.get_patient(clinic, f.RECEPTION, patient_id).blacklisted
    with pytest.raises(NotFoundError):
        patients.get_patient(clinic, f.RECEPTION, 9999)


def test_patient_search_by_name_surname_accents_id_and_phone(clinic: Clinic) -> None:
    def add(name: str, phone: str) -> int:
        return patients.register_patient(clinic, SYSTEM, PatientForm(name, phone=phone))

    jose = add("José Núñez", "+34 (600) 12-34-56")
    josefa = add("Josefa Ortega", "0171 999 8888")
    anna = add("Anna Smith", "030 555 0101")
    obrien = add("Seán O'Brien", "01 777 1234")
    zoe = add("Zoë Nuñez-Ruiz", "0800 1111")

    def ids(text: str) -> list[int]:
        return [p.id for p in patients.search_patients(clinic, f.RECEPTION, text)]

    assert ids("jose") == [jose, josefa]  # accent-folded, by name prefix, sorted by name
    assert ids("JOSÉ") == [jose, josefa]
    assert ids("josé n") == [jose]
    assert ids("nunez") == [jose, zoe]  # surname prefix, accent-folded
    assert ids("Núñez-r") == [zoe]
    assert ids("zoe") == [zoe]
    assert ids("smi") == [anna]
    assert ids("o'b") == [obrien]
    assert ids("obrien") == [obrien]  # apostrophes left out, typed or stored
    assert ids("o’brien") == [obrien]
    assert ids("sean") == [obrien]
    assert ids("mith") == []  # a prefix, not a substring
    assert ids(str(anna)) == [anna]  # id
    assert ids("34600123") == [jose]  # phone digits from the start, without separators
    assert ids("+34 600") == [jose]
    assert ids("0171 999") == [josefa]
    assert ids("(030) 555-01") == [anna]
    assert ids("030/555") == [anna]
    annasophie = add("Annasophie Weber", "")
    assert ids("anna") == [anna, annasophie]
    assert ids("anna s") == [anna]  # the space counts, on every backend
    assert len(ids("")) == 6
    assert [p.id for p in patients.search_patients(clinic, f.RECEPTION, "", limit=2)] == [
        anna,
        annasophie,
    ]
    assert [p.id for p in patients.search_patients(clinic, f.RECEPTION, "", offset=2)] == [
        jose,
        josefa,
        obrien,
        zoe,
    ]


def test_letters_without_accents_to_strip_are_found_by_plain_letters(clinic: Clinic) -> None:
    """Unicode does not take "ł" or "ı" apart: they are spelled plainly, as people type."""
    names = ("Łukasz Wójcik", "Ayşe Yılmaz", "Søren Ødegaard", "Đorđe Þórðarson", "Æbleø Cœur")
    ids = {name: f.patient(clinic, name) for name in names}

    def found(text: str) -> list[int]:
        return [p.id for p in patients.search_patients(clinic, f.RECEPTION, text)]

    for typed, name in (
        ("lukasz", "Łukasz Wójcik"),
        ("ŁUKASZ W", "Łukasz Wójcik"),
        ("yilmaz", "Ayşe Yılmaz"),
        ("YILMAZ", "Ayşe Yılmaz"),
        ("yılmaz", "Ayşe Yılmaz"),
        ("soren odeg", "Søren Ødegaard"),
        ("odegaard", "Søren Ødegaard"),
        ("dorde", "Đorđe Þórðarson"),
        ("thordarson", "Đorđe Þórðarson"),
        ("aebleo", "Æbleø Cœur"),
        ("coeur", "Æbleø Cœur"),
    ):
        assert found(typed) == [ids[name]], typed
    assert validation.fold("Straße ẞ") == "strasse ss"


def test_search_keys_compare_in_byte_order_on_postgresql(clinic: Clinic) -> None:
    """Prefix ranges need the "C" collation on PostgreSQL, whatever the server's default."""
    if clinic.db.is_sqlite:
        with clinic.db.read() as session:
            sql = session.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'patients'")
            ).scalar_one()
        assert "COLLATE" not in sql.upper()  # SQLite's default (BINARY) is byte order already
        return
    with clinic.db.read() as session:
        collations = dict(
            session.execute(
                text(
                    "SELECT column_name, collation_name FROM information_schema.columns "
                    "WHERE table_name = 'patients' AND table_schema = current_schema() "
                    "AND column_name IN ('name_key', 'surname_key', 'phone_key')"
                )
            ).all()
        )
    assert collations == {"name_key": "C", "surname_key": "C", "phone_key": "C"}


def test_a_phone_number_is_found_by_its_start_its_end_or_as_dialled_at_home(
    clinic: Clinic,
) -> None:
    jose = f.patient(clinic, "José Núñez", phone="+49 175 6206524")
    f.patient(clinic, "Anna Smith", phone="+49 30 1234567")
    for typed in (
        "+49 175",
        "49175620",
        "0049 175",  # "+" dialled as 00, from abroad or from a list written that way
        "0049 175 6206524",
        "0175 6206524",
        "0175/620 65 24",
        "6206524",
        "524",
    ):
        found = patients.search_patients(clinic, f.RECEPTION, typed)
        assert [p.id for p in found] == [jose], typed
    # Too few digits to mean anything, and digits nobody has, find nobody by phone.
    assert patients.search_patients(clinic, f.RECEPTION, "0024") == []
    assert patients.search_patients(clinic, f.RECEPTION, "9999999") == []


def test_a_leading_zero_starts_a_phone_number_never_an_id(clinic: Clinic) -> None:
    """ "0177" is how a German mobile number starts: not patient 177, and not a number
    that merely ends in 177 (a prefix being typed is not the end of a number)."""
    ends_in_it = f.patient(clinic, "Anna Smith", phone="+49 30 1234177")
    dialled_at_home = f.patient(clinic, "José Núñez", phone="0177 6206524")

    def ids(typed: str) -> list[int]:
        return [p.id for p in patients.search_patients(clinic, f.RECEPTION, typed)]

    assert ids(str(ends_in_it)) == [ends_in_it]  # the id itself
    assert ids(f"0{ends_in_it}") == []
    assert ids(f"00{dialled_at_home}") == []
    for typed in ("0177", "0177 62", "0177 620652"):
        assert ids(typed) == [dialled_at_home], typed
    assert ids("0 234177") == []  # six digits after the 0: still a prefix
    # Without the trunk 0, or as a whole number said at home, the end counts.
    assert ids("177") == [ends_in_it]
    assert ids("4177") == [ends_in_it]
    assert ids("030 1234177") == [ends_in_it]
    assert ids("0301234177") == [ends_in_it]


#: The word way's index: the name words' primary key (SQLite names it itself).
_WORDS = "pk_patient_name_words|sqlite_autoindex_patient_name_words_1"


@pytest.mark.parametrize(
    ("query", "indexes"),
    [
        ("jose", ["ix_patients_name_key", "ix_patients_surname_name_id", _WORDS]),
        (
            "3055",
            [
                "pk_patients|INTEGER PRIMARY KEY",
                "ix_patients_name_key",
                "ix_patients_surname_name_id",
                "ix_patients_phone_key",
                "ix_patients_phone_rev_key",
            ],
        ),
        # A leading zero: no id, and too short to be matched against numbers' ends.
        ("0305", ["ix_patients_name_key", "ix_patients_surname_name_id", "ix_patients_phone_key"]),
        # A number with a space: no surname (surname keys hold no space).
        (
            "0175 6206524",
            ["ix_patients_name_key", "ix_patients_phone_key", "ix_patients_phone_rev_key"],
        ),
        # "00" for "+": the number's start without it, too.
        (
            "0049 175",
            ["ix_patients_name_key", "ix_patients_phone_key", "ix_patients_phone_key"],
        ),
        # Surname first: the surname's range of the surname, name index.
        # The other words of names after them, by the words' key.
        ("kruger anna", ["ix_patients_name_key", "ix_patients_surname_name_id", _WORDS]),
        ("schroder j", ["ix_patients_name_key", "ix_patients_surname_name_id", _WORDS]),
    ],
)
def test_patient_search_is_served_by_indexes(
    clinic: Clinic, query: str, indexes: list[str]
) -> None:
    """Search as you type stays fast on 500k patients only if no way scans or sorts."""
    ways = patients.search_ways(query)
    assert len(ways) == len(indexes)
    for way, index in zip(ways, indexes, strict=True):
        sql = str(way.limit(50).compile(clinic.db.engine, compile_kwargs={"literal_binds": True}))
        # A transaction of its own (PostgreSQL reads are autocommit): SET LOCAL below.
        with clinic.db.write() as session:
            if clinic.db.is_sqlite:
                rows = session.execute(text("EXPLAIN QUERY PLAN " + sql))
                plan = " | ".join(r[-1] for r in rows)
                assert "SCAN patients" not in plan, plan
                assert "SCAN patient_name_words" not in plan, plan
                assert "TEMP B-TREE" not in plan, plan  # read in the index's order
            else:
                # An empty table tempts the planner into a scan; forbid it to see if it must.
                session.execute(text("SET LOCAL enable_seqscan = off"))
                session.execute(text("SET LOCAL enable_sort = off"))
                lines = [r[0] for r in session.execute(text("EXPLAIN " + sql))]
                plan = " | ".join(lines)
                assert "Seq Scan" not in plan, plan
                # Only an incremental sort of one name's ties by id, never a full sort.
                nodes = [line.strip().removeprefix("->").strip() for line in lines]
                assert not any(node.startswith("Sort  (") for node in nodes), plan
        assert any(name in plan for name in index.split("|")), (index, plan)


def test_search_finds_names_then_surnames_then_phones_each_once(clinic: Clinic) -> None:
    def add(name: str, phone: str = "") -> int:
        return patients.register_patient(clinic, SYSTEM, PatientForm(name, phone=phone))

    smilla = add("Smilla Jones")
    anna = add("Anna Smith")
    bob = add("Bob Smalls")
    sam = add("Smith Smith")  # found by name and by surname: listed once, as a name
    add("Carla Jones")

    def ids(text: str, **page: int) -> list[int]:
        return [p.id for p in patients.search_patients(clinic, f.RECEPTION, text, **page)]

    assert ids("sm") == [smilla, sam, bob, anna]
    # Pages run on across the ways without repeating or dropping anyone.
    pages = [ids("sm", limit=1, offset=n) for n in range(5)]
    assert pages == [[smilla], [sam], [bob], [anna], []]
    assert ids("sm", limit=2, offset=1) == [sam, bob]
    assert ids("sm", limit=3, offset=3) == [anna]


def test_a_name_is_found_written_surname_first(clinic: Clinic) -> None:
    """Lists and forms write "Krüger, Anna": the desk types "kruger anna" or "schroder j"."""
    anna = f.patient(clinic, "Anna Krüger")
    annabella = f.patient(clinic, "Annabella Krüger-Lenz")
    bob = f.patient(clinic, "Bob Krüger")
    jan = f.patient(clinic, "Jan Schröder")
    julia = f.patient(clinic, "Julia Maria Schröder")
    kruger_anna = f.patient(clinic, "Kruger Annabel")  # a first name that is a surname

    def ids(text: str, **page: int) -> list[int]:
        return [p.id for p in patients.search_patients(clinic, f.RECEPTION, text, **page)]

    # The name as written first; then surname first, in surname, name order.
    assert ids("kruger anna") == [kruger_anna, anna, annabella]
    assert ids("Krüger, Anna") == [anna, annabella]  # as lists write it
    assert ids("krug ann") == [anna, annabella]
    assert ids("kruger b") == [bob]
    assert ids("schroder j") == [jan, julia]
    assert ids("schroder julia m") == [julia]
    assert ids("schroder julia s") == []  # the name's start, not any of its words
    assert ids("kruger x") == []
    # Pages run on from the name way into the surname-first way.
    assert [ids("kruger anna", limit=1, offset=n) for n in range(4)] == [
        [kruger_anna],
        [anna],
        [annabella],
        [],
    ]
    assert ids("kruger anna", limit=2, offset=1) == [anna, annabella]


def test_names_cannot_carry_markup(clinic) -> None:
    # Qt renders "<b>…" in a label as rich text: a self-registered name could disguise
    # what the desk reads in a confirmation.
    for name in ("Ann <span style='font-size:1px'>Smith</span>", "Bob >> Jones"):
        with pytest.raises(ValidationError, match="must not contain < or >"):
            patients.register_patient(clinic, SYSTEM, patients.PatientForm(full_name=name))


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        # QA: "31.02.1990" and "1990-02-31" got the generic line, which never said why.
        ("31.02.1990", "'31.02.1990' is not a real date: February 1990 has 28 days."),
        ("1990-02-31", "'1990-02-31' is not a real date: February 1990 has 28 days."),
        ("2023-02-29", "'2023-02-29' is not a real date: February 2023 has 28 days."),
        ("1990-13-01", "'1990-13-01' is not a real date: there is no month 13."),
        # A real date written day first: the same date back, written as it must be.
        ("28.02.1990", "must be written YYYY-MM-DD: '28.02.1990' is 1990-02-28."),
        ("1990-2-3", "must be written YYYY-MM-DD: '1990-2-3' is 1990-02-03."),
        ("next tuesday", "must be a real date written YYYY-MM-DD, not 'next tuesday'."),
    ],
)
def test_a_date_that_is_not_one_says_what_to_fix(typed: str, said: str) -> None:
    with pytest.raises(ValidationError) as refused:
        validation.parse_day(typed, "date_of_birth")
    message = str(refused.value)
    assert message.startswith("Date of birth") and message.endswith(said), message
    assert refused.value.field == "date_of_birth"
    assert validation.parse_day("2024-02-29") == date(2024, 2, 29)
