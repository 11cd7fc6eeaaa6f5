"""Command line interface. The only module that prints, prompts or exits.

Exit codes: 0 every nation fine, 1 some nations failed (the others were deployed),
2 invalid input or usage (nothing deployed, nothing written).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from provisioner import __version__
from provisioner.cli_intake import intake_group, serve_command
from provisioner.cli_intake_pull import pull_command
from provisioner.errors import EXIT_CHANGES_PENDING, ProvisionerError
from provisioner.gcpause import gc_paused
from provisioner.run.engine import STATUSES, NationResult, Options, budget_from
from provisioner.targets import S3_OPTIONS, TARGETS, TargetChoice, open_target

if TYPE_CHECKING:
    from rich.text import Text

    from provisioner.run.project import Project

# Each command imports what it uses in its body: a no-op `deploy` is mostly start-up
# time, and rich, boto3, starlette or the status and merge views are not needed there
# (tests/test_noop.py holds it to that).

spec_option = click.option(
    "--spec",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("nations.yaml"),
    show_default=True,
    help="The network description.",
)
out_option = click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("build"),
    show_default=True,
    help="Output folder of the local target (also holds state.db and reports/).",
)


def supporter_options(command: Any) -> Any:
    """--supporters / --do-not-contact / --no-supporters, shared by deploy and plan."""
    for option in reversed(
        [
            click.option(
                "--supporters",
                type=click.Path(path_type=Path, dir_okay=False),
                default=None,
                help="Central supporter export (CSV). Default: data/supporters.csv beside "
                "the spec, when it exists.",
            ),
            click.option(
                "--do-not-contact",
                "ledger",
                type=click.Path(path_type=Path, dir_okay=False),
                default=None,
                help="Do-not-contact ledger. Default: do-not-contact.csv beside the supporters.",
            ),
            click.option(
                "--intake",
                type=click.Path(path_type=Path, dir_okay=False),
                default=None,
                help="Intake store of `provisioner serve`, merged into the lists. Default: "
                "intake.db beside the supporters, when it exists.",
            ),
            click.option("--no-supporters", is_flag=True, help="Publish no supporter lists."),
        ]
    ):
        command = option(command)
    return command


def target_options(command: Any) -> Any:
    """--target and the s3 options (buckets, endpoint, profile, region, stack outputs),
    one definition for every command that reads or writes a target."""
    for option in reversed(
        [
            click.option(
                "--target", type=click.Choice(TARGETS), default="local", show_default=True
            ),
            click.option(
                "--endpoint-url",
                default=None,
                help="s3: S3-compatible endpoint (env PROVISIONER_S3_ENDPOINT_URL or "
                "AWS_ENDPOINT_URL).",
            ),
            click.option(
                "--site-bucket",
                default=None,
                help="s3: bucket of the sites (PROVISIONER_SITE_BUCKET).",
            ),
            click.option(
                "--private-bucket",
                default=None,
                help="s3: private data bucket (PROVISIONER_PRIVATE_BUCKET).",
            ),
            click.option("--profile", default=None, help="s3: AWS profile (AWS_PROFILE)."),
            click.option("--region", default=None, help="s3: AWS region (AWS_REGION)."),
            click.option(
                "--stack-outputs",
                type=click.Path(path_type=Path, dir_okay=False, exists=True),
                default=None,
                help="s3: JSON of `pulumi stack output --json` (buckets, region, domain).",
            ),
        ]
    ):
        command = option(command)
    return command


def _target_choice(params: dict[str, Any]) -> TargetChoice:
    """The target options, taken out of `params`."""
    choice = TargetChoice.from_params(params)
    for name in ("target", "stack_outputs", *S3_OPTIONS):
        params.pop(name, None)
    return choice


def _project(spec: Path, out: Path, params: dict[str, Any]) -> Project:
    """The project, with supporters found next to the spec unless told otherwise."""
    from provisioner.run.project import Project

    supporters = params.pop("supporters", None)
    ledger = params.pop("ledger", None)
    intake = params.pop("intake", None)
    if intake is not None and not intake.is_file():
        raise click.BadParameter(
            f"{intake}: no intake store there; `provisioner serve` creates it",
            param_hint="--intake",
        )
    if params.pop("no_supporters", False):
        supporters = ledger = intake = None
    elif supporters is None and (spec.parent / "data" / "supporters.csv").is_file():
        supporters = spec.parent / "data" / "supporters.csv"
    if intake is None and supporters is not None and (supporters.parent / "intake.db").is_file():
        intake = supporters.parent / "intake.db"
    return Project(
        spec=spec,
        out=out,
        supporters=supporters,
        ledger=ledger,
        intake=intake,
        target=_target_choice(params),
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="provisioner")
def cli() -> None:
    """Provision a federated network of campaign sites from one nations.yaml."""


@cli.command()
@spec_option
def validate(spec: Path) -> None:
    """Check nations.yaml and the blueprints it uses; write nothing."""
    with gc_paused():  # a command's imports: see gcpause.py
        from provisioner.run.deploy import load
        from provisioner.run.project import Project

    network = load(Project(spec=spec))
    click.echo(f"{spec}: valid, {len(network)} nations")


@cli.command(name="deploy")
@spec_option
@out_option
@target_options
@click.option("--only", multiple=True, help="Slug or glob (repeatable): deploy only these.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option("--retries", type=click.IntRange(0, 10), default=2, show_default=True)
@click.option("--force", is_flag=True, help="Rebuild every selected nation.")
@click.option(
    "--canary", type=click.IntRange(0), default=0, help="Deploy N nations first; stop if one fails."
)
@click.option(
    "--max-failures", default=None, help="Stop starting nations after N (or N%) failures."
)
@click.option("--keep-releases", type=click.IntRange(1), default=5, show_default=True)
@click.option("--prune", is_flag=True, help="Remove published nations that left the spec.")
@click.option(
    "--shard",
    default=None,
    help="Deploy part I of N (I/N, from 0); '*/N' takes I from JOB_COMPLETION_INDEX "
    "or AWS_BATCH_JOB_ARRAY_INDEX.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the recap.")
@supporter_options
@click.option(
    "--junit",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write JUnit XML to this file: one test case per nation, for CI.",
)
def deploy_command(
    spec: Path, out: Path, only: tuple[str, ...], quiet: bool, **params: Any
) -> None:
    """Build every nation and publish what changed."""
    from provisioner.run.shard import parse_shard

    project = _project(spec, out, params)
    options = _engine_options(params)
    shard = parse_shard(params["shard"]) if params["shard"] else None
    report = None
    if project.target.name == "local" and not options.force and not params["prune"]:
        with gc_paused():  # a command's imports: see gcpause.py
            from provisioner.run.noop import replay

        report = replay(project, only, shard)  # None unless nothing changed since last time
    if report is None:
        with gc_paused():  # a command's imports: see gcpause.py
            from provisioner.run.deploy import deploy

        with _progress(enabled=not quiet) as events:
            report = deploy(
                project, options, only=only, events=events, prune=params["prune"], shard=shard
            )
    _print_recap(report)
    click.echo(f"report: {out / 'reports' / 'latest.json'}  {out / 'reports' / 'latest.html'}")
    if params["junit"]:
        from provisioner.report.junit import write_junit

        click.echo(f"junit: {write_junit(report, params['junit'])}")
    if report["summary"]["failed"]:
        sys.exit(1)


def _engine_options(params: dict[str, Any]) -> Options:
    return Options(
        jobs=params["jobs"],
        retries=params["retries"],
        force=params["force"],
        canary=params["canary"],
        max_failures=_failure_budget(params["max_failures"]),
        keep_releases=params["keep_releases"],
    )


def _failure_budget(value: str | None) -> str | None:
    """`--max-failures 5` or `--max-failures 10%` (a share of the nations deployed)."""
    if value is None:
        return None
    try:
        budget_from(value.strip(), 100)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: use a count like 5 or a share like 10%", param_hint="--max-failures"
        ) from None
    return value.strip()


@cli.command()
@spec_option
@out_option
@click.option("--only", multiple=True, help="Slug or glob (repeatable): plan only these.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help=f"Exit 0 when nothing would change, {EXIT_CHANGES_PENDING} when changes are pending.",
)
@supporter_options
@target_options
def plan(
    spec: Path,
    out: Path,
    only: tuple[str, ...],
    as_json: bool,
    detailed_exitcode: bool,
    **params: Any,
) -> None:
    """Show what deploy would create, update or delete; write nothing."""
    with gc_paused():  # a command's imports: see gcpause.py
        from provisioner.run.deploy import plan_project
        from provisioner.run.plan import as_json as plan_json
        from provisioner.run.plan import has_changes, plan_lines

    planned = plan_project(_project(spec, out, params), only)
    if as_json:
        click.echo(json.dumps(plan_json(planned), indent=2))
    else:
        for line in plan_lines(planned):
            click.echo(line)
    if any(item.action == "error" for item in planned):
        sys.exit(1)
    if detailed_exitcode and has_changes(planned):
        sys.exit(EXIT_CHANGES_PENDING)


@cli.command(name="rollback")
@spec_option
@out_option
@click.argument("slug")
@click.option("--to", "release", default=None, help="Release id (default: the previous one).")
@target_options
def rollback_command(spec: Path, out: Path, slug: str, release: str | None, **params: Any) -> None:
    """Switch a nation's pages and emails back to a kept release, atomically.

    Supporter lists stay the current ones: a release never holds them.
    """
    from provisioner.run.deploy import rollback
    from provisioner.run.project import Project

    project = Project(spec=spec, out=out, target=_target_choice(params))
    result = rollback(project, slug, release)
    click.echo(f"{slug}: {result['from']} -> {result['to']} (run {result['run_id']})")


@cli.command(name="erase")
@spec_option
@out_option
@click.option("--email", default=None, help="Erase the person with this email address.")
@click.option("--phone", default=None, help="Erase the person with this phone number.")
@click.option("--id", "id_", default=None, help="Erase the person with this supporter id.")
@click.option(
    "--supporters",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Central supporter export; the erasure ledger is erased.csv beside it. "
    "Default: data/supporters.csv beside the spec.",
)
@target_options
@click.option(
    "--intake",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Intake store to erase from. Default: intake.db beside the supporters, when it exists.",
)
def erase_command(spec: Path, out: Path, supporters: Path | None, **params: Any) -> None:
    """Erase one person (GDPR art. 17) from every nation's lists, for good.

    Every contact point on the person's records (email, phone, id) is added to the
    erasure ledger as a hash and removed from every private file; no later deploy
    exports them, even while the central export still holds them.
    """
    from provisioner.intake.sqlite_store import SqliteStore
    from provisioner.run.erase import erase, person_from
    from provisioner.run.project import Project

    given = [(k, params[p]) for k, p in (("email", "email"), ("phone", "phone"), ("id", "id_"))]
    given = [(kind, value) for kind, value in given if value]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --email, --phone or --id")
    person = person_from(*given[0])
    data = supporters or spec.parent / "data" / "supporters.csv"
    choice = _target_choice(params)
    project = Project(spec=spec, out=out, supporters=data, target=choice)
    intake = params["intake"] or data.parent / "intake.db"
    stores = [SqliteStore(intake)] if intake.is_file() else []
    try:
        result = erase(project, person, stores=stores).as_dict()
    finally:
        for store in stores:
            store.close()
    kinds = ", ".join(result["kinds"])
    click.echo(f"{kinds}: {result['newly_added']} new in {project.erasures_path} (hashes only)")
    where = out / "private" if choice.name == "local" else f"the {choice.name} target"
    for place, rows in result["found"].items():
        click.echo(f"  removed {rows} row(s) from {where}/{place}")
    if not result["found"]:
        click.echo(f"  found in no private file of {where}")
    if stores:
        click.echo(f"  removed {result['intake_records_removed']} submission(s) from {intake}")
    click.echo("the next deploy exports them nowhere; erase them from the central CRM too")


@cli.command()
@out_option
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(STATUSES),
    help="Only nations with this status (repeatable).",
)
@click.option("--parent", default=None, help="Only the direct children of this nation.")
@click.option("--tag", default=None, help="Only nations with this tag (inherited tags count).")
@click.option("--json", "as_json", is_flag=True, help="Print the nations as JSON.")
@click.option(
    "--html",
    "as_html",
    is_flag=True,
    help="Write OUT/reports/network.html (the whole network: releases, failures, intake "
    "counts rolled up the tree) and print its path.",
)
@spec_option
@click.option(
    "--intake",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="--html: intake store for the counts (default: data/intake.db beside the spec).",
)
@target_options
def status(
    out: Path,
    statuses: tuple[str, ...],
    parent: str | None,
    tag: str | None,
    as_json: bool,
    as_html: bool,
    spec: Path,
    intake: Path | None,
    **params: Any,
) -> None:
    """Show the last known status of every nation, failures first.

    LIVE is the release the target serves now, read from it (one read on S3).
    """
    from provisioner.report.network_report import network_html
    from provisioner.report.status import (
        live_from,
        nation_status,
        open_state,
        status_json,
        status_table,
    )

    state = open_state(out)
    try:
        target = open_target(_target_choice(params), out, create=False)
        try:
            nations = live_from(target, nation_status(state, statuses, parent, tag))
        finally:
            target.close()
        if as_html:
            click.echo(network_html(state, out / "reports", spec, intake))
        elif as_json:
            click.echo(json.dumps(status_json(state, nations), ensure_ascii=False, indent=2))
        else:
            _print_lines(status_table(nations, known=len(state.nation_records())))
    finally:
        state.close()


@cli.command()
@out_option
@click.option("--limit", "-n", type=click.IntRange(1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
def history(out: Path, limit: int, as_json: bool) -> None:
    """List recent runs, newest first, with their counts and durations."""
    from provisioner.report.status import history_table, open_state, run_history

    state = open_state(out)
    try:
        runs = run_history(state, limit)
    finally:
        state.close()
    if as_json:
        click.echo(json.dumps({"runs": runs}, ensure_ascii=False, indent=2))
    else:
        _print_lines(history_table(runs))


@cli.command(name="report")
@out_option
@click.option("--run", "run_id", default=None, help="Run id (default: the last deploy).")
@click.option(
    "--merge",
    "merge_files",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Merge these shard reports (JSON, repeatable) into one run report instead.",
)
def report_command(out: Path, run_id: str | None, merge_files: tuple[Path, ...]) -> None:
    """Regenerate a run's JSON and HTML reports in OUT/reports (or merge shard reports)."""
    from provisioner.report.merge import merge_reports
    from provisioner.report.report import regenerate, write_reports
    from provisioner.report.status import open_state

    if merge_files and run_id:
        raise click.UsageError("use either --run or --merge")
    if merge_files:
        report = merge_reports([json.loads(f.read_text("utf-8")) for f in merge_files])
        write_reports(report, out / "reports")
    else:
        state = open_state(out)
        try:
            report = regenerate(state, out / "reports", run_id)
        finally:
            state.close()
    _print_recap(report)
    written = out / "reports" / report["run_id"]
    click.echo(f"report: {written}.json  {written}.html")


