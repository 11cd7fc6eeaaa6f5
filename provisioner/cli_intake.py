"""The CLI's intake commands: `serve` and `intake stats|export|erase`.

Part of the CLI layer (registered on the group in cli.py, which maps errors to exit
codes); the logic lives in provisioner/intake/ and provisioner/supporters/.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from provisioner.errors import InputError

if TYPE_CHECKING:  # imported where used: `deploy` loads this module but never opens a store
    from provisioner.intake.sqlite_store import SqliteStore

intake_option = click.option(
    "--intake",
    "intake_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("data/intake.db"),
    show_default=True,
    help="The intake store (SQLite): source data, kept beside the central export.",
)


@click.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("build"),
    show_default=True,
    help="Output folder of the local target (serves OUT/sites, reads OUT/emails).",
)
@intake_option
@click.option(
    "--rate-limit",
    type=click.IntRange(0),
    default=30,
    show_default=True,
    help="Submissions per client per minute (token bucket); 0 turns it off (load tests).",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    help="Believe X-Forwarded-For from this proxy address (repeatable); none by default.",
)
@click.option("--smtp", default=None, help="Send emails through HOST:PORT instead of .eml files.")
@click.option(
    "--outbox",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder of the .eml outbox. Default: OUT/outbox.",
)
def serve_command(
    host: str,
    port: int,
    out: Path,
    intake_path: Path,
    rate_limit: int,
    trusted_proxies: tuple[str, ...],
    smtp: str | None,
    outbox: Path | None,
) -> None:
    """Serve every deployed nation (by path and by Host) and the intake API."""
    from provisioner.intake.server import ServeOptions, build_app, run

    options = ServeOptions(
        out=out,
        intake=intake_path,
        host=host,
        port=port,
        rate_limit=rate_limit,
        trusted_proxies=trusted_proxies,
        smtp=smtp,
        outbox=outbox,
    )
    app, directory = build_app(options)
    shown = f"[{host}]" if ":" in host else host
    mail = f"SMTP {smtp}" if smtp else f"{options.outbox_dir}/*.eml"
    click.echo(f"serving {len(directory.nations)} nations on http://{shown}:{port}/<slug>/")
    click.echo(f"intake: POST /api/pledge|volunteer|subscribe -> {intake_path}; emails: {mail}")
    click.echo("Ctrl-C to stop", err=True)
    run(options, app)


@click.group(name="intake")
def intake_group() -> None:
    """Form submissions collected by `provisioner serve`."""


@intake_group.command(name="stats")
@intake_option
@click.option("--json", "as_json", is_flag=True, help="Print a list of objects.")
def stats_command(intake_path: Path, as_json: bool) -> None:
    """Counts per nation, kind (pledge, volunteer, subscribe) and state."""
    store = _open(intake_path)
    try:
        rows = store.stats()
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([row.as_json() for row in rows], indent=2))
        return
    if not rows:
        click.echo(f"{intake_path}: no submissions yet")
        return
    width = max(len(row.nation) for row in rows)
    click.echo(f"{'nation':<{width}}  {'kind':<9}  {'state':<12}  count")
    for row in rows:
        click.echo(f"{row.nation:<{width}}  {row.kind:<9}  {row.state:<12}  {row.count:>5}")
    click.echo(f"total: {sum(row.count for row in rows)}")


@intake_group.command(name="export")
@intake_option
@click.option(
    "--do-not-contact",
    "ledger",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also leave out this ledger's contacts. Default: do-not-contact.csv beside the store.",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write to FILE (0600) instead of standard output.",
)
def export_command(intake_path: Path, ledger: Path | None, out_file: Path | None) -> None:
    """Confirmed sign-ups in the central export's columns, for the party's CRM."""
    from provisioner.supporters.web import export_csv

    if not intake_path.is_file():
        raise InputError(f"{intake_path}: no intake store; `provisioner serve` creates it")
    ledger = ledger or intake_path.parent / "do-not-contact.csv"
    data, count = export_csv(intake_path, ledger if ledger.is_file() else None)
    if out_file is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        from provisioner.supporters import write_private_file

        write_private_file(out_file, data)
        click.echo(f"{out_file}: {count} supporters", err=True)


@intake_group.command(name="erase")
@intake_option
@click.option("--email", default="", help="Erase every submission with this email.")
@click.option("--phone", default="", help="Erase every submission with this phone.")
def erase_command(intake_path: Path, email: str, phone: str) -> None:
    """Delete a person's submissions (GDPR art. 17); their unsubscribe stays recorded."""
    from provisioner.supporters import normalize_email, normalize_phone

    if not email and not phone:
        raise click.UsageError("give --email or --phone")
    try:
        email, phone = normalize_email(email), normalize_phone(phone)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    store = _open(intake_path)
    try:
        count = store.erase(email=email, phone=phone)
    finally:
        store.close()
    click.echo(f"erased {count} submission(s)")


def _open(path: Path) -> SqliteStore:
    if not path.is_file():
        raise InputError(f"{path}: no intake store; `provisioner serve` creates it")
    from provisioner.intake.sqlite_store import SqliteStore

    return SqliteStore(path)
