"""The export dialog's new choices with real widgets: delimiter (remembered per PC), all
visits, FHIR and PDF, and a target open in another program."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from hms_desktop import config
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.exports import export_dialog
from hms_desktop.ui.exports.export_dialog import ExportDialog
from tests import factories as f
from tests.exports.helpers import HISTORY_HEADER, HistoryWorld, build_history
from tests.gui.conftest import _no_leftover_threads_or_windows  # noqa: F401  (autouse guard)
from tests.gui.test_mnemonics import clashes

WAIT = 20_000


@pytest.fixture
def ops(qtbot: QtBot) -> Iterator[Operations]:
    helper = Operations()
    yield helper
    qtbot.waitUntil(lambda: not helper.busy, timeout=WAIT * 3)
    assert helper.shutdown()


@pytest.fixture
def parent(qtbot: QtBot) -> QWidget:
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


@pytest.fixture
def hist(sqlite_clinic: Clinic, clock: FakeClock) -> HistoryWorld:
    return build_history(sqlite_clinic, clock)


def _dialog(qtbot: QtBot, parent: QWidget, clinic: Clinic, ops: Operations, patient: int):
    export_dialog.export_history(parent, clinic, f.RECEPTION, ops, patient)
    [dialog] = [d for d in parent.findChildren(ExportDialog) if d.isVisible()]
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    assert dialog.request_edit is not None  # the front desk states the patient's request
    dialog.request_edit.setText("The patient asked for a copy at the desk")
    return dialog


def _export(qtbot: QtBot, dialog: ExportDialog, fmt: str, target: Path) -> object:
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData(fmt))
    dialog.path_edit.setText(str(target))
    with qtbot.waitSignal(dialog.export_finished, timeout=WAIT) as finished:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    return finished.args[0]


def test_the_chosen_delimiter_is_used_and_remembered_for_this_pc(
    qtbot: QtBot, parent: QWidget, sqlite_clinic: Clinic, hist: HistoryWorld, ops, tmp_path
) -> None:
    dialog = _dialog(qtbot, parent, sqlite_clinic, ops, hist.jose)
    assert dialog.options.delimiter_combo.isEnabled()
    dialog.options.delimiter_combo.setCurrentIndex(dialog.options.delimiter_combo.findData(";"))
    dialog.options.all_visits.setChecked(True)  # type: ignore[union-attr]
    target = tmp_path / "jose.csv"
    _export(qtbot, dialog, "csv", target)
    with target.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert rows[0] == [*HISTORY_HEADER, "Status"]
    dialog.close()

    assert config.load_settings(environ={}).csv_delimiter == ";"
    again = _dialog(qtbot, parent, sqlite_clinic, ops, hist.jose)
    assert again.options.delimiter == ";"
    # Not a CSV: the delimiter does not apply; FHIR holds every visit anyway.
    again.format_combo.setCurrentIndex(again.format_combo.findData("xlsx"))
    assert not again.options.delimiter_combo.isEnabled()
    again.format_combo.setCurrentIndex(again.format_combo.findData("fhir"))
    assert again.path_edit.text().endswith(".json")
    assert not again.options.all_visits.isEnabled()  # type: ignore[union-attr]
    again.close()


def test_the_all_visits_box_says_what_it_adds_to_the_chosen_format(
    qtbot: QtBot, parent: QWidget, sqlite_clinic: Clinic, ops
) -> None:
    dialog = _dialog(qtbot, parent, sqlite_clinic, ops, f.patient(sqlite_clinic))
    box = dialog.options.all_visits
    assert box is not None
    seen = {}
    for fmt in ("csv", "xlsx", "pdf", "fhir", "csv"):
        dialog.format_combo.setCurrentIndex(dialog.format_combo.findData(fmt))
        seen[fmt] = (box.text(), box.isEnabled())
        # The dialog is sized for the first format's text: no other is wider (none is cut).
        width = box.fontMetrics().horizontalAdvance
        assert width(box.text()) <= width(seen["csv"][0]), fmt
    assert seen["csv"][0].endswith("(adds a Status column)") and seen["csv"][1]
    assert seen["xlsx"] == seen["csv"]
    for fmt in ("pdf", "fhir"):
        assert "Status column" not in seen[fmt][0], fmt
    assert seen["pdf"][1] and not seen["fhir"][1]
    # The box has a letter of its own (Alt+U) in a dialog where each letter is one control.
    assert box.text().startswith("Include &upcoming")
    assert clashes(dialog) == {}
    dialog.format_combo.setFocus()
    qtbot.keyClick(dialog.format_combo, Qt.Key.Key_U, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(box.isChecked, timeout=WAIT)
    dialog.close()


@pytest.mark.parametrize(
    ("language", "country", "expected"),
    [
        (QLocale.Language.German, QLocale.Country.Germany, ";"),
        (QLocale.Language.French, QLocale.Country.France, ";"),
        (QLocale.Language.English, QLocale.Country.UnitedStates, ","),
    ],
)
def test_the_delimiter_defaults_from_the_locale(
    qtbot: QtBot, parent: QWidget, sqlite_clinic: Clinic, ops, language, country, expected
) -> None:
    patient = f.patient(sqlite_clinic)
    before = QLocale()
    QLocale.setDefault(QLocale(language, country))
    try:
        dialog = _dialog(qtbot, parent, sqlite_clinic, ops, patient)
        assert dialog.options.delimiter == expected
        dialog.close()
    finally:
        QLocale.setDefault(before)


def test_fhir_and_pdf_from_the_dialog(
    qtbot: QtBot, parent: QWidget, sqlite_clinic: Clinic, hist: HistoryWorld, ops, tmp_path
) -> None:
    dialog = _dialog(qtbot, parent, sqlite_clinic, ops, hist.jose)
    bundle = tmp_path / "jose.json"
    result = _export(qtbot, dialog, "fhir", bundle)
    kinds = [e["resource"]["resourceType"] for e in json.loads(bundle.read_bytes())["entry"]]
    assert kinds.count("Encounter") == 3 and getattr(result, "path", None) == bundle

    pdf = tmp_path / "jose.pdf"
    _export(qtbot, dialog, "pdf", pdf)
    text = " ".join(page.extract_text() or "" for page in PdfReader(pdf).pages)
    assert hist.day1.isoformat() in text and "Migräne" in text
    assert "Exported 3 rows to jose.pdf" in dialog.status_label.text()
    dialog.close()


def test_a_target_open_elsewhere_is_kept_under_a_new_name_and_said(
    qtbot: QtBot, parent: QWidget, sqlite_clinic: Clinic, hist: HistoryWorld, ops, tmp_path
) -> None:
    (tmp_path / ".~lock.jose.xlsx#").write_text("LibreOffice has it open", encoding="utf-8")
    dialog = _dialog(qtbot, parent, sqlite_clinic, ops, hist.jose)
    result = _export(qtbot, dialog, "xlsx", tmp_path / "jose.xlsx")
    assert getattr(result, "path", None) == tmp_path / "jose (2).xlsx"
    assert not (tmp_path / "jose.xlsx").exists()
    status = dialog.status_label.text()
    assert "jose.xlsx is open in another program" in status and "jose (2).xlsx" in status
    dialog.close()


def test_the_clinic_name_address_and_booking_confirmation_are_saved(
    qtbot: QtBot, sqlite_clinic: Clinic, ops: Operations
) -> None:
    from hms_desktop.services.actor import Actor
    from hms_desktop.services.messaging import calendar_invite
    from hms_desktop.services.records.stats import StatsService
    from hms_desktop.ui.shell.settings_dialog import SettingsDialog

    admin = Actor(user_id=None, username="boss", role="admin")
    stats = StatsService(sqlite_clinic)
    dialog = SettingsDialog(sqlite_clinic, admin, stats, ops)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not calendar_invite.confirmation_enabled(sqlite_clinic)
    dialog.clinic_name.clear()
    qtbot.keyClicks(dialog.clinic_name, "Praxis Mitte")
    dialog.clinic_address.setPlainText("Hauptstraße 1, Berlin")
    dialog.send_confirmation.setChecked(True)
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.on_save()
    # Clinic-wide values: in the clinic's database, the same for every PC.
    settings = sqlite_clinic.reload_settings()
    assert (
        settings.clinic_name,
        settings.clinic_address,
        settings.send_booking_confirmation,
    ) == ("Praxis Mitte", "Hauptstraße 1, Berlin", True)
    assert calendar_invite.confirmation_enabled(sqlite_clinic)
    assert calendar_invite.clinic_identity(sqlite_clinic) == (
        "Praxis Mitte",
        "Hauptstraße 1, Berlin",
    )
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    dialog.close()
    stats.close()
