"""Any word of a name finds the patient: "hughes" finds "Anna Smith-Hughes", "garcia"
"María García López" (the search's word way and the words it reads)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from hms_desktop.db.models import Patient, PatientNameWord
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import patients
from hms_desktop.services.people.patients import PatientForm
from hms_desktop.services.people.validation import name_words
from tests import factories as f


def _ids(clinic: Clinic, text: str, **page: int) -> list[int]:
    return [p.id for p in patients.search_patients(clinic, f.RECEPTION, text, **page)]


def _words(clinic: Clinic, patient_id: int) -> list[tuple[str, str]]:
    with clinic.db.read() as session:
        rows = session.execute(
            select(PatientNameWord.word_key, PatientNameWord.name_key)
            .where(PatientNameWord.patient_id == patient_id)
            .order_by(PatientNameWord.word_key)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name_key", "surname_key", "words"),
    [
        ("anna smith-hughes", "smith-hughes", ["hughes", "smith"]),
        ("maria garcia lopez", "lopez", ["garcia"]),
        ("anna smith", "smith", []),
        ("madonna", "madonna", []),
        ("", "", []),
        # The first word's parts are the name's start; its other parts are not.
        ("jean-paul sartre", "sartre", ["paul"]),
        # A hyphenated middle word whole too ("smith-h"), and each word once.
        ("anna smith-hughes jones", "jones", ["hughes", "smith", "smith-hughes"]),
        ("anna maria maria lopez-maria", "lopez-maria", ["lopez", "maria"]),
        ("anna -- x", "x", []),
    ],
)
def test_the_words_of_a_name(name_key: str, surname_key: str, words: list[str]) -> None:
    assert name_words(name_key, surname_key) == words


def test_any_word_of_a_surname_finds_the_patient(clinic: Clinic) -> None:
    anna = f.patient(clinic, "Anna Smith-Hughes")
    maria = f.patient(clinic, "María García López")
    smith = f.patient(clinic, "Bob Smith")
    for typed, found in (
        ("hughes", [anna]),
        ("Hugh", [anna]),
        ("garcia", [maria]),
        ("García", [maria]),
        ("garc", [maria]),
        ("lopez", [maria]),  # the surname way, as before
        ("maria", [maria]),  # the name way, as before
        # The surname way first (in surname order), then no one again by a word.
        ("smith", [smith, anna]),
        ("hughes anna", [anna]),  # surname first, by a word of the surname
        ("hughes a", [anna]),
        ("garcia maria", [maria]),
        ("hughes bob", []),
        ("anna", [anna]),
        ("ughes", []),  # a word's start, never its middle
    ):
        assert _ids(clinic, typed) == found, typed
    assert _words(clinic, anna) == [("hughes", "anna smith-hughes"), ("smith", "anna smith-hughes")]
    assert _words(clinic, maria) == [("garcia", "maria garcia lopez")]
    assert _words(clinic, smith) == []


def test_a_patient_two_of_whose_words_match_is_listed_once(clinic: Clinic) -> None:
    ana = f.patient(clinic, "Ana Mar Marquez Ruiz")  # "mar" and "marquez"
    bea = f.patient(clinic, "Bea Marin Lopez")
    assert _words(clinic, ana) == [
        ("mar", "ana mar marquez ruiz"),
        ("marquez", "ana mar marquez ruiz"),
    ]
    # In word order: Ana at her first matching word ("mar" < "marin").
    assert _ids(clinic, "mar") == [ana, bea]
    assert _ids(clinic, "mar", limit=1, offset=1) == [bea]
    assert _ids(clinic, "marq") == [ana]
    assert _ids(clinic, "mar ana") == [ana]


def test_a_rename_drops_the_old_words_and_writes_the_new(clinic: Clinic) -> None:
    anna = f.patient(clinic, "Anna Smith-Hughes")
    patients.edit_patient(
        clinic, SYSTEM, anna, PatientForm("Anna Jones-Taylor Brown", phone="030 1234567")
    )
    assert _words(clinic, anna) == [
        ("jones", "anna jones-taylor brown"),
        ("jones-taylor", "anna jones-taylor brown"),
        ("taylor", "anna jones-taylor brown"),
    ]
    assert _ids(clinic, "hughes") == []
    assert _ids(clinic, "smith") == []
    assert _ids(clinic, "taylor") == [anna]
    assert _ids(clinic, "jones-t") == [anna]
    # An edit that leaves the name alone keeps the words as they are.
    patients.edit_patient(
        clinic, SYSTEM, anna, PatientForm("Anna Jones-Taylor Brown", phone="030 7654321")
    )
    assert [w for w, _ in _words(clinic, anna)] == ["jones", "jones-taylor", "taylor"]
    # Down to two words: none left (the name and the surname find them).
    patients.edit_patient(clinic, SYSTEM, anna, PatientForm("Anna Brown"))
    assert _words(clinic, anna) == []
    assert _ids(clinic, "taylor") == []


def test_a_self_registered_patient_has_words_and_a_deleted_one_none(clinic: Clinic) -> None:
    me = patients.self_register(
        clinic, PatientForm("Lena Müller-Lüdenscheidt"), "lena", "pw-123456"
    )
    assert _ids(clinic, "ludenscheidt") == [me]
    with clinic.db.write() as session:
        session.execute(delete(Patient).where(Patient.id == me))
    assert _words(clinic, me) == []  # ON DELETE CASCADE


def test_blacklisted_patients_follow_the_same_rule_in_the_word_way(clinic: Clinic) -> None:
    anna = f.patient(clinic, "Anna Smith-Hughes")
    ben = f.patient(clinic, "Ben Hughes")
    patients.set_blacklisted(clinic, f.RECEPTION, anna, True)

    def found(include_blacklisted: bool) -> list[int]:
        with clinic.db.read() as session:
            return [
                p.id
                for way in patients.search_ways("hughes", include_blacklisted=include_blacklisted)
                for p in session.scalars(way)
            ]

    assert found(True) == [ben, anna]
    assert found(False) == [ben]
    assert _ids(clinic, "hughes") == [ben, anna]  # the desk's search lists them all


def test_pages_run_on_across_the_ways_without_repeats_or_gaps(clinic: Clinic) -> None:
    names = [
        "Hugo Meyer",  # name
        "Hughes Hughes-Smith",  # name (and surname, and a word): once
        "Carl Hughes",  # surname
        "Dora Hugel",  # surname
        "Anna Smith-Hughes",  # word "hughes"
        "Eva Hugh Jones",  # word "hugh"
        "Fay Hughes-Wood Lee",  # words "hughes", "hughes-wood"
    ]
    ids = {name: f.patient(clinic, name) for name in names}
    order = [
        ids["Hughes Hughes-Smith"],
        ids["Hugo Meyer"],
        ids["Dora Hugel"],
        ids["Carl Hughes"],
        ids["Eva Hugh Jones"],
        ids["Anna Smith-Hughes"],
        ids["Fay Hughes-Wood Lee"],
    ]
    assert _ids(clinic, "hug") == order
    for limit in (1, 2, 3, 5):
        pages = [_ids(clinic, "hug", limit=limit, offset=o) for o in range(0, 8, limit)]
        assert [p for page in pages for p in page] == order, limit
    assert _ids(clinic, "hug", limit=3, offset=4) == order[4:7]
    assert _ids(clinic, "hug", limit=2, offset=7) == []


def test_ids_and_phone_numbers_are_not_looked_for_among_words(clinic: Clinic) -> None:
    f.patient(clinic, "Anna 12345 Smith")  # a word of digits (a number in the name field)
    assert len(patients.search_ways("12345")) == 5  # id, name, surname, phone start, end
    assert not any(
        "patient_name_words" in str(way)
        for text in ("12345", "0177 620", "+49 30")
        for way in patients.search_ways(text)
    )
