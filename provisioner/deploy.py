"""The library entry point: load the network, deploy it to a target, write reports.

The CLI is a thin layer over these functions; tests and scripts can call them directly.
"""

from __future__ import annotations

import fnmatch
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.blueprints import Catalog
from provisioner.build import Builder
from provisioner.engine import Engine, Events, NationResult, Options, now_iso
from provisioner.errors import InputError
from provisioner.lock import deploy_lock
from provisioner.network import Nation, Network
from provisioner.report import build_report, write_reports
from provisioner.spec import load_network
from provisioner.state import State
from provisioner.targets.base import Target
from provisioner.targets.local import LocalTarget


@dataclass
class Project:
    """Where the inputs and outputs of a network live."""

    spec: Path = Path("nations.yaml")
    out: Path = Path("build")
    blueprints: Path | None = None
    nations_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.spec.parent

    @property
    def blueprints_dir(self) -> Path:
        return self.blueprints or self.root / "blueprints"

    @property
    def overrides_dir(self) -> Path:
        return self.nations_dir or self.root / "nations"

    @property
    def reports_dir(self) -> Path:
        return self.out / "reports"


def load(project: Project) -> Network:
    return load_network(project.spec, project.blueprints_dir)


def select(network: Network, only: Sequence[str]) -> list[Nation]:
    """Nations matching any slug or glob of `only` (all when empty), in file order."""
    if not only:
        return list(network)
    unmatched = [p for p in only if not fnmatch.filter(network.nations, p)]
    if unmatched:
        raise InputError(
            f"--only {', '.join(unmatched)}: no nation of {network.source} matches; "
            "use slugs or globs such as 'prov-*'"
        )
    return [n for n in network if any(fnmatch.fnmatchcase(n.slug, p) for p in only)]


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def make_builder(project: Project, network: Network) -> Builder:
    return Builder(network, Catalog(project.blueprints_dir), project.overrides_dir)


def deploy(
    project: Project,
    options: Options,
    only: Sequence[str] = (),
    target: Target | None = None,
    events: Events | None = None,
) -> dict[str, Any]:
    """Validate, then deploy the selected nations; return the run report (also written)."""
    network = load(project)  # validates everything before any side effect
    nations = select(network, only)
    builder = make_builder(project, network)
    target = target or LocalTarget(project.out)
    with deploy_lock(project.out / ".deploy.lock", "deploy"):
        state = State(project.out / "state.db")
        try:
            return _run(project, state, Engine(builder, target, state, options, events), nations)
        finally:
            state.close()
            target.close()


def _run(project: Project, state: State, engine: Engine, nations: list[Nation]) -> dict[str, Any]:
    run_id, started_at, t0 = new_run_id(), now_iso(), time.monotonic()
    state.start_run(run_id, "deploy", engine.target.name, started_at)
    results: list[NationResult] = engine.run(nations, run_id)
    report = build_report(
        run_id,
        "deploy",
        engine.target.name,
        started_at,
        now_iso(),
        time.monotonic() - t0,
        results,
        extra={"spec": str(project.spec)},
    )
    state.finish_run(run_id, report["finished_at"], report["summary"], report)
    write_reports(report, project.reports_dir)
    return report
