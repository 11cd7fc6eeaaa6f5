"""The DynamoDB store behind the cloud intake: one table for the whole network.

Items, by key (`pk`, `sk`), all strings (the table is created by infra/, see
horizon_infra/intake.py):

    sub#<id>            sub           a submission (every field of `Submission`)
    confirm#<sha256>    token         confirm token -> submission; TTL when it expires
    unsubscribe#<sha256> token        unsubscribe token -> submission; never expires
    email#<address>     sub#<id>      index: the person's submissions, by email
    phone#<e164>        sub#<id>      index: ... by phone
    dnc                 email#<a> / phone#<p>   do-not-contact
    meta                revision      a counter bumped by every confirm and unsubscribe

`add` writes the submission, its two tokens and its index entries in one transaction,
and DynamoDB acknowledges only what is on two of three zones: the 303 that follows is
never for a lost row. Every read the function makes is strongly consistent (a confirm
link clicked a second after the form works). The index entries, not a secondary index,
let an unsubscribe find every sign-up of the person consistently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, cast

from botocore.exceptions import ClientError

from provisioner.intake.dynamo_items import (
    SUBMISSION,
    Item,
    from_item,
    index_entries,
    key,
    plain,
    serialize,
    submission_item,
    wire,
)
from provisioner.intake.model import (
    DoNotContact,
    Kind,
    State,
    StatRow,
    Submission,
    TokenResult,
    Tokens,
)

TOKEN, DNC, META = "token", "dnc", "meta"
TTL_ATTRIBUTE = "expires_epoch"  # the table's TTL attribute (infra/ enables it)
STATE_RANK: dict[str, int] = {"pending": 0, "confirmed": 1, "unsubscribed": 2}


class DynamoStore:
    """A `Store` (see store.py) in one DynamoDB table; `client` is a boto3 dynamodb
    client, created once and shared (boto3 clients are thread-safe)."""

    def __init__(self, client: Any, table: str):
        self.client, self.table = client, table

    # -- writes -----------------------------------------------------------------------

    def add(self, submission: Submission, tokens: Tokens) -> None:
        item = {**submission_item(submission), "confirm_hash": tokens.confirm_hash}
        item |= {"unsubscribe_hash": tokens.unsubscribe_hash}
        item["confirm_expires_at"] = tokens.confirm_expires_at
        ref = {"submission": submission.id, "nation": submission.nation}
        ref |= {"lang": submission.lang, "kind": submission.kind}
        expires = int(datetime.fromisoformat(tokens.confirm_expires_at).timestamp())
        puts = [
            item,
            {
                **key(f"confirm#{tokens.confirm_hash}", TOKEN),
                **ref,
                "expires_at": tokens.confirm_expires_at,
                TTL_ATTRIBUTE: expires,
            },
            {**key(f"unsubscribe#{tokens.unsubscribe_hash}", TOKEN), **ref},
            *index_entries(submission),
        ]
        self.client.transact_write_items(TransactItems=[self._new(p) for p in puts])

    def confirm(self, confirm_hash: str, now: str) -> TokenResult | None:
        token = self._get(f"confirm#{confirm_hash}", TOKEN)
        if token is None or token["expires_at"] <= now:
            return None
        found = self._get(f"sub#{token['submission']}", SUBMISSION)
        if found is None or found["state"] != "pending":
            return None  # single use: a confirmed submission is no longer pending
        writes = [
            self._set_state(found["id"], "confirmed", "confirmed_at", now, "pending"),
            # Confirming proves the address is theirs and is a new consent: it lifts an
            # earlier unsubscribe of that address (never of a phone: the link proves no phone).
            {"Delete": {"TableName": self.table, "Key": key(DNC, f"email#{found['email']}")}},
            self._bump(),
        ]
        try:
            self.client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            if _code(exc) == "TransactionCanceledException":
                return None  # confirmed (or unsubscribed) meanwhile by another request
            raise
        return _result(token, "confirmed")

    def unsubscribe(self, unsubscribe_hash: str, now: str) -> TokenResult | None:
        token = self._get(f"unsubscribe#{unsubscribe_hash}", TOKEN)
        found = token and self._get(f"sub#{token['submission']}", SUBMISSION)
        if not token or not found:
            return None
        contacts = [
            (c, ch) for c, ch in ((found["email"], "email"), (found["phone"], "phone")) if c
        ]
        # Do-not-contact first, in one write: from here on no export contains them.
        entries = [self._put({**key(DNC, f"{ch}#{c}"), "at": now}) for c, ch in contacts]
        self.client.transact_write_items(TransactItems=[*entries, self._bump()])
        for submission_id in {found["id"], *self._submissions_of(contacts)}:
            self._mark_unsubscribed(submission_id, now)
        return _result(token, "unsubscribed")

    def erase(self, email: str = "", phone: str = "") -> int:
        contacts = [(c, ch) for c, ch in ((email, "email"), (phone, "phone")) if c]
        erased = 0
        for submission_id in sorted(self._submissions_of(contacts)):
            found = self._get(f"sub#{submission_id}", SUBMISSION)
            if found is None:
                continue
            keys = [key(f"sub#{submission_id}", SUBMISSION)]
            keys += index_entries(from_item(found))  # already typed keys
            for purpose in ("confirm", "unsubscribe"):
                if found.get(f"{purpose}_hash"):  # absorbed submissions have no tokens
                    keys.append(key(f"{purpose}#{found[f'{purpose}_hash']}", TOKEN))
            deletes = [{"Delete": {"TableName": self.table, "Key": k}} for k in keys]
            self.client.transact_write_items(TransactItems=[*deletes, self._bump()])
            erased += 1
        return erased

    def absorb(self, submissions: Iterable[Submission], do_not_contact: DoNotContact) -> int:
        changed = sum(self._absorb_one(s) for s in submissions)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for channel, contacts in (
            ("email", do_not_contact.emails),
            ("phone", do_not_contact.phones),
        ):
            for contact in sorted(contacts):
                entry = {**key(DNC, f"{channel}#{contact}"), "at": now}
                self.client.put_item(TableName=self.table, Item=wire(entry))
        return changed

    def _absorb_one(self, submission: Submission) -> bool:
        """Insert a new submission, or move a known one's state on; True if changed."""
        try:
            self.client.transact_write_items(
                TransactItems=[
                    self._new(e) for e in (submission_item(submission), *index_entries(submission))
                ]
            )
            return True
        except ClientError as exc:
            if _code(exc) != "TransactionCanceledException":
                raise
        lower = [s for s, rank in STATE_RANK.items() if rank < STATE_RANK[submission.state]]
        if not lower:
            return False
        marks = {f":was{i}": serialize(state) for i, state in enumerate(lower)}
        try:
            self.client.update_item(
                TableName=self.table,
                Key=key(f"sub#{submission.id}", SUBMISSION),
                UpdateExpression="SET #state = :state, confirmed_at = :c, unsubscribed_at = :u",
                ConditionExpression=f"#state IN ({', '.join(marks)})",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":state": serialize(submission.state),
                    ":c": serialize(submission.confirmed_at),
                    ":u": serialize(submission.unsubscribed_at),
                    **marks,
                },
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    # -- reads ------------------------------------------------------------------------

    def submissions(self, state: State | None = None) -> Iterator[Submission]:
        found = [from_item(item) for item in self._scan_submissions()]
        found.sort(key=lambda s: (s.created_at, s.id))
        return iter([s for s in found if state is None or s.state == state])

    def do_not_contact(self) -> DoNotContact:
        keys = [item["sk"] for item in self._query(DNC)]
        return DoNotContact(
            emails=frozenset(k.removeprefix("email#") for k in keys if k.startswith("email#")),
            phones=frozenset(k.removeprefix("phone#") for k in keys if k.startswith("phone#")),
        )

    def stats(self) -> list[StatRow]:
        counts = Counter((s.nation, s.kind, s.state) for s in self.submissions())
        return [StatRow(n, k, s, count) for (n, k, s), count in sorted(counts.items())]

    def revision(self) -> str:
        found = self._get(META, "revision")
        return str(found["n"]) if found else "0"

    def close(self) -> None:
        """Nothing to release: the client belongs to the caller."""

    # -- helpers ----------------------------------------------------------------------

    def _get(self, pk: str, sk: str) -> Item | None:
        answer = self.client.get_item(TableName=self.table, Key=key(pk, sk), ConsistentRead=True)
        return plain(answer["Item"]) if "Item" in answer else None

    def _query(self, pk: str) -> Iterator[Item]:
        request = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": serialize(pk)},
            "ConsistentRead": True,
        }
        for page in self.client.get_paginator("query").paginate(**request):
            yield from (plain(item) for item in page["Items"])

    def _scan_submissions(self) -> Iterator[Item]:
        request = {
            "TableName": self.table,
            "FilterExpression": "sk = :sub",
            "ExpressionAttributeValues": {":sub": serialize(SUBMISSION)},
            "ConsistentRead": True,
        }
        for page in self.client.get_paginator("scan").paginate(**request):
            yield from (plain(item) for item in page["Items"])

    def _submissions_of(self, contacts: list[tuple[str, str]]) -> set[str]:
        ids: set[str] = set()
        for contact, channel in contacts:
            ids |= {e["sk"].removeprefix("sub#") for e in self._query(f"{channel}#{contact}")}
        return ids

    def _mark_unsubscribed(self, submission_id: str, now: str) -> None:
        update = self._set_state(submission_id, "unsubscribed", "unsubscribed_at", now, None)
        try:
            self.client.update_item(**update["Update"])
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise  # already unsubscribed (or erased meanwhile): nothing to do

    def _set_state(
        self, submission_id: str, state: str, stamp: str, now: str, previous: str | None
    ) -> dict[str, Any]:
        """An Update moving a submission to `state`, if it exists and is in `previous`
        (any state but `state` when None)."""
        condition = "attribute_exists(pk) AND " + (
            "#state = :previous" if previous else "#state <> :state"
        )
        values = {":state": serialize(state), ":now": serialize(now)}
        if previous:
            values[":previous"] = serialize(previous)
        return {
            "Update": {
                "TableName": self.table,
                "Key": key(f"sub#{submission_id}", SUBMISSION),
                "UpdateExpression": f"SET #state = :state, {stamp} = :now",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#state": "state"},
                "ExpressionAttributeValues": values,
            }
        }

    def _bump(self) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table,
                "Key": key(META, "revision"),
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": serialize(1)},
            }
        }

    def _new(self, item: Item) -> dict[str, Any]:
        put = self._put(item)
        put["Put"]["ConditionExpression"] = "attribute_not_exists(pk)"
        return put

    def _put(self, item: Item) -> dict[str, Any]:
        return {"Put": {"TableName": self.table, "Item": wire(item)}}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _result(token: Item, state: State) -> TokenResult:
    kind = cast(Kind, token["kind"])
    return TokenResult(token["submission"], token["nation"], token["lang"], kind, state)
