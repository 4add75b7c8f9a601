"""Sending email over SMTP (smtplib): plain, STARTTLS or SSL, with optional log-in.

The outbox decides *what* to send and when; this module only talks to the
server. One :class:`SmtpSender` connection serves a batch of messages.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from types import TracebackType

from hms_desktop import APP_ID
from hms_desktop.services.clinic_settings.values import ClinicSettings as Settings

#: Seconds to wait for the server at each step; a dead server must not stall the app.
SMTP_TIMEOUT_S = 15.0


class DeliveryError(Exception):
    """Sending failed. ``permanent`` means retrying the same message cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Email:
    """One message to send; ``html`` is an optional alternative to the text body."""

    to: str
    subject: str
    body: str
    html: str = ""
    #: Stable per outbox item, so a receiving client can spot a duplicate.
    message_id: str = ""


def sender_address(settings: Settings) -> str:
    return settings.smtp_from or settings.smtp_user or f"{APP_ID}@localhost"


def build_message(settings: Settings, email: Email) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender_address(settings)
    msg["To"] = email.to
    msg["Subject"] = email.subject
    msg["Message-ID"] = email.message_id or make_msgid(domain=APP_ID)
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg.set_content(email.body)
    if email.html:
        msg.add_alternative(email.html, subtype="html")
    return msg


def _describe(err: BaseException) -> str:
    if isinstance(err, smtplib.SMTPResponseException):
        text = err.smtp_error.decode(errors="replace") if isinstance(err.smtp_error, bytes) else ""
        return f"the mail server answered {err.smtp_code} {text}".strip()
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return "the mail server refused the recipient " + ", ".join(err.recipients)
    if isinstance(err, ConnectionRefusedError):
        return "the mail server refused the connection (is it running? check host and port)"
    if isinstance(err, TimeoutError | smtplib.SMTPServerDisconnected):
        return f"the mail server did not answer ({type(err).__name__})"
    return f"{type(err).__name__}: {err}"


class SmtpSender:
    """An SMTP connection for one batch; use as a context manager.

    Raises:
        DeliveryError: on connect (transient unless the log-in was refused) and on send.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSender:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def connect(self) -> None:
        s = self.settings
        try:
            if s.smtp_tls == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.smtp_host,
                    s.smtp_port,
                    timeout=SMTP_TIMEOUT_S,
                    context=ssl.create_default_context(),
                )
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT_S)
        except (OSError, smtplib.SMTPException) as err:
            raise DeliveryError(_describe(err)) from err
        try:
            if s.smtp_tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
        except smtplib.SMTPAuthenticationError as err:
            smtp.close()
            # Not permanent: fixing the settings and pressing Retry must work.
            raise DeliveryError(
                "the mail server refused the SMTP user name or password; fix them in Settings"
            ) from err
        except smtplib.SMTPNotSupportedError as err:
            smtp.close()
            raise DeliveryError(
                f"the mail server does not support this ({err}); check the SMTP security setting"
            ) from err
        except (OSError, smtplib.SMTPException) as err:
            smtp.close()
            raise DeliveryError(_describe(err)) from err
        self._smtp = smtp

    def send(self, email: Email) -> None:
        """Send one message.

        Raises:
            DeliveryError: ``permanent`` for a refused recipient or a 5xx answer.
        """
        if self._smtp is None:
            raise DeliveryError("not connected to the mail server")
        try:
            self._smtp.send_message(build_message(self.settings, email))
        except smtplib.SMTPRecipientsRefused as err:
            raise DeliveryError(_describe(err), permanent=True) from err
        except smtplib.SMTPNotSupportedError as err:
            # This message needs what the server lacks (an address with non-ASCII letters
            # needs SMTPUTF8): only this one fails, for good; the connection is fine.
            raise DeliveryError(
                f"the mail server cannot take this message ({err}); check the address",
                permanent=True,
            ) from err
        except UnicodeError as err:  # an address the server cannot be given in ASCII
            raise DeliveryError(
                f"the address cannot be sent to by this mail server ({err})", permanent=True
            ) from err
        except smtplib.SMTPResponseException as err:
            raise DeliveryError(_describe(err), permanent=500 <= err.smtp_code < 600) from err
        except (OSError, smtplib.SMTPException) as err:
            # The connection is gone; the rest of the batch waits for the next pass.
            self._smtp.close()
            self._smtp = None
            raise DeliveryError(_describe(err)) from err

    @property
    def connected(self) -> bool:
        return self._smtp is not None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None
