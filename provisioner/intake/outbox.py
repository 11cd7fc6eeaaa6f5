"""The Outbox protocol: where intake's emails go.

- `EmlOutbox`: one `.eml` file per message in a folder (`build/outbox/` by default),
  so a newcomer opens the confirmation email in any mail client; files are 0600 (they
  hold a supporter's address).
- `SmtpOutbox`: a real SMTP server (`provisioner serve --smtp HOST:PORT`).
- `SesOutbox`: Amazon SES `SendEmail` with the raw MIME message (so the
  List-Unsubscribe headers go out as written), for the cloud.

Every implementation takes a finished `email.message.Message` (see emails.py)
and is safe to call from many threads. A failure raises `OutboxError`; the submission
is already stored by then, so intake reports the failure without losing it.
"""

from __future__ import annotations

import os
import secrets
import smtplib
import time
from email.message import Message
from pathlib import Path
from typing import Any, Protocol

from provisioner.errors import InputError, ProvisionerError


class OutboxError(ProvisionerError):
    """An email could not be handed over (disk full, SMTP refused, SES error)."""

    exit_code = 1


class Outbox(Protocol):
    """Hands finished emails over for delivery."""

    def send(self, message: Message) -> None: ...


class EmlOutbox:
    """Writes each message to `<folder>/<time>-<random>.eml`, atomically."""

    def __init__(self, folder: Path):
        self.folder = folder

    def send(self, message: Message) -> None:
        name = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(6)}.eml"
        target = self.folder / name
        partial = self.folder / f".{name}.part"
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(message.as_bytes())
            os.replace(partial, target)  # a mail client never sees half a message
        except OSError as exc:
            raise OutboxError(f"cannot write {target}: {exc.strerror}") from exc

    def messages(self) -> list[Path]:
        """The messages written so far, oldest first."""
        return sorted(self.folder.glob("*.eml")) if self.folder.is_dir() else []


class SmtpOutbox:
    """Delivers through an SMTP server; one connection per message (thread-safe)."""

    def __init__(self, host: str, port: int, timeout: float = 10.0):
        self.host, self.port, self.timeout = host, port, timeout

    def send(self, message: Message) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            # Not str(exc): SMTPRecipientsRefused names the recipients, and this is logged.
            code = getattr(exc, "smtp_code", None) or getattr(exc, "errno", None) or ""
            reason = f"{type(exc).__name__} {code}".strip()
            raise OutboxError(
                f"SMTP {self.host}:{self.port} refused the message: {reason}"
            ) from exc


class SesOutbox:
    """Sends through Amazon SES v2 `SendEmail` with raw content; `client` is a boto3
    `sesv2` client (created once and shared: a client costs ~130 ms to create)."""

    def __init__(self, client: Any, configuration_set: str | None = None):
        self.client = client
        self.configuration_set = configuration_set

    def send(self, message: Message) -> None:
        request: dict[str, Any] = {"Content": {"Raw": {"Data": message.as_bytes()}}}
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            self.client.send_email(**request)
        except Exception as exc:  # botocore raises many types; all mean "not sent"
            # SES messages may name the recipients ("identities failed the check: ..."),
            # and this ends up in the logs: keep the error code only.
            error = getattr(exc, "response", None) or {}
            code = error.get("Error", {}).get("Code") or type(exc).__name__
            raise OutboxError(f"SES SendEmail failed: {code}") from exc


def smtp_address(value: str) -> tuple[str, int]:
    """`HOST:PORT` of `--smtp`, checked."""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--smtp {value!r}: use HOST:PORT, for example 127.0.0.1:1025")
    return host, int(port)
