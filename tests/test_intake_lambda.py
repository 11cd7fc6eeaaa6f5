"""The Lambda entry point, driven with API Gateway HTTP API (v2) events, on the real
intake core, against moto's server over HTTP on loopback: DynamoDB for the store,
SES v2 for the confirmation emails."""

from __future__ import annotations

import base64
import email
import json
import urllib.request
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from intake_cloud import (  # noqa: F401
    BASE,
    HASH_KEY,
    SECRET,
    aws_env,
    client,
    create_table,
    event,
    moto,
    pledge_form,
    write_network,
)
from s3_support import MotoServer

from provisioner.intake import lambda_handler
from provisioner.intake.core import Intake
from provisioner.intake.dynamo_store import DynamoStore
from provisioner.intake.lambda_handler import handle
from provisioner.intake.tokens import keyed_hash


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return write_network(tmp_path / "network")


@pytest.fixture
def cloud(
    moto: MotoServer,  # noqa: F811
    bundle: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """The function's environment as the stack sets it, pointed at moto."""
    aws_env(monkeypatch)
    client(moto, "sesv2").create_email_identity(EmailIdentity=BASE)
    return {
        "INTAKE_TABLE": create_table(moto),
        "INTAKE_SENDER": f"no-reply@{BASE}",
        "INTAKE_ORIGIN_SECRET": SECRET,
        "INTAKE_HASH_KEY": HASH_KEY,
        "INTAKE_RATE_LIMIT": "30",
        "INTAKE_BUNDLE": str(bundle),
        "INTAKE_ENDPOINT_URL": moto.url,
    }


def sent_emails(moto: MotoServer) -> list[Message]:  # noqa: F811
    with urllib.request.urlopen(f"{moto.url}/moto-api/data.json") as answer:
        data = json.load(answer)
    raw = [m["raw_data"] for m in data.get("ses", {}).get("RawMessage", [])]
    return [email.message_from_bytes(r.encode("utf-8")) for r in raw]


def store_of(intake: Intake) -> DynamoStore:
    assert isinstance(intake.store, DynamoStore)
    return intake.store


def link(message: Message, path: str) -> str:
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = text.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return next(w for w in payload.decode().split() if f"/api/{path}?t=" in w)


def test_pledge_is_stored_mailed_confirmed_and_unsubscribed(
    cloud: dict[str, str],
    moto: MotoServer,  # noqa: F811
) -> None:
    intake, trust = lambda_handler.from_environment(cloud)
    mailed_before = len(sent_emails(moto))
    answer = handle(
        event("POST", "/api/pledge", pledge_form(), origin=f"https://liege.{BASE}"), intake, trust
    )
    assert answer["statusCode"] == 303
    assert answer["headers"]["Location"] == "/fr/merci.html"
    [stored] = list(store_of(intake).submissions())
    assert (stored.nation, stored.email, stored.state) == (
        "liege",
        "lea.peeters@example.be",
        "pending",
    )
    assert stored.client_hash == keyed_hash(HASH_KEY.encode(), "203.0.113.7")  # the viewer
    [message] = sent_emails(moto)[mailed_before:]
    assert message["To"] == "lea.peeters@example.be"
    # The nation's own sender (noreply@liege.<base>) is not the verified identity.
    assert message["From"] == f"Liege <no-reply@{BASE}>"
    confirm = urlsplit(link(message, "confirm"))
    assert confirm.netloc == f"liege.{BASE}" and confirm.scheme == "https"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    confirmed = handle(event("GET", "/api/confirm", query=confirm.query), intake, trust)
    assert confirmed["statusCode"] == 303
    assert confirmed["headers"]["Location"] == "/fr/confirmation.html"
    assert [s.id for s in store_of(intake).submissions("confirmed")] == [stored.id]
    again = handle(event("GET", "/api/confirm", query=confirm.query), intake, trust)
    assert again["statusCode"] == 410

    unsubscribe = urlsplit(message["List-Unsubscribe"].strip("<>"))
    one_click = handle(
        event("POST", "/api/unsubscribe", b"List-Unsubscribe=One-Click", query=unsubscribe.query),
        intake,
        trust,
    )
    assert one_click["statusCode"] == 200
    assert store_of(intake).do_not_contact().emails == {"lea.peeters@example.be"}


def test_without_the_origin_secret_forwarded_headers_are_not_believed(
    cloud: dict[str, str],
    moto: MotoServer,  # noqa: F811
) -> None:
    intake, trust = lambda_handler.from_environment(cloud)
    forged = event("POST", "/api/pledge", pledge_form(), x_horizon_host=f"liege.{BASE}")
    forged["headers"]["cloudfront-viewer-address"] = "198.51.100.1:1234"
    forged["headers"]["x-horizon-origin-verify"] = "guessed"
    mailed_before = len(sent_emails(moto))
    answer = handle(forged, intake, trust)
    assert answer["statusCode"] == 303
    assert answer["headers"]["Location"] == "/liege/fr/merci.html"  # not the nation's host
    [stored] = list(store_of(intake).submissions())
    assert stored.client_hash == keyed_hash(HASH_KEY.encode(), "130.176.1.2")  # sourceIp
    [message] = sent_emails(moto)[mailed_before:]
    assert urlsplit(link(message, "confirm")).netloc == f"liege.{BASE}"  # the nation's domain


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (pledge_form(email="not-an-email"), {}, 422),
        (pledge_form() + b"&pad=" + b"x" * 20_000, {}, 413),
        (pledge_form(), {"origin": "https://evil.example"}, 403),
        (pledge_form(nation="atlantis"), {}, 404),
        (pledge_form(colour="blue"), {}, 422),
    ],
)
def test_refusals_store_nothing(
    cloud: dict[str, str], body: bytes, headers: dict[str, str], status: int
) -> None:
    intake, trust = lambda_handler.from_environment(cloud)
    answer = handle(event("POST", "/api/pledge", body, **headers), intake, trust)
    assert answer["statusCode"] == status
    assert list(store_of(intake).submissions()) == []
    page = base64.b64decode(answer["body"]).decode()
    assert "<html" in page.lower()
    if status == 422 and b"not-an-email" in body:
        assert "Adresse e-mail" in page  # the field, named in the form's language


