"""The Linux desktop entry and AppStream metainfo name real things and carry the real version."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from tests.packaging.paths import DESKTOP_FILE, ICONS, LINUX, METAINFO, SPEC, pyproject


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # keys are case-sensitive
    parser.read(DESKTOP_FILE, encoding="utf-8")
    return parser["Desktop Entry"]


def spec_executable_names() -> set[str]:
    # The name= argument of each EXE(...) call, even when the call spans lines.
    pattern = re.compile(r'EXE\((?:[^()]|\([^()]*\))*?name="([^"]+)"', re.S)
    return set(pattern.findall(SPEC.read_text(encoding="utf-8")))


def test_desktop_entry_exec_is_the_gui_entry_point_and_the_frozen_executable() -> None:
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "HMS Desktop"
    assert entry["Terminal"] == "false"
    command = entry["Exec"].split()[0]
    assert command in pyproject()["project"]["gui-scripts"], "Exec must be the installed GUI script"
    assert command in spec_executable_names(), "Exec must be an executable the spec builds"
    assert entry["TryExec"] == command
    # GNOME/KDE match the running window to this entry by its WM_CLASS instance (argv[0]).
    assert entry["StartupWMClass"] == command


def test_desktop_entry_icon_has_svg_and_png_files() -> None:
    icon = desktop_entry()["Icon"]
    assert "/" not in icon and "." not in icon, "a theme icon name, installed into hicolor"
    assert (ICONS / f"{icon}.svg").is_file()
    for size in (16, 32, 48, 64, 128, 256, 512):
        assert (ICONS / f"{icon}-{size}.png").is_file()


def test_desktop_entry_categories_are_terminated_lists() -> None:
    entry = desktop_entry()
    for key in ("Categories", "Keywords"):
        assert entry[key].endswith(";"), f"{key} is a ;-terminated list"
    assert "Office" in entry["Categories"].split(";")


def test_desktop_file_validate_accepts_the_entry() -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate is not installed (apt install desktop-file-utils)")
    result = subprocess.run([tool, str(DESKTOP_FILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower()


def metainfo() -> ET.Element:
    return ET.parse(METAINFO).getroot()


def test_metainfo_has_the_required_appstream_fields() -> None:
    root = metainfo()
    assert root.tag == "component"
    assert root.get("type") == "desktop-application"
    component_id = root.findtext("id", "")
    assert re.fullmatch(r"[a-z]+(\.[A-Za-z0-9_]+){2,}", component_id), component_id
    assert METAINFO.name == f"{component_id}.metainfo.xml"
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.findtext("project_license") == pyproject()["project"]["license"]["text"]
    assert root.findtext("name") == desktop_entry()["Name"]
    summary = root.findtext("summary", "")
    assert 0 < len(summary) <= 80 and not summary.endswith(".")
    description = root.find("description")
    assert description is not None and description.find("p") is not None
    assert root.find("content_rating") is not None


def test_metainfo_launchable_and_binaries_exist() -> None:
    root = metainfo()
    launchable = root.find("launchable")
    assert launchable is not None and launchable.get("type") == "desktop-id"
    assert (LINUX / (launchable.text or "")).resolve() == DESKTOP_FILE.resolve()
    project = pyproject()["project"]
    scripts = set(project["scripts"]) | set(project["gui-scripts"])
    binaries = {b.text for b in root.iterfind("provides/binary")}
    assert binaries == scripts == spec_executable_names()
    assert root.findtext("icon") == desktop_entry()["Icon"]


def test_metainfo_newest_release_is_the_package_version() -> None:
    releases = metainfo().findall("releases/release")
    assert releases, "at least one <release>"
    newest = releases[0]
    assert newest.get("version") == pyproject()["project"]["version"], (
        "add a <release> for the new version at the top of <releases>"
    )
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", newest.get("date", ""))


def test_appstreamcli_validates_the_metainfo() -> None:
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli is not installed (apt install appstream)")
    result = subprocess.run(
        [tool, "validate", "--no-net", str(METAINFO)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
