"""Fixtures for the background-job tests: a real SMTP server on loopback, clinic helpers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from hms_desktop.services.clinic import Clinic
from tests.factories import set_settings


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return "" if part is None else str(part.get_content())  # type: ignore[attr-defined]


@dataclass
class Mailbox:
    """What the loopback SMTP server received, in order."""

    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 Message accepted"

    @property
    def recipients(self) -> list[str]:
        with self.lock:
            return [r for m in self.messages for r in m.rcpt_tos]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_port() -> int:
    """A loopback port with nothing listening (until ``smtp_server`` starts on it)."""
    return free_port()


class SmtpServer:
    """A real aiosmtpd server that a test can stop and start again on the same port."""

    def __init__(self, port: int, *, smtputf8: bool = True) -> None:
        self.port = port
        self.mailbox = Mailbox()
        self.smtputf8 = smtputf8
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(
            self.mailbox, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=self.smtputf8
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_server(smtp_port: int) -> Iterator[SmtpServer]:
    server = SmtpServer(smtp_port)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down(smtp_port: int) -> Iterator[SmtpServer]:
    """The same server object, not started: connections to the port are refused."""
    server = SmtpServer(smtp_port)
    yield server
    server.stop()


def use_smtp(clinic: Clinic, port: int, **more: Any) -> None:
    set_settings(
        clinic,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_tls="none",
        smtp_from="desk@clinic.test",
        **more,
    )
