"""Writes `reports/network.html`: after each deploy, and on `provisioner status --html`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provisioner.errors import ProvisionerError
from provisioner.report.netview import IntakeCounts, NoIntake, StoreCounts, view_from_state
from provisioner.report.netview_html import write_network
from provisioner.report.report import write_reports
from provisioner.run.state import State

if TYPE_CHECKING:  # a no-op deploy writes this view without loading the spec models
    from provisioner.spec.network import Network


def spec_kinds(spec: Path | None, blueprints: Path | None = None) -> dict[str, str]:
    """Each nation's kind from the spec; {} when it cannot be read (the view then
    guesses kinds from blueprints, and still shows every nation the state knows)."""
    if spec is None or not spec.is_file():
        return {}
    from provisioner.spec.load import load_network

    try:
        return kinds_of(load_network(spec, blueprints))
    except ProvisionerError:
        return {}


def kinds_of(network: Network) -> dict[str, str]:
    return {nation.slug: nation.kind for nation in network}


def write_network_report(
    state: State, reports_dir: Path, kinds: dict[str, str], intake: IntakeCounts | None = None
) -> Path:
    """The network view of `state` with `intake`'s counts (none: zero), as HTML."""
    view = view_from_state(state, kinds, intake or NoIntake())
    return write_network(view, reports_dir)


def write_run_reports(
    state: State,
    reports_dir: Path,
    report: dict[str, Any],
    kinds: dict[str, str],
    intake_store: Path,
) -> None:
    """What every deploy leaves, a full one or its no-op replay: the run's JSON and HTML
    reports and the network view with the intake store's counts."""
    write_reports(report, reports_dir)
    with intake_counts(intake_store) as counts:
        write_network_report(state, reports_dir, kinds, counts)


def network_html(state: State, reports_dir: Path, spec: Path, intake: Path | None) -> Path:
    """`status --html`: kinds from the spec when it loads, counts from the intake store."""
    store_path = intake or spec.parent / "data" / "intake.db"
    with intake_counts(store_path) as counts:
        return write_network_report(state, reports_dir, spec_kinds(spec), counts)


@contextmanager
def intake_counts(path: Path) -> Iterator[IntakeCounts]:
    """Counts from the SQLite intake store at `path`; zero counts when there is none yet."""
    if not path.is_file():
        yield NoIntake()
        return
    from provisioner.intake.sqlite_store import SqliteStore  # only when there is intake

    store = SqliteStore(path)
    try:
        yield StoreCounts(store)
    finally:
        store.close()
