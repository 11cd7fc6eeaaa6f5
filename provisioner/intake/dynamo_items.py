"""DynamoDB items of the intake store: keys, typed values, submissions both ways."""

from __future__ import annotations

import json
from typing import Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from provisioner.intake.model import ConsentProof, Kind, State, Submission

SUBMISSION = "sub"
serialize, _deserialize = TypeSerializer().serialize, TypeDeserializer().deserialize

Item = dict[str, Any]


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": serialize(pk), "sk": serialize(sk)}


def wire(item: Item) -> dict[str, Any]:
    """An item in DynamoDB's typed JSON; keys may already be typed."""
    return {k: v if isinstance(v, dict) else serialize(v) for k, v in item.items()}


def plain(item: dict[str, Any]) -> Item:
    return {k: _deserialize(v) for k, v in item.items()}


def submission_item(s: Submission) -> Item:
    return {
        **key(f"sub#{s.id}", SUBMISSION),
        **{name: getattr(s, name) for name in _TEXT_FIELDS},
        "tags": list(s.tags),
        "consents": json.dumps([c.__dict__ for c in s.consents], ensure_ascii=False),
    }


_TEXT_FIELDS = (
    *("id", "kind", "nation", "routed_to", "lang", "source", "first_name", "last_name"),
    *("email", "phone", "postcode", "message", "client_hash", "created_at", "state"),
    *("confirmed_at", "unsubscribed_at"),
)


def from_item(item: Item) -> Submission:
    fields = {name: str(item.get(name, "")) for name in _TEXT_FIELDS}
    return Submission(
        **{k: v for k, v in fields.items() if k not in ("kind", "state")},
        kind=cast(Kind, fields["kind"]),
        state=cast(State, fields["state"]),
        tags=tuple(str(t) for t in item.get("tags", [])),
        consents=tuple(ConsentProof(**c) for c in json.loads(str(item["consents"]))),
    )


def index_entries(s: Submission) -> list[Item]:
    entries = [{**key(f"email#{s.email}", f"sub#{s.id}")}] if s.email else []
    return entries + ([{**key(f"phone#{s.phone}", f"sub#{s.id}")}] if s.phone else [])
