"""The package's shape: feature folders, and no module borrowing another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hms_desktop"


def _modules_directly_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.py"))


@pytest.mark.parametrize(("folder", "most"), [("ui", 3), ("services", 6)])
def test_screens_and_services_live_in_feature_packages(folder: str, most: int) -> None:
    modules = _modules_directly_in(PACKAGE / folder)
    assert len(modules) <= most, f"{folder}/ holds {modules}: put them in a feature package"


def test_every_package_says_its_job_in_a_docstring() -> None:
    for init in sorted((PACKAGE / "ui").glob("*/__init__.py")) + sorted(
        (PACKAGE / "services").glob("*/__init__.py")
    ):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc, f"{init.relative_to(PACKAGE)} has no docstring"


def private_imports(root: Path) -> list[str]:
    """``path:line module.name`` for every import of a ``_private`` name across modules."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    name = alias.name
                    if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
                        found.append(f"{path.relative_to(root)}:{node.lineno} {node.module}.{name}")
    return found


def test_no_module_imports_another_modules_private_names() -> None:
    assert private_imports(PACKAGE) == []


def test_the_private_import_check_finds_one(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from hms_desktop.x import _hidden, __version__\n")
    assert private_imports(tmp_path) == ["a.py:1 hms_desktop.x._hidden"]


def test_every_module_imports() -> None:
    """A module moved without its importers fixed fails here, not at a user's click."""
    import importlib
    import pkgutil

    import hms_desktop

    broken = []
    for info in pkgutil.walk_packages(hms_desktop.__path__, "hms_desktop."):
        if ".db.migrations" in info.name or info.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError as err:
            broken.append(f"{info.name}: {err}")
    assert broken == []
