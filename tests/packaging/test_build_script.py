"""packaging/ci-build.sh runs the documented build command and is runnable by .ci/run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.packaging.paths import PACKAGING, ROOT

CI_BUILD = PACKAGING / "ci-build.sh"


def build_line() -> str:
    lines = CI_BUILD.read_text(encoding="utf-8").splitlines()
    marker = next(i for i, line in enumerate(lines) if "packaging/build.md: build" in line)
    return lines[marker + 1]


def test_ci_build_runs_the_command_documented_in_build_md() -> None:
    line = build_line()
    assert "pyinstaller" in line and "packaging/hms-desktop.spec" in line
    assert line in (PACKAGING / "build.md").read_text(encoding="utf-8")


def test_ci_build_runs_the_smoke_test_so_a_missing_build_fails() -> None:
    script = CI_BUILD.read_text(encoding="utf-8")
    assert "HMS_REQUIRE_FROZEN=1" in script
    assert "tests/packaging/test_frozen_app.py" in script
    assert "set -euo pipefail" in script


@pytest.mark.skipif(sys.platform == "win32", reason="a bash script; .ci/run runs on Linux")
def test_ci_build_is_an_executable_bash_script() -> None:
    # .ci/run only calls it when it is executable ([ -x packaging/ci-build.sh ]).
    assert os.access(CI_BUILD, os.X_OK)
    bash = shutil.which("bash")
    assert bash is not None
    subprocess.run([bash, "-n", str(CI_BUILD)], check=True, cwd=ROOT)
