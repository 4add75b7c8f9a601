"""The spec never excludes what the application imports (checked without building)."""

from __future__ import annotations

import ast
import re

from tests.packaging.paths import ROOT, SPEC


def spec_list(name: str) -> set[str]:
    """The string items of the top-level ``name = [...]`` list in the spec."""
    for node in ast.parse(SPEC.read_text(encoding="utf-8")).body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
            and isinstance(node.value, ast.List)
        ):
            return {
                item.value
                for item in node.value.elts
                if isinstance(item, ast.Constant) and isinstance(item.value, str)
            }
    raise AssertionError(f"no list {name} in {SPEC}")


def imported_modules() -> set[str]:
    pattern = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][\w.]*)", re.M)
    found: set[str] = set()
    for path in (ROOT / "hms_desktop").rglob("*.py"):
        for name in pattern.findall(path.read_text(encoding="utf-8")):
            parts = name.split(".")
            found.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return found


def test_no_module_the_app_imports_is_excluded() -> None:
    excludes = spec_list("excludes")
    assert "PySide6.QtWebEngineCore" in excludes  # the parser reads the real list
    clash = excludes & imported_modules()
    assert not clash, f"the spec excludes modules the app imports: {sorted(clash)}"


def test_qt_modules_used_by_the_app_are_bundled() -> None:
    qt_used = {m for m in imported_modules() if re.fullmatch(r"PySide6\.Qt\w+", m)}
    assert "PySide6.QtWidgets" in qt_used
    # Every Qt module the app names is either found by analysis (imported at module level
    # somewhere) or listed as a hidden import; either way it must not be excluded.
    assert not qt_used & spec_list("excludes")
    assert {"PySide6.QtCharts", "PySide6.QtPrintSupport", "PySide6.QtSvg"} <= spec_list(
        "hiddenimports"
    )
