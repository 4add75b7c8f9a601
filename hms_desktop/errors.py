"""Errors a person can cause, kept apart from bugs.

Every service raises a subclass of :class:`HmsError` for a problem the user can
fix (bad input, a taken slot, missing permission). The message is written for a
receptionist: it says what is wrong and what to do. Anything else is a bug.
"""

from __future__ import annotations


class HmsError(Exception):
    """A problem the user caused and can fix; ``str(err)`` is the message to show."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: The input field the message is about, so a form can show it next to it.
        self.field = field

    def __str__(self) -> str:
        return self.message


class ValidationError(HmsError):
    """Input that breaks a rule (empty name, impossible date, bad phone)."""


class NotFoundError(HmsError):
    """The record asked for does not exist (or is not visible to this user)."""


class PermissionDeniedError(HmsError):
    """The signed-in user may not do this."""


class SlotTakenError(HmsError):
    """The doctor or the patient already has a live appointment at that time."""


class AuthenticationError(HmsError):
    """Wrong user name or password."""


class AccountLockedError(AuthenticationError):
    """Too many failed log-ins; the account is locked for a while."""


class DatabaseUnavailableError(HmsError):
    """The database is missing, locked, unreachable or of a newer version."""


class WritesCrossedError(DatabaseUnavailableError):
    """PostgreSQL rolled the transaction back because it crossed another one (a deadlock
    or a serialization failure): the same change, tried again, can succeed."""


class ConflictError(HmsError):
    """The record changed state (e.g. an appointment is no longer booked)."""


class OperationCancelledError(Exception):
    """Long work (an export, a bulk load) stopped because the user cancelled it.

    Not an :class:`HmsError`: nothing went wrong, so nothing is shown as an error.
    """


class SignedOutError(PermissionDeniedError):
    """The signed-in account was disabled meanwhile: the window signs its user out."""
