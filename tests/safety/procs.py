"""Start a child writer process, let it commit a few operations, then SIGKILL it."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: A child that reports nothing for this long is stuck; the test fails instead of hanging.
STALL_TIMEOUT_S = 60.0


@dataclass
class Child:
    proc: subprocess.Popen[bytes]
    stderr_path: Path
    lines: list[str]
    _buffer: bytes = b""

    def read_until(self, count: int, timeout: float = STALL_TIMEOUT_S) -> None:
        """Block until the child has printed at least ``count`` lines."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while len(self.lines) < count:
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not sel.select(0)):
                    raise AssertionError(
                        f"child printed {len(self.lines)} of {count} lines; stderr:\n"
                        + self.stderr_path.read_text(errors="replace")[-3000:]
                    )
                if sel.select(min(left, 1.0)):
                    self._take(os.read(self.proc.stdout.fileno(), 65536))

    def _take(self, chunk: bytes) -> None:
        self._buffer += chunk
        *done, self._buffer = self._buffer.split(b"\n")
        self.lines += [d.decode() for d in done if d]

    def kill(self) -> list[int]:
        """SIGKILL the child; return every id it had reported, also those still in the pipe."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        assert self.proc.stdout is not None
        self._take(self.proc.stdout.read())
        self.proc.stdout.close()
        # A half-printed last line is not a report of success.
        return [int(line) for line in self.lines]


def start_child(mode: str, url: str, *args: object, workdir: Path) -> Child:
    stderr_path = workdir / f"child-{mode}-{time.monotonic_ns()}.stderr"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.safety.child", mode, url, *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=err,
            cwd=ROOT,
            env=env,
        )
    return Child(proc, stderr_path, [])
