"""The intake as one AWS Lambda function for the whole network (API Gateway HTTP API,
payload format 2.0), on the same core as `provisioner serve`.

    CloudFront /api/* ─► API Gateway ─► handler(event) ─► Intake.handle ─► DynamoDB, SES

The event is translated into an `IntakeRequest` and the response back; nothing else
happens here. What the function trusts of the request:

- CloudFront adds a secret header (`x-horizon-origin-verify`, infra/horizon_infra/
  intake.py). Only with it does the function believe the viewer's Host
  (`x-horizon-host`, copied by the /api/* viewer function) and address
  (`cloudfront-viewer-address`). Without it (someone calling the API Gateway URL
  directly), the client is API Gateway's `sourceIp`, which cannot be forged, and the
  host is API Gateway's own, which is no nation's: links point at the nation's domain.
- The body arrives base64-encoded (a form) or as text; over 16 KB it is refused
  unread.

Configuration comes from the environment (set by the Pulumi program): INTAKE_TABLE,
INTAKE_SENDER, INTAKE_ORIGIN_SECRET, INTAKE_HASH_KEY, INTAKE_RATE_LIMIT, and
INTAKE_BUNDLE (the nations' nation.json and email templates packed beside the code by
`scripts/intake_package.py`; default `network/` next to the package).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from email.utils import formataddr, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from provisioner.intake.core import MAX_BODY_BYTES, Intake, IntakeRequest, IntakeResponse
from provisioner.intake.directory import Directory, NationEntry

ORIGIN_SECRET_HEADER = "x-horizon-origin-verify"
FORWARDED_HOST_HEADER = "x-horizon-host"
VIEWER_ADDRESS_HEADER = "cloudfront-viewer-address"
DEFAULT_BUNDLE = Path(__file__).resolve().parents[2] / "network"

Event = Mapping[str, Any]


@dataclass(frozen=True)
class Trust:
    """What the function believes of a request: the origin secret CloudFront sends."""

    origin_secret: str

    def from_cloudfront(self, headers: Mapping[str, str]) -> bool:
        sent = headers.get(ORIGIN_SECRET_HEADER, "")
        return bool(self.origin_secret) and hmac.compare_digest(
            sent.encode(), self.origin_secret.encode()
        )


def to_request(event: Event, trust: Trust) -> IntakeRequest:
    """An API Gateway v2 event as the core's request."""
    http = event.get("requestContext", {}).get("http", {})
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    declared = headers.get("content-length", "")
    length = int(declared) if declared.isdigit() else None
    body = _body(event)
    if len(body) > MAX_BODY_BYTES:
        length, body = len(body), b""  # refused by the core, never parsed
    client, host, scheme = str(http.get("sourceIp", "")), headers.get("host", ""), "https"
    if trust.from_cloudfront(headers):
        host = headers.get(FORWARDED_HOST_HEADER, host)
        client = viewer_ip(headers.get(VIEWER_ADDRESS_HEADER, "")) or client
    return IntakeRequest(
        method=str(http.get("method", "GET")).upper(),
        path=str(event.get("rawPath") or http.get("path") or "/"),
        query=dict(reversed(parse_qsl(event.get("rawQueryString") or ""))),
        body=body,
        content_type=headers.get("content-type", ""),
        client=client,
        host=host,
        scheme=scheme,
        origin=headers.get("origin"),
        referer=headers.get("referer"),
        content_length=length,
    )


def _body(event: Event) -> bytes:
    raw = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return str(raw).encode("utf-8", "surrogateescape")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return b"\xff"  # not base64: not UTF-8 either, so the core refuses it (400)


def viewer_ip(address: str) -> str:
    """The IP of CloudFront-Viewer-Address (`203.0.113.7:46532`, `2001:db8::1:46532`)."""
    ip, _, port = address.rpartition(":")
    return ip if ip and port.isdigit() else ""


def to_event_response(response: IntakeResponse) -> dict[str, Any]:
    """The core's response in API Gateway v2's format (bodies base64: HTML is bytes)."""
    headers: dict[str, str] = {}
    for name, value in response.headers:
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    headers.setdefault("Cache-Control", "no-store")
    return {
        "statusCode": response.status,
        "headers": headers,
        "body": base64.b64encode(response.body).decode("ascii"),
        "isBase64Encoded": True,
    }


def handle(event: Event, intake: Intake, trust: Trust) -> dict[str, Any]:
    return to_event_response(intake.handle(to_request(event, trust)))


_lock = threading.Lock()
_cached: tuple[Intake, Trust] | None = None


def handler(event: Event, context: Any) -> dict[str, Any]:
    """The Lambda entry point: one Intake per container, built at the first request."""
    global _cached
    with _lock:
        if _cached is None:
            _cached = from_environment(os.environ)
    intake, trust = _cached
    return handle(event, intake, trust)


def from_environment(env: Mapping[str, str]) -> tuple[Intake, Trust]:
    """The Intake the Pulumi program configured: DynamoDB store, SES outbox, bundle."""
    import boto3  # imported here: the rest of the module is used without AWS

    from provisioner.intake.dynamo_store import DynamoStore
    from provisioner.intake.emails import LocalTemplates
    from provisioner.intake.outbox import SesOutbox

    endpoint = env.get("INTAKE_ENDPOINT_URL") or None  # tests: moto's server
    session = boto3.Session()
    bundle = Path(env.get("INTAKE_BUNDLE") or DEFAULT_BUNDLE)
    intake = Intake(
        cloud_directory(bundle / "sites", env["INTAKE_SENDER"]),
        DynamoStore(session.client("dynamodb", endpoint_url=endpoint), env["INTAKE_TABLE"]),
        SesOutbox(session.client("sesv2", endpoint_url=endpoint)),
        LocalTemplates(bundle / "emails"),
        env["INTAKE_HASH_KEY"].encode(),
        rate_limit=int(env.get("INTAKE_RATE_LIMIT") or 10),
    )
    return intake, Trust(env.get("INTAKE_ORIGIN_SECRET", ""))


def cloud_directory(sites: Path, sender: str) -> Directory:
    """The bundled nations, each sending from an address SES may send from.

    The stack verifies the base domain only, and the function may send from that
    domain only (its IAM policy), so a nation whose sender is elsewhere (a custom
    domain) sends from `sender` under its own name.
    """
    domain = parseaddr(sender)[1].rpartition("@")[2].lower()
    return Directory(
        _sendable(n, sender, domain) for n in Directory.from_sites(sites).nations.values()
    )


def _sendable(nation: NationEntry, sender: str, domain: str) -> NationEntry:
    address = parseaddr(nation.sender)[1]
    if address.lower().endswith(f"@{domain}"):
        return nation
    return replace(nation, sender=formataddr((nation.name, parseaddr(sender)[1])))
