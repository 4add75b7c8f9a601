#!/usr/bin/env bash
# Build the one-folder application with PyInstaller and smoke-test the result.
# .ci/run calls this after the tests, with the project's .venv already created.
# Prints the build time and the size of dist/hms-desktop; exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen

start=$(date +%s)
# --- packaging/build.md: build on Linux (keep this line identical) ---
.venv/bin/pip install -q -e '.[packaging]' && .venv/bin/pyinstaller --noconfirm --log-level WARN packaging/hms-desktop.spec
built=$(date +%s)
echo "packaging: build took $(( built - start ))s; dist/hms-desktop is $(du -sh dist/hms-desktop | cut -f1)"

# The smoke test must run against this build: a missing build fails instead of skipping.
HMS_REQUIRE_FROZEN=1 .venv/bin/python -m pytest -q tests/packaging/test_frozen_app.py
echo "packaging: smoke test took $(( $(date +%s) - built ))s"
