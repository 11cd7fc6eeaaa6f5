"""Pledge hunters end to end: a volunteer gets a code, a pledge made through their link
is credited to them, and the next deploy lists it in the nation's private hunters.csv.

The intake runs as the real Starlette app of `provisioner serve` (in-process, over
httpx), on real SQLite files; deploys run the real CLI.
"""

from __future__ import annotations

import csv
import email
import re
import shutil
import subprocess
import sys
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import copy_sample_network, only_args
from starlette.testclient import TestClient

from provisioner.intake.app import create_app
from provisioner.intake.directory import Directory
from provisioner.intake.emails import LocalTemplates
from provisioner.intake.outbox import EmlOutbox
from provisioner.intake.referrals import CODE, ReferralBook, ReferralIntake, new_code
from provisioner.intake.sqlite_store import SqliteStore
from provisioner.supporters.generate import generate

SLUGS = ["hq", "wallonie", "prov-liege", "liege", "marie-dubois"]
HOST = "marie-dubois.horizon.example"


def deploy(root: Path) -> None:
    only = only_args(SLUGS)
    result = subprocess.run(
        [sys.executable, "-m", "provisioner", "deploy", "-q",
         "--supporters", str(root / "data" / "supporters.csv"),
         "--spec", str(root / "nations.yaml"), "--out", str(root / "build"), *only],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


class Network:
    """The deployed subset, its intake app, and the emails it sent."""

    def __init__(self, root: Path):
        self.root = root
        build = root / "build"
        self.outbox = EmlOutbox(build / "outbox")
        self.seen: set[Path] = set()
        self.store = SqliteStore(root / "data" / "intake.db")
        self.book = ReferralBook(root / "data" / "referrals.db")
        intake = ReferralIntake(
            Directory.from_sites(build / "sites"),
            self.store,
            self.outbox,
            LocalTemplates(build / "emails"),
            secret=b"test-secret",
            rate_limit=0,
            book=self.book,
        )
        self.client = TestClient(create_app(intake, build / "sites"), base_url=f"https://{HOST}")

    def post(self, kind: str, **fields: str) -> Any:
        form = {"nation": "marie-dubois", "lang": "fr", "source": "promesse", **fields}
        form.setdefault("consent", "yes")
        form.setdefault("postcode", "4000")
        headers = {"Origin": f"https://{HOST}"}
        return self.client.post(f"/api/{kind}", data=form, headers=headers, follow_redirects=False)

    def last_email(self) -> Message:
        """The one email sent since the last call (file names are not in time order)."""
        new = [path for path in self.outbox.messages() if path not in self.seen]
        assert len(new) == 1, new
        self.seen.update(new)
        self.latest = email.message_from_bytes(new[0].read_bytes())
        return self.latest

    def confirm_last(self) -> None:
        text = _text_part(self.latest)
        token = re.search(r"/api/confirm\?t=([\w-]+)", text)
        assert token, text
        answer = self.client.get(f"/api/confirm?t={token[1]}", follow_redirects=False)
        assert answer.status_code == 303


def _text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]
    raise AssertionError("no text part")


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The subset deployed once; each test gets its own copy (`network`)."""
    root = tmp_path_factory.mktemp("deployed")
    copy_sample_network(root)
    generate(root / "data", [("4000", "fr")], count=30)  # intake.db will sit beside it
    deploy(root)
    return root


@pytest.fixture
def network(deployed: Path, tmp_path: Path) -> Network:
    root = tmp_path / "net"
    shutil.copytree(deployed, root, symlinks=True)  # releases are relative links
    return Network(root)


def hunters_csv(root: Path) -> list[dict[str, str]]:
    path = root / "build" / "private" / "marie-dubois" / "hunters.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_pledge_through_a_hunters_link_is_credited_to_them(network: Network) -> None:
    volunteer = network.post(
        "volunteer", source="agir", first_name="Jeanne", last_name="Dupont",
        email="jeanne@example.org",
    )  # fmt: skip
    assert volunteer.status_code == 303
    code = re.search(r"[?&]ref=([\w-]+)", volunteer.headers["location"])
    assert code and CODE.match(code[1]), volunteer.headers["location"]
    assert volunteer.headers["location"] == f"/fr/merci.html?ref={code[1]}"  # thank-you page
    share = f"https://{HOST}/fr/faire-passer.html?ref={code[1]}"
    assert share in _text_part(network.last_email())  # their share link, in their email
    network.confirm_last()

    # Two friends pledge through the link (the page put the code in the form), one
    # confirms; a third pledges with a forged code; a fourth signs up as a volunteer.
    for name in ("Ali", "Bea"):
        pledge = network.post("pledge", first_name=name, email=f"{name}@x.org", ref=code[1])
        assert pledge.status_code == 303
        network.last_email()
        if name == "Ali":
            network.confirm_last()
    forged = network.post("pledge", first_name="Carl", email="carl@example.org", ref=new_code())
    assert forged.status_code == 303
    network.last_email()
    network.confirm_last()
    recruit = network.post(
        "volunteer", source="agir", first_name="Dora", last_name="Peeters",
        email="dora@example.org", ref=code[1],
    )  # fmt: skip
    assert recruit.status_code == 303 and code[1] not in recruit.headers["location"]
    network.last_email()
    network.confirm_last()
    network.store.close()
    network.book.close()

    deploy(network.root)
    rows = {row["code"]: row for row in hunters_csv(network.root)}
    assert rows[code[1]]["volunteer"] == "Jeanne Dupont"
    assert (rows[code[1]]["pledges"], rows[code[1]]["signups"]) == ("1", "1")
    assert rows[code[1]]["last_activity"] > "2026"
    assert len(rows) == 2  # Dora is a hunter too now, with nothing yet
    home = (network.root / "build" / "sites" / "marie-dubois" / "index.html").read_text("utf-8")
    assert "Déjà une promesse de vote récoltée à Liège" in home
    assert "Jeanne" not in home and code[1] not in home  # counts only, in public


def test_ref_field_with_a_bad_shape_is_dropped_not_refused(network: Network) -> None:
    answer = network.post("pledge", first_name="Eva", email="eva@example.org", ref="<script>")
    assert answer.status_code == 303
    assert network.book.credits() == []


def test_hunter_list_counts_confirmed_only_and_neutralises_formulas() -> None:
    from types import SimpleNamespace as Row

    from provisioner.supporters.hunters import HunterSource

    def sub(sid: str, state: str, first: str = "Ann") -> Row:
        confirmed = "2026-11-02T10:00:00" if state != "pending" else ""
        return Row(id=sid, state=state, confirmed_at=confirmed, first_name=first, last_name="X")

    hunters = [
        Row(code="A" * 12, submission_id="h1", nation="gent", created_at="2026-11-01"),
        Row(code="B" * 12, submission_id="h2", nation="gent", created_at="2026-11-01"),
        Row(code="C" * 12, submission_id="h3", nation="gent", created_at="2026-11-01"),
    ]
    submissions = [
        sub("h1", "confirmed", first="=HYPERLINK(1)"),
        sub("h2", "pending"),  # never confirmed: not a hunter yet
        sub("h3", "unsubscribed"),  # left: never listed again
        sub("p1", "confirmed"),
        sub("p2", "pending"),
        sub("p3", "unsubscribed"),  # confirmed, then left: the pledge was made
    ]
    credits = [
        Row(submission_id=s, code="A" * 12, kind=k, nation="gent", at=f"2026-11-0{i}")
        for i, (s, k) in enumerate([("p1", "pledge"), ("p2", "pledge"), ("p3", "subscribe")], 3)
    ]
    source = HunterSource(hunters, credits, submissions)
    assert [(r.code, r.pledges, r.signups, r.last_activity) for r in source.rows("gent")] == [
        ("A" * 12, 1, 1, "2026-11-05")
    ]
    assert source.public_counts("gent") == {"hunters": 1, "pledges": 1, "signups": 1}
    assert source.csv_bytes("gent").decode().splitlines()[1].startswith(f"{'A' * 12},'=HYPERLINK")
    assert source.rows("liege") == [] and source.digest("gent") != source.digest("liege")


def test_real_serve_credits_a_pledge_made_through_a_hunters_link(tmp_path: Path) -> None:
    """`provisioner serve` (a child process) and two real deploys: the done-when path."""
    from intake_support import deploy as deploy_mini
    from intake_support import link, messages, mini_network, pledge, run_cli, serving

    mini_network(tmp_path)
    deploy_mini(tmp_path)
    with serving(tmp_path) as server:
        origin = {"Origin": server.url}

        def post(kind: str, form: dict[str, str]) -> Any:
            return httpx.post(f"{server.url}/api/{kind}", data=form, headers=origin)

        volunteer = pledge(source="agir", first_name="Jeanne", last_name="Dupont",
                           email="jeanne@example.be")  # fmt: skip
        answer = post("volunteer", volunteer)
        code = re.search(r"[?&]ref=([\w-]{12})", answer.headers["location"])
        assert answer.status_code == 303 and code, answer.headers
        (welcome,) = messages(server.outbox)
        assert (
            f"/marie-dubois/fr/faire-passer.html?ref={code[1]}"
            in welcome.get_body(("plain",)).get_content()
        )
        assert httpx.get(link(welcome, "confirm")).status_code == 303
        friend = post("pledge", pledge(email="friend@example.be", ref=code[1]))
        assert friend.status_code == 303
        (confirm,) = [m for m in messages(server.outbox) if m["To"] == "friend@example.be"]
        assert httpx.get(link(confirm, "confirm")).status_code == 303
    deploy_mini(tmp_path)
    rows = hunters_csv(tmp_path)
    assert [(r["code"], r["volunteer"], r["pledges"]) for r in rows] == [
        (code[1], "Jeanne Dupont", "1")
    ]
    stats = run_cli("status", "--html", "--out", tmp_path / "build", "--spec",
                    tmp_path / "nations.yaml")  # fmt: skip
    assert stats.returncode == 0, stats.stderr


def test_plain_intake_accepts_the_forms_ref_field(tmp_path: Path) -> None:
    """Where no referral book is kept (the cloud handler), the form's `ref` is ignored,
    never a reason to refuse a pledge."""
    from intake_support import deploy as deploy_mini
    from intake_support import mini_network, pledge

    from provisioner.intake.core import Intake

    mini_network(tmp_path)
    deploy_mini(tmp_path)
    build = tmp_path / "build"
    store = SqliteStore(tmp_path / "data" / "intake.db")
    intake = Intake(
        Directory.from_sites(build / "sites"), store, EmlOutbox(build / "outbox"),
        LocalTemplates(build / "emails"), secret=b"k", rate_limit=0,
    )  # fmt: skip
    client = TestClient(create_app(intake, build / "sites"), base_url=f"https://{HOST}")
    answer = client.post("/api/pledge", data=pledge(ref=new_code()), follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert len(list(store.submissions())) == 1
    store.close()
