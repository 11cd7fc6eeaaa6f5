"""The cloud loop on a real deployed network: a pledge taken by the Lambda entry point
(DynamoDB and SES on moto's server), confirmed from its email, brought home with the
real `provisioner intake pull`, merged by the next real `provisioner deploy`; pulling
twice adds nothing; the cloud unsubscribe reaches every later export."""

from __future__ import annotations

import base64
import json
import os
import urllib.request
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from intake_cloud import (  # noqa: F401
    CREDENTIALS,
    HASH_KEY,
    SECRET,
    client,
    create_table,
    event,
    moto,
    submission,
    tokens,
)
from intake_support import deploy, link, mini_network, pledge, run_cli
from s3_support import MotoServer

from provisioner.intake import lambda_handler
from provisioner.intake.dynamo_store import DynamoStore

SENDER = "no-reply@horizon.example"
EMAIL = "ana.cloud@example.be"


@pytest.fixture
def cloud_env(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:  # noqa: F811
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client(moto, "sesv2").create_email_identity(EmailIdentity="horizon.example")
    return {
        "INTAKE_TABLE": create_table(moto),
        "INTAKE_SENDER": SENDER,
        "INTAKE_ORIGIN_SECRET": SECRET,
        "INTAKE_HASH_KEY": HASH_KEY,
        "INTAKE_ENDPOINT_URL": moto.url,
    }


def sent_to(moto: MotoServer, address: str) -> list[Message]:  # noqa: F811
    with urllib.request.urlopen(f"{moto.url}/moto-api/data.json") as answer:
        raw = [m["raw_data"] for m in json.load(answer).get("ses", {}).get("RawMessage", [])]
    messages = [message_from_bytes(r.encode("utf-8")) for r in raw]
    return [m for m in messages if m["To"] == address]


def pull(root: Path, table: str, moto: MotoServer, *extra: str) -> Any:  # noqa: F811
    return run_cli(
        "intake", "pull", "--intake", root / "data" / "intake.db", "--table", table,
        "--endpoint-url", moto.url, "--region", "eu-west-1", *extra,
    )  # fmt: skip


def stats(root: Path) -> list[dict[str, Any]]:
    result = run_cli("intake", "stats", "--json", "--intake", root / "data" / "intake.db")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def private_text(root: Path, slug: str) -> str:
    folder = root / "build" / "private" / slug
    return "\n".join(p.read_text("utf-8") for p in sorted(folder.rglob("*.csv")))


def test_cloud_pledge_reaches_the_lists_and_its_unsubscribe_every_export(
    tmp_path: Path,
    cloud_env: dict[str, str],
    moto: MotoServer,  # noqa: F811
) -> None:
    mini_network(tmp_path)
    deploy(tmp_path)
    # The function reads the deploy's own nation.json files and email templates.
    env = cloud_env | {"INTAKE_BUNDLE": str(tmp_path / "build")}
    intake, trust = lambda_handler.from_environment(env)
    form = urlencode(pledge(email=EMAIL)).encode()
    host = "marie-dubois.horizon.example"
    answer = lambda_handler.handle(
        event("POST", "/api/pledge", form, host=host, origin=f"https://{host}"), intake, trust
    )
    assert answer["statusCode"] == 303, base64.b64decode(answer["body"])
    [mail] = sent_to(moto, EMAIL)
    confirm = urlsplit(link(mail, "confirm"))
    assert confirm.netloc == host
    confirmed = lambda_handler.handle(
        event("GET", "/api/confirm", query=confirm.query), intake, trust
    )
    assert confirmed["statusCode"] == 303

    assert EMAIL not in private_text(tmp_path, "marie-dubois")
    first = pull(tmp_path, env["INTAKE_TABLE"], moto)
    assert first.returncode == 0, first.stderr
    assert "pulled 1 submissions" in first.stdout and ": 1 new or updated" in first.stdout
    before = stats(tmp_path)
    assert {"nation": "marie-dubois", "kind": "pledge", "state": "confirmed", "count": 1} in before
    again = pull(tmp_path, env["INTAKE_TABLE"], moto)
    assert again.returncode == 0 and ": 0 new or updated" in again.stdout
    assert stats(tmp_path) == before  # pulling twice adds nothing

    deploy(tmp_path)
    assert EMAIL in private_text(tmp_path, "marie-dubois")

    unsubscribe = urlsplit(mail["List-Unsubscribe"].strip("<>"))
    gone = lambda_handler.handle(
        event("GET", "/api/unsubscribe", query=unsubscribe.query), intake, trust
    )
    assert gone["statusCode"] == 303
    assert pull(tmp_path, env["INTAKE_TABLE"], moto).returncode == 0
    deploy(tmp_path)
    # Every nation's current lists and exports (.releases/ keeps earlier ones: history).
    private = tmp_path / "build" / "private"
    exports = "\n".join(
        private_text(tmp_path, n.name)
        for n in private.iterdir()
        if n.is_dir() and not n.name.startswith(".")
    )
    assert "Luc" in exports and EMAIL not in exports


def test_the_table_can_come_from_the_stack_outputs(
    tmp_path: Path,
    cloud_env: dict[str, str],
    moto: MotoServer,  # noqa: F811
) -> None:
    store = DynamoStore(client(moto, "dynamodb"), cloud_env["INTAKE_TABLE"])
    store.add(submission(), tokens()[0])
    outputs = tmp_path / "stack-outputs.json"
    outputs.write_text(
        json.dumps({"intake_table": cloud_env["INTAKE_TABLE"], "region": "eu-west-1"})
    )
    result = run_cli(
        "intake", "pull", "--intake", tmp_path / "intake.db", "--stack-outputs", outputs,
        "--endpoint-url", moto.url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "pulled 1 submissions" in result.stdout


def test_unknown_table_is_refused_and_nothing_is_written(
    tmp_path: Path,
    moto: MotoServer,  # noqa: F811
    cloud_env: dict[str, str],
) -> None:
    result = run_cli(
        "intake", "pull", "--intake", tmp_path / "intake.db", "--table", "no-such-table",
        "--endpoint-url", moto.url, "--region", "eu-west-1",
    )  # fmt: skip
    assert result.returncode == 2
    assert "intake table 'no-such-table' does not exist" in result.stderr
    assert "make infra-up" in result.stderr
    assert not (tmp_path / "intake.db").exists()


def test_no_table_configured_says_where_to_set_one(tmp_path: Path) -> None:
    assert "PROVISIONER_INTAKE_TABLE" not in os.environ
    result = run_cli("intake", "pull", "--intake", tmp_path / "intake.db")
    assert result.returncode == 2
    assert "no intake table: set --table, PROVISIONER_INTAKE_TABLE" in result.stderr
    assert not (tmp_path / "intake.db").exists()