# -- candidates: scaffold, check, preview (logic in provisioner/candidates/) ----------------
# Imported in the commands: cookiecutter and watchfiles are slow to import and only
# these commands need them.


@cli.command(name="new-nation")
@spec_option
@click.argument("slug")
@click.option("--parent", default=None, help="Slug of the parent nation (e.g. the section).")
@click.option("--first-name", default="", help="Candidate's first name (default: from SLUG).")
@click.option("--last-name", default="", help="Candidate's last name (default: from SLUG).")
@click.option("--email", default="", help="Public contact (default: SLUG@<base_domain>).")
@click.option("--blueprint", default="candidate", show_default=True)
@click.option(
    "--language",
    "languages",
    multiple=True,
    type=click.Choice(["fr", "nl"]),
    help="Site language (repeatable; default: the parent's).",
)
@click.option("--slogan", default="Un nouvel horizon / Een nieuwe horizon", show_default=True)
@click.option("--add", is_flag=True, help="Append the entry to nations.yaml (validated first).")
def new_nation_command(spec: Path, slug: str, add: bool, **answers: Any) -> None:
    """Create nations/SLUG/ for a candidate: site.yaml, example overrides, guide."""
    from provisioner.candidates.scaffold import NewNation, generated_notice, new_nation
    from provisioner.run.project import Project

    answers["languages"] = tuple(answers["languages"])
    created = new_nation(Project(spec=spec), NewNation(slug=slug, **answers), add=add)
    click.echo(f"created {created.folder}/ (site.yaml, overrides/, GUIDE.md)")
    if created.added:
        click.echo(f"added to {spec}:")
    else:
        click.echo(f"add this entry at the end of `nations:` in {spec} (or rerun with --add):")
    click.echo(created.entry, nl=False)
    notice = generated_notice(spec) if created.added else None
    if notice:
        click.secho(f"note: {notice}", fg="yellow", err=True)
    click.echo(f"next: provisioner check {slug}   provisioner preview {slug}")


