"""The CLI's `intake pull` command (registered on the `intake` group in cli.py, which
maps errors to exit codes); the logic lives in provisioner/intake/pull.py."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.command(name="pull")
@click.option(
    "--intake",
    "intake_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("data/intake.db"),
    show_default=True,
    help="The local intake store the deploy merges (created when missing).",
)
@click.option(
    "--stack-outputs",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="`pulumi stack output --json` file (make infra-up writes it): its intake_table.",
)
@click.option("--table", default=None, help="The DynamoDB table. Env: PROVISIONER_INTAKE_TABLE.")
@click.option("--region", default=None, help="AWS region. Env: AWS_REGION.")
@click.option("--profile", default=None, help="AWS profile. Env: AWS_PROFILE.")
@click.option(
    "--endpoint-url", default=None, help="Another DynamoDB endpoint. Env: AWS_ENDPOINT_URL."
)
def pull_command(
    intake_path: Path,
    stack_outputs: Path | None,
    table: str | None,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
) -> None:
    """Bring the cloud intake's submissions into the local store (idempotent).

    Run it before `provisioner deploy`: the deploy then merges what supporters sent
    through the cloud forms. Pulling twice adds nothing.
    """
    from provisioner.intake.pull import pull_into, resolve_table  # boto3: only here

    options = {"table": table, "region": region, "profile": profile}
    where = resolve_table(options | {"endpoint_url": endpoint_url}, os.environ, stack_outputs)
    result = pull_into(where, intake_path)
    click.echo(
        f"pulled {result.seen} submissions from {where.table}: {result.changed} new or "
        f"updated in {intake_path}; {result.do_not_contact} do-not-contact entries"
    )
