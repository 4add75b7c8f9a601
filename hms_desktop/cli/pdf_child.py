"""PDFs from the command line: Qt draws them in a child process, so ``hms`` loads no Qt."""

from __future__ import annotations

import os
import subprocess
import sys

from hms_desktop.errors import HmsError

#: How long the child may take to write one PDF.
PDF_TIMEOUT_S = 120


def run_renderer(module: str, *args: str) -> None:
    """Run ``python -m module *args`` on Qt's offscreen platform and wait for it.

    Raises:
        HmsError: it took longer than :data:`PDF_TIMEOUT_S`, or it failed (its last
            line of output says why).
    """
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", module, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=PDF_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise HmsError(f"Writing the PDF took over {PDF_TIMEOUT_S} s and was stopped.") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise HmsError(f"The PDF could not be written: {detail[-1] if detail else 'no detail'}")