@cli.command(name="check")
@spec_option
@click.argument("slug", required=False)
@click.option(
    "--owner", default=None, help="With --diff: the change may only touch nations/OWNER/."
)
@click.option("--diff", "rev", default=None, help="Git revision to compare the change with.")
def check_command(spec: Path, slug: str | None, owner: str | None, rev: str | None) -> None:
    """Render one nation strictly; print each problem as file:line: message (exit 1)."""
    with gc_paused():  # a command's imports: see gcpause.py
        from provisioner.candidates.check import check_nation
        from provisioner.candidates.scope import scope_problems
        from provisioner.run.project import Project

    slug = slug or owner
    if slug is None or (owner and owner != slug):
        raise click.UsageError("give SLUG, or --owner SLUG --diff REV (the same nation)")
    if bool(owner) != bool(rev):
        raise click.UsageError("--owner and --diff go together")
    project = Project(spec=spec)
    problems = scope_problems(project.overrides_dir, slug, rev) if rev else []
    problems += check_nation(project, slug)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.secho(f"{slug}: {len(problems)} problem(s)", fg="red", err=True)
        sys.exit(1)
    click.secho(f"{slug}: OK", fg="green")


@cli.command(name="inbox")
@spec_option
@out_option
@click.option(
    "--stack-outputs",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="JSON of `pulumi stack output --json`; or PROVISIONER_*_BUCKET variables.",
)
@click.option("--no-publish", is_flag=True, help="Accept uploads into nations/ only.")
def inbox_command(spec: Path, out: Path, no_publish: bool, **params: Any) -> None:
    """Check candidates' uploads (S3 inbox/<slug>/), accept the good ones, publish them."""
    from provisioner.candidates.inbox import S3Inbox, take_inbox
    from provisioner.run.deploy import deploy, load
    from provisioner.targets.s3 import S3Target

    choice = TargetChoice("s3", stack_outputs=params["stack_outputs"])
    target = open_target(choice, out)
    assert isinstance(target, S3Target)
    project = _project(spec, out, {})
    network = load(project)
    candidates = {n.slug for n in network if n.kind == "candidate"}
    outcomes = take_inbox(project, S3Inbox(target.s3, target.private), candidates)
    for outcome in outcomes:
        verdict = "accepted" if outcome.accepted else "rejected"
        click.echo(f"{outcome.slug}: {verdict} ({len(outcome.files)} file(s))")
        for problem in outcome.problems:
            click.echo(f"  {problem}")
    accepted = [o.slug for o in outcomes if o.accepted]
    if accepted and not no_publish:
        report = deploy(project, Options(), only=accepted, target=target)
        _print_recap(report)
    if any(not o.accepted for o in outcomes):
        sys.exit(1)


