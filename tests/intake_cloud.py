"""The cloud intake's test plumbing: moto's server (DynamoDB, SES) on loopback, the
intake table created with the Pulumi program's own key schema, and submissions."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cloud_mocks import REPO  # noqa: F401  (puts infra/ on sys.path)
from horizon_infra.intake import TABLE_KEYS, TTL_ATTRIBUTE
from s3_support import MotoServer

from provisioner.intake.model import ConsentProof, Kind, Submission, Tokens
from provisioner.intake.tokens import token_hash

REGION = "eu-west-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
CREDENTIALS |= {"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    server = MotoServer()
    yield server
    server.stop()


def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def client(moto: MotoServer, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=moto.url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def create_table(moto: MotoServer) -> str:
    """A fresh intake table, keyed and with TTL as infra/horizon_infra/intake.py makes it."""
    dynamodb = client(moto, "dynamodb")
    name = f"intake-{secrets.token_hex(4)}"
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in TABLE_KEYS],
        KeySchema=[
            {"AttributeName": TABLE_KEYS[0], "KeyType": "HASH"},
            {"AttributeName": TABLE_KEYS[1], "KeyType": "RANGE"},
        ],
    )
    dynamodb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
    return name


def submission(
    email: str = "lea.peeters@example.be",
    phone: str = "+32470123456",
    kind: Kind = "pledge",
    nation: str = "liege",
    created_at: str = "2026-12-01T10:00:00.000+00:00",
    **extra: Any,
) -> Submission:
    consent = ConsentProof("email", "J'accepte…", "ab" * 32, f"site:{nation}/agir", created_at)
    fields: dict[str, Any] = {
        "id": secrets.token_hex(12),
        "kind": kind,
        "nation": nation,
        "routed_to": nation,
        "lang": "fr",
        "source": f"site:{nation}/agir",
        "first_name": "Léa",
        "last_name": "Peeters",
        "email": email,
        "phone": phone,
        "postcode": "4000",
        "tags": ("reminder",),
        "message": "",
        "consents": (consent,),
        "client_hash": "cd" * 32,
        "created_at": created_at,
    }
    return Submission(**(fields | extra))


def tokens(expires_at: str = "2026-12-08T10:00:00+00:00") -> tuple[Tokens, str, str]:
    """Tokens for a submission, and the two secrets mailed to the person."""
    confirm, unsubscribe = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    return Tokens(token_hash(confirm), token_hash(unsubscribe), expires_at), confirm, unsubscribe
