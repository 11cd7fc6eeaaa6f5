"""The intake core, driven directly: every refusal with its status and message, and
the path of a valid submission through store, outbox and confirm/unsubscribe links."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlencode

import pytest
from intake_support import FORM, link, messages, mini_directory, token

from provisioner.intake.core import Intake, IntakeRequest, IntakeResponse
from provisioner.intake.outbox import EmlOutbox
from provisioner.intake.sqlite_store import SqliteStore
from provisioner.intake.tokens import keyed_hash

HOST = "127.0.0.1:8000"
TEMPLATE = {
    "SubjectPart": "Confirmez, {{first_name}}",
    "TextPart": "Bonjour {{first_name}}\nConfirmer : {{confirm_url}}\nStop : {{unsubscribe_url}}\n",
    "HtmlPart": "<p>Bonjour {{first_name}}</p><a href='{{confirm_url}}'>ok</a>",
}


class Templates:
    """Rendered templates in memory (the EmailTemplates protocol)."""

    def get(self, slug: str, lang: str, email_id: str) -> Mapping[str, str] | None:
        return TEMPLATE if email_id == "confirm" else None


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def intake(tmp_path: Path, clock: Clock) -> Iterator[Intake]:
    store = SqliteStore(tmp_path / "intake.db")
    core = Intake(
        mini_directory(HOST),
        store,
        EmlOutbox(tmp_path / "outbox"),
        Templates(),
        secret=b"test-secret",
        rate_limit=5,
        clock=clock,
    )
    yield core
    store.close()


def form(**changes: str | None) -> dict[str, str]:
    fields = {
        "nation": "liege", "lang": "fr", "source": "promesse", "website": "",
        "first_name": "Ana", "email": "Ana@Example.be", "postcode": "4000", "consent": "yes",
    }  # fmt: skip
    fields.update({k: v for k, v in changes.items() if v is not None})
    return {k: v for k, v in fields.items() if changes.get(k, "") is not None}


def post(
    intake: Intake,
    fields: dict[str, str] | str | bytes,
    kind: str = "pledge",
    client: str = "203.0.113.7",
    **headers: object,
) -> IntakeResponse:
    body = (
        fields
        if isinstance(fields, bytes)
        else (fields.encode() if isinstance(fields, str) else urlencode(fields).encode())
    )
    request = IntakeRequest(
        method=str(headers.pop("method", "POST")),
        path=f"/api/{kind}",
        body=body,
        content_type=str(headers.pop("content_type", FORM)),
        client=client,
        host=str(headers.pop("host", HOST)),
        origin=headers.pop("origin", f"http://{HOST}"),  # type: ignore[arg-type]
        referer=headers.pop("referer", None),  # type: ignore[arg-type]
        content_length=headers.pop("content_length", None),  # type: ignore[arg-type]
    )
    return intake.handle(request)


def get(intake: Intake, path: str, method: str = "GET", **query: str) -> IntakeResponse:
    return intake.handle(IntakeRequest(method=method, path=path, query=query, host=HOST))


def stored(intake: Intake) -> int:
    return sum(row.count for row in intake.store.stats())


# -- a valid submission ---------------------------------------------------------------


def test_valid_pledge_is_stored_then_redirected_to_the_thank_you_page(
    intake: Intake, tmp_path: Path
) -> None:
    response = post(intake, form())
    assert response.status == 303
    assert response.location == "/liege/fr/merci.html"
    (submission,) = intake.store.submissions()
    assert (submission.email, submission.postcode, submission.state) == (
        "ana@example.be", "4000", "pending",
    )  # fmt: skip
    assert submission.source == "site:liege/promesse"
    assert submission.client_hash == keyed_hash(b"test-secret", "203.0.113.7")
    assert "203.0.113.7" not in (tmp_path / "intake.db").read_bytes().decode(errors="ignore")
    (proof,) = submission.consents
    assert (proof.channel, proof.wording, proof.privacy_version, proof.page) == (
        "email", "consent fr", "p" * 64, "site:liege/promesse",
    )  # fmt: skip
    assert proof.at.startswith("2027-01-15T")


def test_on_the_nations_own_host_the_redirect_stays_on_its_root(intake: Intake) -> None:
    response = post(intake, form(lang="nl"), host="liege.horizon.example", origin=None)
    assert response.location == "/nl/merci-nl.html"


def test_confirmation_email_has_working_links_and_one_click_unsubscribe(
    intake: Intake, tmp_path: Path
) -> None:
    post(intake, form())
    (message,) = messages(tmp_path / "outbox")
    assert message["To"] == "ana@example.be"
    assert message["Subject"] == "Confirmez, Ana"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = link(message, "unsubscribe")
    assert message["List-Unsubscribe"] == f"<{unsubscribe}>"
    confirm = link(message, "confirm")
    assert confirm.startswith(f"http://{HOST}/api/confirm?t=")
    response = get(intake, "/api/confirm", t=token(confirm))
    assert (response.status, response.location) == (303, "/liege/fr/confirmation.html")
    assert [s.state for s in intake.store.submissions()] == ["confirmed"]


def test_confirm_links_work_once_and_expire_after_seven_days(
    intake: Intake, tmp_path: Path, clock: Clock
) -> None:
    post(intake, form())
    post(intake, form(email="bob@example.be"))
    first, second = (token(link(m, "confirm")) for m in messages(tmp_path / "outbox"))
    assert get(intake, "/api/confirm", t=first).status == 303
    again = get(intake, "/api/confirm", t=first)
    assert again.status == 410
    assert b"already used or expired" in again.body
    clock.now += 8 * 86400
    assert get(intake, "/api/confirm", t=second).status == 410
    assert get(intake, "/api/confirm", t="not-a-token").status == 410


def test_unsubscribe_link_marks_the_person_do_not_contact_at_once(
    intake: Intake, tmp_path: Path
) -> None:
    post(intake, form())
    (message,) = messages(tmp_path / "outbox")
    unsubscribe = token(link(message, "unsubscribe"))
    response = get(intake, "/api/unsubscribe", t=unsubscribe)
    assert (response.status, response.location) == (303, "/liege/fr/desinscription.html")
    assert intake.store.do_not_contact().emails == {"ana@example.be"}
    assert [s.state for s in intake.store.submissions()] == ["unsubscribed"]
    one_click = get(intake, "/api/unsubscribe", method="POST", t=unsubscribe)
    assert one_click.status == 200  # RFC 8058: the mail client's POST, and it stays done
    assert get(intake, "/api/confirm", t=token(link(message, "confirm"))).status == 410


def test_honeypot_gets_the_same_answer_and_stores_nothing(intake: Intake, tmp_path: Path) -> None:
    response = post(intake, form(website="http://spam.example"))
    assert (response.status, response.location) == (303, "/liege/fr/merci.html")
    assert stored(intake) == 0
    assert messages(tmp_path / "outbox") == []


def test_volunteer_ways_to_help_become_tags_and_phone_consent_has_its_proof(
    intake: Intake,
) -> None:
    fields = form(source="agir", last_name="Lima", phone="0470 12 34 56", consent_phone="yes")
    body = urlencode(fields) + "&help=phoning&help=leaflets&availability=weekends"
    assert post(intake, body, kind="volunteer").status == 303
    (submission,) = intake.store.submissions()
    assert submission.phone == "+32470123456"
    assert submission.tags == ("help:phoning", "help:leaflets", "available:weekends")
    assert [(c.channel, c.wording) for c in submission.consents] == [
        ("email", "consent fr"), ("phone", "phone fr"),
    ]  # fmt: skip


def test_a_postcode_outside_the_nation_is_accepted_and_routed(intake: Intake) -> None:
    assert post(intake, form(postcode="9000")).status == 303
    assert post(intake, form(postcode="8500", email="b@example.be")).status == 303
    routed = {s.postcode: s.routed_to for s in intake.store.submissions()}
    assert routed == {"9000": "gent", "8500": "hq"}


# -- refusals: status and message -----------------------------------------------------


def problems(response: IntakeResponse) -> str:
    assert response.status == 422, response.body
    return response.body.decode()


@pytest.mark.parametrize(
    ("changes", "label", "message"),
    [
        ({"email": "ana@"}, "Adresse e-mail", "ce n&#x27;est pas une adresse e-mail"),
        ({"email": ""}, "Adresse e-mail", "ce champ est obligatoire"),
        ({"postcode": "400"}, "Code postal", "ce n&#x27;est pas un code postal (exemple : 1000)"),
        ({"phone": "12"}, "Numéro de téléphone", "ce n&#x27;est pas un numéro de téléphone"),
        ({"first_name": "=HYPERLINK(1)"}, "Prénom", "ne commencez pas par = + - ou @"),
        ({"first_name": "A\x07na"}, "Prénom", "ce texte contient des caractères invisibles"),
        ({"first_name": "A" * 101}, "Prénom", "ce texte est trop long (100 caractères au plus)"),
        ({"consent": None}, "Consentement", "cochez la case"),
        ({"consent": "maybe"}, "Consentement", "choisissez parmi les options"),
        ({"admin": "1"}, "admin", "ce champ ne fait pas partie du formulaire"),
        ({"lang": "xx"}, "Langue", "choisissez parmi les options"),
        ({"source": "nowhere"}, "Page", "choisissez parmi les options"),
    ],
)
def test_invalid_fields_get_422_naming_the_field_and_store_nothing(
    intake: Intake, changes: dict[str, str | None], label: str, message: str
) -> None:
    page = problems(post(intake, form(**changes)))
    assert f"<strong>{label}</strong> : {message}" in page
    assert "Rien n&#x27;a été enregistré" in page
    assert stored(intake) == 0


def test_every_problem_is_listed_at_once_in_the_forms_language(intake: Intake) -> None:
    page = problems(post(intake, form(lang="nl", email="x", postcode="12")))
    assert '<html lang="nl">' in page
    assert "<strong>E-mailadres</strong>: dit is geen e-mailadres" in page
    assert "<strong>Postcode</strong>: dit is geen postcode" in page
    assert 'href="/liege/nl/promesse-nl.html"' in page  # back to the form


def test_a_field_sent_twice_is_refused(intake: Intake) -> None:
    page = problems(post(intake, urlencode(form()) + "&email=other@example.be"))
    assert "<strong>Adresse e-mail</strong> : ce champ est envoyé plusieurs fois" in page


def test_what_a_person_typed_is_escaped_in_the_refusal(intake: Intake) -> None:
    page = problems(post(intake, form(**{"<script>": "x"})))
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_unknown_nation_is_404(intake: Intake) -> None:
    response = post(intake, form(nation="atlantis"))
    assert response.status == 404
    assert b"Unknown site" in response.body
    assert post(intake, form(nation=None)).status == 404


def test_body_over_16_kb_is_413_whether_declared_or_sent(intake: Intake) -> None:
    big = urlencode(form(first_name="A" * 20_000))
    assert post(intake, big).status == 413
    response = post(intake, b"", content_length=20_480)
    assert response.status == 413
    assert b"16 KB" in response.body
    assert stored(intake) == 0


@pytest.mark.parametrize(
    ("origin", "referer"),
    [
        ("https://evil.example", None),
        ("null", None),
        (None, "https://evil.example/page.html"),
        ("http://127.0.0.1:9999", None),  # serve's host, another port: another origin
    ],
)
def test_foreign_origin_or_referer_is_403(
    intake: Intake, origin: str | None, referer: str | None
) -> None:
    response = post(intake, form(), origin=origin, referer=referer)
    assert response.status == 403
    assert b"not sent from a site of the network" in response.body
    assert stored(intake) == 0


def test_network_hosts_are_accepted_as_origin(intake: Intake) -> None:
    for origin in ("https://gent.horizon.example", f"http://{HOST}"):
        assert post(intake, form(), origin=origin).status == 303
    assert post(intake, form(), origin=None, referer="https://hq.horizon.example/fr/").status == 303


def test_rate_limit_is_per_client_with_retry_after(intake: Intake, clock: Clock) -> None:
    for _ in range(5):
        assert post(intake, form()).status == 303
    refused = post(intake, form())
    assert refused.status == 429
    assert dict(refused.headers)["Retry-After"] == "12"  # 5 a minute: one every 12 s
    assert b"Too many submissions" in refused.body
    assert post(intake, form(), client="198.51.100.1").status == 303  # someone else
    assert stored(intake) == 6


def test_not_a_form_is_415_and_not_post_is_405(intake: Intake) -> None:
    assert post(intake, b'{"email": "a@b.be"}', content_type="application/json").status == 415
    response = post(intake, form(), method="GET")
    assert response.status == 405
    assert dict(response.headers)["Allow"] == "POST"
    assert post(intake, b"\xff\xfe", content_type=FORM).status == 400


def test_a_store_failure_is_503_and_nothing_is_acknowledged(intake: Intake) -> None:
    intake.store.close()  # every write now fails
    response = post(intake, form())
    assert response.status == 503
    assert dict(response.headers)["Retry-After"] == "30"
    assert b"try again in a minute" in response.body
