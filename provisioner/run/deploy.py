"""The library entry point: load the network, deploy it to a target, write reports.

The CLI is a thin layer over these functions; tests and scripts can call them directly.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from provisioner import langtags
from provisioner.errors import InputError
from provisioner.render.blueprints import Catalog
from provisioner.render.build import Builder
from provisioner.report.network_report import kinds_of, write_run_reports
from provisioner.report.report import build_report
from provisioner.run.engine import Engine, Events, NationResult, Options, now_iso
from provisioner.run.lock import deploy_lock
from provisioner.run.noop import inputs_key, remember, with_named_inputs
from provisioner.run.plan import PlannedNation, plan
from provisioner.run.project import Project, new_run_id
from provisioner.run.shard import Shard, run_scope
from provisioner.run.state import State
from provisioner.spec import parsememo
from provisioner.spec.load import load_network
from provisioner.spec.network import Nation, Network
from provisioner.supporters import write_private_file
from provisioner.supporters.audience import Audience
from provisioner.supporters.hunters import read_hunters
from provisioner.targets import open_target
from provisioner.targets.base import Target


def load(project: Project, keep: bool = False) -> Network:
    """The validated network; `keep`: language tags found valid and the parsed spec are
    kept in the output folder for the next run (langtags.py, parsememo.py; only `deploy`
    writes there, once it holds its lock: `save_memos`)."""
    if not keep:
        return load_network(project.spec, project.blueprints_dir)
    return load_network(
        project.spec, project.blueprints_dir, project.language_tags, project.parsed_spec
    )


def save_memos(project: Project) -> None:
    """What `load(keep=True)` found, written for the next run (this one writes output)."""
    langtags.save(project.language_tags)
    parsememo.save(project.parsed_spec)


def select(network: Network, only: Sequence[str], shard: Shard | None = None) -> list[Nation]:
    """Nations matching any slug or glob of `only` (all when empty) and in `shard`."""
    nations = _matching(network, only)
    return [n for n in nations if shard.owns(n.slug)] if shard else nations


def _matching(network: Network, only: Sequence[str]) -> list[Nation]:
    if not only:
        return list(network)
    unmatched = [p for p in only if not fnmatch.filter(network.nations, p)]
    if unmatched:
        raise InputError(
            f"--only {', '.join(unmatched)}: no nation of {network.source} matches; "
            "use slugs or globs such as 'prov-*'"
        )
    return [n for n in network if any(fnmatch.fnmatchcase(n.slug, p) for p in only)]


def make_builder(
    project: Project, network: Network, code: Literal["keep", "read"] | None = None
) -> Builder:
    """The network's builder. `code`: "keep" loads the compiled templates an earlier
    deploy kept in the output folder and keeps new ones (render/codecache.py), "read"
    only loads them; None compiles every template afresh."""
    audience = None
    if project.supporters is not None and project.ledger_path is not None:
        audience = Audience(
            network, project.supporters, project.ledger_path, project.erasures_path, project.intake
        )
    hunters = read_hunters(project.intake)  # referrals.db beside the intake store
    catalog = network.catalog or Catalog(project.blueprints_dir, network.strings_dir)
    cache = project.template_cache if code is not None else None
    return Builder(
        network, catalog, project.overrides_dir, audience, hunters, cache, code == "keep"
    )


def deploy(
    project: Project,
    options: Options,
    only: Sequence[str] = (),
    target: Target | None = None,
    events: Events | None = None,
    prune: bool = False,
    shard: Shard | None = None,
) -> dict[str, Any]:
    """Validate, then deploy the selected nations; return the run report (also written).

    Nations published but gone from the spec are reported as orphans, and removed only
    when `prune` is set: a typo in nations.yaml must never delete a live site.
    """
    # Read before anything else: the inputs this run is made from (see noop.py). Only
    # the default local target is remembered; any other run clears what was.
    local = target is None and project.target.name == "local"
    key = inputs_key(project, only, shard) if local else None
    network = load(project, keep=True)  # validates everything before any side effect
    nations = select(network, only, shard)
    builder = make_builder(project, network, code="keep")
    target = target or open_target(
        project.target, project.out, jobs=options.jobs, keep_releases=options.keep_releases
    )
    with deploy_lock(project.out / ".deploy.lock", "deploy"):
        save_memos(project)  # now that this run writes its output
        state = State(project.out / "state.db")
        if isinstance(builder.audience, Audience):
            builder.audience.cache = state  # per-nation digests: a no-op parses nothing
        try:
            target.start(run_scope(shard, project.spec.read_bytes(), new_run_id()))
            engine = Engine(builder, target, state, options, events)
            orphans = sorted(
                slug
                for slug in target.deployed_slugs() - set(network.nations)
                if shard is None or shard.owns(slug)  # each shard prunes only its own part
            )
            named = named_inputs(project, network)
            key = with_named_inputs(key, named)
            work = _Work(nations, orphans, prune, shard, key, named)
            return _run(project, state, engine, work)
        finally:
            state.close()
            target.close()


def named_inputs(project: Project, network: Network) -> tuple[str, ...]:
    """The files and folders nations.yaml names that shape the builds: a no-op must
    notice an edit to them (noop.py)."""
    named = [network.strings_dir] if network.strings_dir else []
    if network.info.geography:
        named.append(project.root / network.info.geography)
    return tuple(str(path.resolve()) for path in named)


@dataclass
class _Work:
    """What one deploy run covers."""

    nations: list[Nation]
    orphans: list[str]
    prune: bool
    shard: Shard | None
    inputs_key: str | None = None  # what a later no-op compares with (noop.py)
    named_inputs: tuple[str, ...] = ()  # files and folders nations.yaml names (noop.py)


def _run(project: Project, state: State, engine: Engine, work: _Work) -> dict[str, Any]:
    run_id, started_at, t0 = new_run_id(), now_iso(), time.monotonic()
    state.start_run(run_id, "deploy", engine.target.name, started_at)
    results: list[NationResult] = engine.run(work.nations, run_id)
    audience = engine.builder.audience
    quarantine = _write_quarantine(project, audience) if isinstance(audience, Audience) else None
    orphans, shard = work.orphans, work.shard
    if work.prune:
        for slug in orphans:
            engine.target.remove(slug)
            state.forget(slug)
    report = build_report(
        run_id,
        "deploy",
        engine.target.name,
        started_at,
        now_iso(),
        time.monotonic() - t0,
        results,
        extra={
            "spec": str(project.spec),
            "supporters": (
                {**audience.summary(), "quarantine_file": quarantine}
                if isinstance(audience, Audience)
                else None
            ),
            "orphans": [] if work.prune else orphans,
            "pruned": orphans if work.prune else [],
            "shard": f"{shard.index}/{shard.count}" if shard else None,
        },
    )
    state.finish_run(run_id, report["finished_at"], report["summary"], report)
    kinds = kinds_of(engine.builder.network)
    remember(state, work.inputs_key, report, kinds, work.named_inputs)
    write_run_reports(state, project.reports_dir, report, kinds, project.intake_store)
    return report


def _write_quarantine(project: Project, audience: Audience) -> str | None:
    """Rows set aside by ingestion, with line and reason, beside the private lists."""
    data = audience.quarantine_csv()
    if data is None:
        return None
    path = project.out / "private" / "_quarantine.csv"
    write_private_file(path, data)
    return str(path)


def plan_project(project: Project, only: Sequence[str] = ()) -> list[PlannedNation]:
    """What `deploy` would do; reads the target and the state, writes nothing."""
    network = load(project)
    builder = make_builder(project, network, code="read")
    target = open_target(project.target, project.out, create=False)
    try:
        return plan(
            builder, target, project.out / "state.db", select(network, only), set(network.nations)
        )
    finally:
        target.close()


def rollback(project: Project, slug: str, to: str | None = None) -> dict[str, Any]:
    """Switch `slug` back to release `to` (default: the one before the live one)."""
    target = open_target(project.target, project.out, create=False)
    try:
        with deploy_lock(project.out / ".deploy.lock", f"rollback {slug}"):
            chosen, live = _rollback_to(target, slug, to)
            state = State(project.out / "state.db")
            try:
                return _record_rollback(state, target, slug, live, chosen)
            finally:
                state.close()
    finally:
        target.close()  # a shared target saves what it switched and releases its lock


def _rollback_to(target: Target, slug: str, to: str | None) -> tuple[str, str]:
    """(the release to switch to, the live one); InputError when there is none."""
    releases = target.releases(slug)
    live = target.current_release(slug)
    if not releases or live is None:
        raise InputError(f"{slug}: nothing published on {target.location}; deploy it first")
    chosen = to or _previous(releases, live, slug)
    if chosen not in releases:
        raise InputError(f"{slug}: no release {chosen!r}; kept releases: {', '.join(releases)}")
    return chosen, live


def _previous(releases: list[str], live: str, slug: str) -> str:
    index = releases.index(live) if live in releases else len(releases)
    if index == 0:
        raise InputError(f"{slug}: {live} is the oldest kept release; nothing to roll back to")
    return releases[index - 1]


def _record_rollback(
    state: State, target: Target, slug: str, live: str, chosen: str
) -> dict[str, Any]:
    run_id, started_at = new_run_id(), now_iso()
    state.start_run(run_id, f"rollback {slug}", target.name, started_at)
    target.activate(slug, chosen)
    state.set_release(slug, chosen, state.release_fingerprint(slug, chosen))
    result = {"slug": slug, "from": live, "to": chosen, "run_id": run_id}
    state.finish_run(run_id, now_iso(), {"rolled_back": 1}, result)
    return result