@cli.command()
@spec_option
@click.argument("slug")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
def preview(spec: Path, slug: str, port: int) -> None:
    """Serve one nation on 127.0.0.1; pages reload after every edit."""
    import threading

    from provisioner.candidates.preview import PreviewServer
    from provisioner.run.project import Project

    server = PreviewServer(Project(spec=spec), slug, port)
    server.start()
    click.echo(f"{slug}: {server.url}   (Ctrl-C to stop)", err=False)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.stop()


cli.add_command(serve_command)
cli.add_command(intake_group)
intake_group.add_command(pull_command)  # the cloud side: provisioner/intake/pull.py


def _print_recap(report: dict[str, Any]) -> None:
    from provisioner.report.recap import recap

    _print_lines(recap(report))


def _print_lines(lines: list[Text]) -> None:
    """Colour on a terminal; plain text in pipes, files and CI logs (or with NO_COLOR)."""
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    for line in lines:
        console.print(line)


class _Progress:
    """A rich progress bar on an interactive terminal; silent in CI and pipes."""

    def __init__(self, enabled: bool):
        interactive = sys.stderr.isatty() and not os.environ.get("CI")
        self.enabled = enabled and interactive
        self._bar: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import Progress

            self._bar = Progress(transient=True)
            self._bar.start()
            self._task = self._bar.add_task("deploying", total=None)
        return self

    def nation_finished(self, result: NationResult) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=f"{result.slug} {result.status}")

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _progress(enabled: bool) -> _Progress:
    return _Progress(enabled)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except ProvisionerError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(exc.exit_code)
