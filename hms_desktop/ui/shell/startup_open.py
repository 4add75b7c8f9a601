"""The start-up's worker part: lock and open the clinic, list (or build) the demo log-ins.

It runs on a worker thread, so it imports no screen code: the UI thread loads the
screens meanwhile (see :mod:`hms_desktop.ui.shell.startup`). No widgets here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hms_desktop.config import Settings
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic, open_clinic
from hms_desktop.services.files.atomic_file import sweep_after_crash
from hms_desktop.services.people import accounts
from hms_desktop.services.safety.instance_lock import InstanceLock
from hms_desktop.ui.common.operations import OpContext

if TYPE_CHECKING:
    from hms_desktop.ui.shell.startup import StartOptions

log = logging.getLogger(__name__)

#: The demo clinic's size: big enough to look real, small enough to build in seconds.
DEMO_SEED = 1
DEMO_DOCTORS = 12
DEMO_PATIENTS = 300


def demo_accounts_file(database_file: Path) -> Path:
    """Where the demo clinic's log-ins are remembered (beside its database)."""
    return database_file.with_name(database_file.name + ".accounts.json")


#: A demo log-in as the worker finds it: (user name, password, role). Plain tuples, so the
#: worker need not import the sign-in page's module before it starts hashing.
DemoLogin = tuple[str, str, str]


@dataclass(frozen=True)
class Opened:
    """What the worker found: the clinic, whether it has an administrator, the demo log-ins,
    and (for the start-up check's automatic demo log-in) who is signed in."""

    clinic: Clinic
    has_admin: bool
    demo_logins: list[DemoLogin]
    actor: Actor | None = None


def auto_login_account(demo: Sequence[DemoLogin]) -> DemoLogin:
    """The demo log-in the start-up check signs in with: the administrator if listed."""
    return next((a for a in demo if a[2] == "admin"), demo[0])


def open_for_start(
    settings: Settings, options: StartOptions, lock: InstanceLock | None, ctx: OpContext
) -> Opened:
    """The worker's part: lock, open (and migrate), fill a demo clinic when new.

    With ``quit_after_show`` on a demo clinic it also logs in as the demo administrator
    here, so argon2's deliberate tenth of a second (it releases the GIL) runs while the
    UI thread loads the screens' code instead of after it.
    """
    if lock is not None:
        lock.acquire()
    # Partial files of an export or backup that died with an earlier run go first.
    sweep_after_crash()
    clinic = open_clinic(settings, migrate=True)
    try:
        has_admin = accounts.has_admin(clinic)
        demo: list[DemoLogin] = []
        actor: Actor | None = None
        if options.demo:
            demo = demo_logins(clinic, options, ctx, has_admin)
            has_admin = True
            if options.quit_after_show and demo:
                username, password, _role = auto_login_account(demo)
                actor = accounts.login(clinic, username, password)
    except BaseException:
        clinic.close()
        raise
    return Opened(clinic, has_admin, demo, actor)


def demo_logins(
    clinic: Clinic, options: StartOptions, ctx: OpContext, has_admin: bool
) -> list[DemoLogin]:
    """The demo clinic's log-ins: built with a new clinic (and remembered beside its file),
    else the remembered ones, else the standard two (when the file is missing or broken).
    """
    store = demo_accounts_file(options.database_file) if options.database_file else None
    if not has_admin:
        from hms_desktop.services.demo import generator as demo_data

        def progress(stage: str, done: int, total: int) -> None:
            ctx.check_cancelled()
            ctx.report(done, total, f"Creating the demo clinic: {stage}…")

        summary = demo_data.generate(
            clinic,
            seed=DEMO_SEED,
            doctors=DEMO_DOCTORS,
            patients=DEMO_PATIENTS,
            progress=progress,
        )
        found = [(a.username, summary.password, a.role) for a in summary.accounts]
        if store is not None:
            keys = ("username", "password", "role")
            rows = [dict(zip(keys, login, strict=True)) for login in found]
            store.write_text(json.dumps(rows, indent=1), encoding="utf-8")
        return found
    if store is not None and store.exists():
        try:
            return [_stored_login(a) for a in json.loads(store.read_text(encoding="utf-8"))]
        except (OSError, ValueError, TypeError):
            log.warning("cannot read %s; listing the standard demo log-ins", store)
    from hms_desktop.services.demo import generator as demo_data

    return [
        ("admin", demo_data.DEMO_PASSWORD, "admin"),
        ("reception", demo_data.DEMO_PASSWORD, "receptionist"),
    ]


def _stored_login(entry: Any) -> DemoLogin:
    """One remembered log-in; TypeError unless it has exactly the three text fields."""
    if not isinstance(entry, dict) or set(entry) != {"username", "password", "role"}:
        raise TypeError(f"not a demo log-in: {entry!r}")
    login = (entry["username"], entry["password"], entry["role"])
    if not all(isinstance(value, str) for value in login):
        raise TypeError(f"not a demo log-in: {entry!r}")
    return login
