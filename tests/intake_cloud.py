"""The cloud intake's test plumbing: moto's server (DynamoDB, SES) on loopback, the
intake table created with the Pulumi program's own key schema, and submissions."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from cloud_mocks import REPO  # noqa: F401  (puts infra/ on sys.path)
from helpers import build_file_tree
from horizon_infra.intake import TABLE_KEYS, TTL_ATTRIBUTE
from s3_support import MotoServer

from provisioner.intake.model import ConsentProof, Kind, Submission, Tokens
from provisioner.intake.tokens import token_hash

BASE = "horizon.example"
PAGES = {  # as a deploy writes them: paths under the site root
    page: {"fr": f"fr/{page}.html"}
    for page in ("index", "agir", "merci", "confirmation", "desinscription")
}
PAGES["home"] = PAGES.pop("index")


def nation_json(slug: str, domain: str, parent: str | None, postcodes: list[str]) -> str:
    return json.dumps(
        {
            "slug": slug,
            "name": slug.replace("-", " ").title(),
            "domain": domain,
            "parent": parent,
            "languages": ["fr"],
            "pages": PAGES,
            "geo": {"postcodes": postcodes},
            "coverage": postcodes,
            "intake": {
                "consent": {"fr": {"email": "J'accepte d'être contacté·e par e-mail."}},
                "privacy_version": {"fr": "ab" * 32},
            },
        }
    )


CONFIRM_TEMPLATE = json.dumps(
    {
        "SubjectPart": "Confirmez, {{first_name}}",
        "TextPart": "Confirmez : {{confirm_url}}\nSe désinscrire : {{unsubscribe_url}}\n",
        "HtmlPart": '<p><a href="{{confirm_url}}">Confirmer</a></p>',
    }
)

SECRET = "origin-secret-from-the-stack"
HASH_KEY = "hash-key-from-the-stack"
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


def write_network(root: Path) -> Path:
    """What a deploy leaves for the intake (and `scripts/intake_package.py` packs):
    `sites/<slug>/nation.json` and `emails/<slug>/<lang>/confirm.json` of three nations,
    one of them on a custom domain."""
    nations = {
        "hq": (BASE, None, []),
        "liege": (f"liege.{BASE}", "hq", ["4000", "4020"]),
        "marie-dubois": ("marie-dubois.be", "liege", ["4020"]),
    }
    files: dict[str, str | bytes] = {}
    for slug, (domain, parent, postcodes) in nations.items():
        files[f"sites/{slug}/nation.json"] = nation_json(slug, domain, parent, postcodes)
        files[f"emails/{slug}/fr/confirm.json"] = CONFIRM_TEMPLATE
    build_file_tree(root, files)
    return root


def event(
    method: str,
    path: str,
    body: bytes = b"",
    query: str = "",
    via_cloudfront: bool = True,
    host: str = f"liege.{BASE}",
    viewer: str = "203.0.113.7:46532",
    **headers: str,
) -> dict[str, Any]:
    """An API Gateway v2 event as CloudFront -> API Gateway deliver it."""
    sent = {"host": "abc123.execute-api.eu-west-1.amazonaws.com"}
    if body:
        sent |= {"content-type": "application/x-www-form-urlencoded"}
        sent["content-length"] = str(len(body))
    if via_cloudfront:
        sent |= {"x-horizon-origin-verify": SECRET, "x-horizon-host": host}
        sent["cloudfront-viewer-address"] = viewer
    sent |= {k.replace("_", "-"): v for k, v in headers.items()}
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": sent,
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "130.176.1.2"}},
        "body": base64.b64encode(body).decode() if body else None,
        "isBase64Encoded": bool(body),
    }


def pledge_form(nation: str = "liege", **fields: str) -> bytes:
    values = {
        "nation": nation,
        "lang": "fr",
        "source": "agir",
        "first_name": "Léa",
        "email": "lea.peeters@example.be",
        "postcode": "4000",
        "consent": "yes",
        "website": "",
    }
    return urlencode(values | fields).encode()