def test_a_body_that_is_not_base64_is_refused(cloud: dict[str, str]) -> None:
    intake, trust = lambda_handler.from_environment(cloud)
    broken = event("POST", "/api/pledge", pledge_form())
    broken["body"] = "%%% not base64 %%%"
    assert handle(broken, intake, trust)["statusCode"] == 400
    assert list(store_of(intake).submissions()) == []


def test_rate_limit_is_per_viewer_not_per_cloudfront_edge(cloud: dict[str, str]) -> None:
    intake, trust = lambda_handler.from_environment(cloud | {"INTAKE_RATE_LIMIT": "2"})
    statuses = [
        handle(event("POST", "/api/pledge", pledge_form(email=f"p{i}@example.be")), intake, trust)
        for i in range(3)
    ]
    assert [s["statusCode"] for s in statuses] == [303, 303, 429]
    assert int(statuses[2]["headers"]["Retry-After"]) >= 1
    other = event("POST", "/api/pledge", pledge_form(email="q@example.be"), viewer="192.0.2.9:5")
    assert handle(other, intake, trust)["statusCode"] == 303
    assert len(list(store_of(intake).submissions())) == 3


def test_custom_domain_nation_sends_from_the_verified_domain(
    cloud: dict[str, str],
    moto: MotoServer,  # noqa: F811
) -> None:
    intake, trust = lambda_handler.from_environment(cloud)
    mailed_before = len(sent_emails(moto))
    form = pledge_form(nation="marie-dubois", postcode="4020")
    answer = handle(event("POST", "/api/pledge", form, host="marie-dubois.be"), intake, trust)
    assert answer["statusCode"] == 303 and answer["headers"]["Location"] == "/fr/merci.html"
    [message] = sent_emails(moto)[mailed_before:]
    assert message["From"] == f"Marie Dubois <no-reply@{BASE}>"
    assert urlsplit(link(message, "confirm")).netloc == "marie-dubois.be"


def test_the_lambda_entry_point_reads_its_environment(
    cloud: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in cloud.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(lambda_handler, "_cached", None)
    answer = lambda_handler.handler(event("POST", "/api/subscribe", pledge_form()), None)
    assert answer["statusCode"] == 303 and answer["isBase64Encoded"] is True
    assert answer["headers"]["Cache-Control"] == "no-store"
    assert lambda_handler.handler(event("GET", "/api/nothing"), None)["statusCode"] == 404


def test_an_ses_refusal_keeps_the_row_and_logs_no_address(
    cloud: dict[str, str],
    moto: MotoServer,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    intake, trust = lambda_handler.from_environment(
        cloud | {"INTAKE_SENDER": "x@unverified.example"}
    )
    form = pledge_form(nation="marie-dubois", postcode="4020")
    with caplog.at_level("INFO", logger="provisioner.intake"):
        answer = handle(event("POST", "/api/pledge", form, host="marie-dubois.be"), intake, trust)
    assert answer["statusCode"] == 303  # stored before mailing: acknowledged, kept
    assert len(list(store_of(intake).submissions())) == 1
    assert "confirmation email not sent: SES SendEmail failed: MessageRejected" in caplog.text
    assert "lea.peeters" not in caplog.text and "@" not in caplog.text


def test_ses_error_text_naming_recipients_stays_out_of_the_message() -> None:
    from botocore.exceptions import ClientError

    from provisioner.intake.outbox import OutboxError, SesOutbox

    class Refusing:
        def send_email(self, **request: Any) -> None:
            text = "Email address is not verified: lea.peeters@example.be"
            raise ClientError({"Error": {"Code": "MessageRejected", "Message": text}}, "SendEmail")

    with pytest.raises(OutboxError) as caught:
        SesOutbox(Refusing()).send(email.message.EmailMessage())
    assert str(caught.value) == "SES SendEmail failed: MessageRejected"
