"""The outboxes: .eml files a newcomer can open, and a real SMTP server on loopback
(aiosmtpd) receiving the confirmation email with its one-click unsubscribe headers."""

from __future__ import annotations

import email
import email.policy
import stat
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from intake_support import FORM, free_port, link, mini_directory, token
from test_intake_core import HOST, Templates, form

from provisioner.errors import InputError
from provisioner.intake.core import Intake, IntakeRequest
from provisioner.intake.emails import compose
from provisioner.intake.outbox import EmlOutbox, OutboxError, SmtpOutbox, smtp_address
from provisioner.intake.sqlite_store import SqliteStore


class Inbox:
    """aiosmtpd handler keeping every message it is given."""

    def __init__(self) -> None:
        self.received: list[tuple[Envelope, Message]] = []

    async def handle_DATA(self, server: object, session: Session, envelope: Envelope) -> str:
        data = envelope.content if isinstance(envelope.content, bytes) else b""
        self.received.append(
            (envelope, email.message_from_bytes(data, policy=email.policy.default))
        )
        return "250 OK"


def message(to: str = "ana@example.be") -> Message:
    template = {"SubjectPart": "Hi {{first_name}}", "TextPart": "{{confirm_url}}\n",
                "HtmlPart": "<a href='{{confirm_url}}'>{{first_name}}</a>"}  # fmt: skip
    values = {"first_name": "<Ana>", "confirm_url": "http://x/api/confirm?t=abc"}
    return compose(template, "Horizon Liège <liege@horizon.example>", to, values, "http://x/u")


def test_eml_outbox_writes_private_files_a_mail_client_opens(tmp_path: Path) -> None:
    outbox = EmlOutbox(tmp_path / "outbox")
    outbox.send(message())
    (path,) = outbox.messages()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Hi <Ana>"
    html = next(p for p in parsed.walk() if p.get_content_type() == "text/html")
    assert "&lt;Ana&gt;" in html.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert not list((tmp_path / "outbox").glob(".*.part"))


def test_eml_outbox_reports_a_folder_it_cannot_write(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutboxError, match="cannot write"):
        EmlOutbox(blocker / "outbox").send(message())


@pytest.fixture
def smtp() -> tuple[Inbox, int]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


def test_confirmation_goes_through_a_real_smtp_server(
    tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    store = SqliteStore(tmp_path / "intake.db")
    intake = Intake(
        mini_directory(HOST), store, SmtpOutbox("127.0.0.1", port), Templates(), b"k", 0
    )
    try:
        body = "&".join(f"{k}={v}" for k, v in form().items()).encode()
        request = IntakeRequest("POST", "/api/pledge", body=body, content_type=FORM, host=HOST)
        assert intake.handle(request).status == 303
        ((envelope, received),) = inbox.received
        assert envelope.rcpt_tos == ["ana@example.be"]
        assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert received["List-Unsubscribe"] == f"<{link(received, 'unsubscribe')}>"
        confirm = IntakeRequest(
            "GET", "/api/confirm", query={"t": token(link(received, "confirm"))}
        )
        assert intake.handle(confirm).status == 303
        assert [s.state for s in store.submissions()] == ["confirmed"]
    finally:
        store.close()


def test_smtp_refusal_is_an_outbox_error_and_the_submission_is_kept(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "intake.db")
    dead = SmtpOutbox("127.0.0.1", free_port(), timeout=2)
    with pytest.raises(OutboxError, match=r"SMTP 127\.0\.0\.1"):
        dead.send(message())
    intake = Intake(mini_directory(HOST), store, dead, Templates(), b"k", 0)
    try:
        body = "&".join(f"{k}={v}" for k, v in form().items()).encode()
        request = IntakeRequest("POST", "/api/pledge", body=body, content_type=FORM, host=HOST)
        assert intake.handle(request).status == 303  # stored: the email can be sent again
        assert len(list(store.submissions())) == 1
    finally:
        store.close()


@pytest.mark.parametrize("value", ["localhost", "host:port", ":25", "h:70000"])
def test_smtp_address_must_be_host_and_port(value: str) -> None:
    with pytest.raises(InputError, match="use HOST:PORT"):
        smtp_address(value)


class Refusing(Inbox):
    async def handle_RCPT(
        self, server: object, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        return "550 no such user"


def test_an_smtp_refusal_never_names_the_recipient() -> None:
    controller = Controller(Refusing(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with pytest.raises(OutboxError) as refused:
            SmtpOutbox("127.0.0.1", controller.port).send(message(to="secret@example.be"))
    finally:
        controller.stop()
    assert "secret" not in str(refused.value)  # it ends up in the server's log
    assert "SMTPRecipientsRefused" in str(refused.value)
