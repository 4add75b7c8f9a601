"""STARTTLS, implicit TLS and SMTP log-in against a real aiosmtpd server with its own certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from hms_desktop.services.clinic_settings.values import ClinicSettings
from hms_desktop.services.messaging.email_delivery import DeliveryError, Email, SmtpSender
from tests.jobs.conftest import Mailbox, free_port

x509 = pytest.importorskip("cryptography.x509", reason="cryptography makes the test certificate")


def _certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Users:
    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"desk",
            b"s3cret-pass",
        )
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    cert, key = _certificate(tmp_path)
    # The sender verifies the server with the system's trust store; trust our test CA there.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return cert, key


def _server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


@pytest.fixture
def starttls_server(tls_files: tuple[Path, Path]) -> Iterator[tuple[int, Mailbox]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=_server_context(*tls_files),
        require_starttls=True,
        authenticator=_Users(),
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    yield port, mailbox
    controller.stop()


def _settings(port: int, tls: str, password: str) -> ClinicSettings:
    return ClinicSettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_tls=tls,
        smtp_user="desk",
        smtp_password=password,
        smtp_from="desk@clinic.test",
    )


def test_starttls_with_log_in_delivers(starttls_server: tuple[int, Mailbox]) -> None:
    port, mailbox = starttls_server
    with SmtpSender(_settings(port, "starttls", "s3cret-pass")) as sender:
        sender.send(Email("ann@mail.test", "Hello", "Body text"))
    [got] = mailbox.messages
    assert (got.rcpt_tos, got.subject, got.text().strip()) == (
        ["ann@mail.test"],
        "Hello",
        "Body text",
    )


def test_a_wrong_password_says_what_to_fix(starttls_server: tuple[int, Mailbox]) -> None:
    port, mailbox = starttls_server
    with pytest.raises(DeliveryError, match="refused the SMTP user name or password"):
        SmtpSender(_settings(port, "starttls", "wrong")).connect()
    assert mailbox.messages == []


def test_plain_connection_to_a_starttls_only_server_is_refused(
    starttls_server: tuple[int, Mailbox],
) -> None:
    port, mailbox = starttls_server
    with pytest.raises(DeliveryError, match="does not support"):
        SmtpSender(_settings(port, "none", "s3cret-pass")).connect()
    assert mailbox.messages == []


# aiosmtpd cannot tell that an implicit-TLS connection is encrypted and warns about AUTH.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_implicit_tls_delivers(tls_files: tuple[Path, Path]) -> None:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        ssl_context=_server_context(*tls_files),
        authenticator=_Users(),
        auth_required=True,
        # The whole connection is TLS; aiosmtpd only tracks STARTTLS for this check.
        auth_require_tls=False,
    )
    controller.start()
    try:
        with SmtpSender(_settings(port, "ssl", "s3cret-pass")) as sender:
            sender.send(Email("bo@mail.test", "Report", "Numbers", html="<p>Numbers</p>"))
    finally:
        controller.stop()
    [got] = mailbox.messages
    assert got.rcpt_tos == ["bo@mail.test"]
    assert got.html().strip() == "<p>Numbers</p>"
