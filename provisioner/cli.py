"""Command line interface. The only module that prints, prompts or exits.

Exit codes: 0 every nation fine, 1 some nations failed (the others were deployed),
2 invalid input or usage (nothing deployed, nothing written).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from provisioner import __version__
from provisioner.deploy import Project, deploy, load
from provisioner.engine import NationResult, Options
from provisioner.errors import ProvisionerError
from provisioner.report import recap_lines

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="provisioner")
def cli() -> None:
    """Provision a federated network of campaign sites from one nations.yaml."""


@cli.command()
@spec_option
def validate(spec: Path) -> None:
    """Check nations.yaml and the blueprints it uses; write nothing."""
    network = load(Project(spec=spec))
    click.echo(f"{spec}: valid, {len(network)} nations")


@cli.command(name="deploy")
@spec_option
@out_option
@click.option("--target", type=click.Choice(["local"]), default="local", show_default=True)
@click.option("--only", multiple=True, help="Slug or glob (repeatable): deploy only these.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option("--retries", type=click.IntRange(0, 10), default=2, show_default=True)
@click.option("--force", is_flag=True, help="Rebuild every selected nation.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the recap.")
def deploy_command(
    spec: Path,
    out: Path,
    target: str,
    only: tuple[str, ...],
    jobs: int,
    retries: int,
    force: bool,
    quiet: bool,
) -> None:
    """Build every nation and publish what changed."""
    options = Options(jobs=jobs, retries=retries, force=force)
    with _progress(enabled=not quiet) as events:
        report = deploy(Project(spec=spec, out=out), options, only=only, events=events)
    _print_recap(report)
    click.echo(f"report: {out / 'reports' / 'latest.json'}  {out / 'reports' / 'latest.html'}")
    if report["summary"]["failed"]:
        sys.exit(1)


def _print_recap(report: dict[str, Any]) -> None:
    color = {"deployed": "green", "unchanged": "cyan", "failed": "red", "skipped": "yellow"}
    for line in recap_lines(report):
        style = next((c for s, c in color.items() if line.startswith(s.upper())), None)
        click.secho(line, fg=style, bold=line.isupper())


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
