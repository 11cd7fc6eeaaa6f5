"""`provisioner intake pull`: the cloud's submissions into the local intake store.

The cloud intake (one Lambda function, DynamoDB) takes the forms; the deploy merges
the local store (`data/intake.db`). Pulling copies every cloud submission and
do-not-contact entry into the local store through `Store.absorb`: new submissions are
inserted, known ones only move forward (pending < confirmed < unsubscribed), so
pulling twice adds nothing and a local state is never moved back.

The table comes from `--table`, PROVISIONER_INTAKE_TABLE, or the stack outputs
(`intake_table`, written by `make infra-up`); credentials as for the S3 target
(profile, SSO, environment), and the `intake_pull_policy_arn` policy is all they need.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

from provisioner.errors import InputError, ProvisionerError
from provisioner.intake.dynamo_store import DynamoStore
from provisioner.intake.model import DoNotContact, Submission
from provisioner.intake.sqlite_store import SqliteStore
from provisioner.intake.store import Store
from provisioner.targets.aws import _read_outputs, redactor, session_secrets

TABLE_ENV = "PROVISIONER_INTAKE_TABLE"


class PullError(ProvisionerError):
    """The cloud store could not be read (network, permissions): nothing was written."""

    exit_code = 1


@dataclass(frozen=True)
class PullResult:
    """What one pull saw in the cloud and changed locally."""

    seen: int  # cloud submissions read
    changed: int  # local submissions inserted or moved forward
    do_not_contact: int  # cloud do-not-contact entries (already local ones included)


@dataclass(frozen=True)
class CloudTable:
    """Where the cloud intake lives."""

    table: str
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None


def resolve_table(
    options: Mapping[str, str | None], env: Mapping[str, str], stack_outputs: Path | None
) -> CloudTable:
    """Options first, then the environment, then the stack outputs."""
    outputs_path = stack_outputs or (
        Path(env["PROVISIONER_STACK_OUTPUTS"]) if env.get("PROVISIONER_STACK_OUTPUTS") else None
    )
    outputs = _read_outputs(outputs_path)
    table = options.get("table") or env.get(TABLE_ENV) or outputs.get("intake_table")
    if not table or not isinstance(table, str):
        raise InputError(
            f"no intake table: set --table, {TABLE_ENV}, or pass --stack-outputs from "
            "`pulumi stack output --json` (its intake_table)"
        )
    region = options.get("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    region = region or _text(outputs.get("region"))
    endpoint = options.get("endpoint_url") or env.get("AWS_ENDPOINT_URL")
    return CloudTable(table, region, options.get("profile") or env.get("AWS_PROFILE"), endpoint)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def open_cloud_store(where: CloudTable) -> DynamoStore:
    try:
        session = boto3.Session(profile_name=where.profile, region_name=where.region)
    except ProfileNotFound as exc:
        raise InputError(f"--profile {where.profile}: no such AWS profile") from exc
    region = session.region_name or ("us-east-1" if where.endpoint_url else None)
    if region is None:
        raise InputError("no AWS region: set --region or AWS_REGION (e.g. eu-west-1)")
    client = session.client("dynamodb", region_name=region, endpoint_url=where.endpoint_url)
    return DynamoStore(client, where.table)


class Source(Protocol):
    """What a pull reads of the store it pulls from (any `Store` is one)."""

    def submissions(self) -> Iterator[Submission]: ...

    def do_not_contact(self) -> DoNotContact: ...


def pull(cloud: Source, local: Store) -> PullResult:
    """Absorb every cloud submission and do-not-contact entry into `local`."""
    submissions = list(cloud.submissions())
    do_not_contact = cloud.do_not_contact()
    changed = local.absorb(submissions, do_not_contact)
    entries = len(do_not_contact.emails) + len(do_not_contact.phones)
    return PullResult(len(submissions), changed, entries)


def pull_into(where: CloudTable, intake: Path) -> PullResult:
    """Pull from the table `where` names into the SQLite store at `intake`.

    The cloud is read whole first: when it cannot be (no table, no credentials, no
    network) the local store is not touched, not even created.
    """
    cloud = _Snapshot(*_read(open_cloud_store(where), where))
    local = SqliteStore(intake)
    try:
        return pull(cloud, local)
    finally:
        local.close()


class _Snapshot:
    """The cloud store as read once: what `pull` asks of a source store."""

    def __init__(self, submissions: list[Submission], do_not_contact: DoNotContact):
        self._submissions, self._do_not_contact = submissions, do_not_contact

    def submissions(self) -> Iterator[Submission]:
        return iter(self._submissions)

    def do_not_contact(self) -> DoNotContact:
        return self._do_not_contact


def _read(cloud: DynamoStore, where: CloudTable) -> tuple[list[Submission], DoNotContact]:
    """Everything in the cloud store; AWS errors become messages a user can act on."""
    redact = redactor(session_secrets(boto3.Session(profile_name=where.profile)))
    try:
        return list(cloud.submissions()), cloud.do_not_contact()
    except NoCredentialsError as exc:
        raise InputError(
            "no AWS credentials found: set --profile / AWS_PROFILE, or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        ) from exc
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code == "ResourceNotFoundException":
            raise InputError(
                f"intake table {where.table!r} does not exist: create it (make infra-up) "
                "or fix --table"
            ) from exc
        hint = (
            "; attach the stack's intake_pull_policy_arn" if code == "AccessDeniedException" else ""
        )
        raise PullError(redact(f"reading {where.table}: {code}: {exc}{hint}")) from exc
    except BotoCoreError as exc:
        place = where.endpoint_url or f"AWS {where.region or ''}".strip()
        raise PullError(redact(f"cannot reach {place}: {exc}; check --endpoint-url")) from exc
