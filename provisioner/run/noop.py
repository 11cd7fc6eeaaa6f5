"""The no-op shortcut: a local deploy whose inputs did not change since the last good one.

Such a deploy would load and validate the spec, fingerprint every nation, find them all
unchanged and write reports; this module reaches the same reports without importing the
spec models, the templates or the supporter code (most of a no-op's time was spent
importing and validating). It is taken only when all of these hold:

- the inputs key is the one the last deploy recorded, and that deploy left every nation
  deployed or unchanged (nothing failed or skipped, nothing pruned): the key covers the
  spec's bytes; every file under the blueprints, the nations' overrides and the
  provisioner package (size, mtime, ctime, inode, like git's index); the supporter
  export, the ledgers and the intake and referral stores (with their SQLite WAL); the
  installed distributions; and the selection (`--only`, `--shard`) and output folder;
- no input was written within a second of the stats being taken (RACY_NS);
- every nation still serves the release the state remembers (a rollback, or a site
  removed by hand, sends the deploy down the full path).

Anything else, `--force` or another target included, takes the full path, which then
records the key for the next run (`remember`).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provisioner.filestat import RACY_NS, Stat, stat_of
from provisioner.run.engine import NationResult, now_iso
from provisioner.run.project import Project, new_run_id
from provisioner.run.state import State

if TYPE_CHECKING:
    from provisioner.run.shard import Shard

PACKAGE = Path(__file__).resolve().parent.parent  # provisioner/: code, templates, geo data
KEY_VERSION = "noop-1"


def with_named_inputs(key: str | None, paths: Sequence[str]) -> str | None:
    """`key` extended by the stats of the inputs nations.yaml names (its strings folder,
    its CSV geography), which only a loaded spec knows: a deploy adds them after loading
    and remembers their paths; a later no-op stats the same paths (a spec that names
    others has other bytes, so its key differs anyway)."""
    if key is None:
        return None
    digest, started = hashlib.sha256(key.encode()), time.time_ns()
    stats: list[Stat | None] = []
    for name in sorted(paths):
        path = Path(name)
        found = _tree_stats(path) if path.is_dir() else [("", stat_of(path))]
        stats += [stat for _, stat in found]
        digest.update(repr((name, found)).encode("utf-8", "surrogateescape"))
    newest = max((max(stat[1], stat[2]) for stat in stats if stat), default=0)
    return None if newest > started - RACY_NS else digest.hexdigest()


def inputs_key(project: Project, only: Sequence[str], shard: Shard | None) -> str | None:
    """A digest of everything a local deploy's outcome depends on (see the module doc),
    or None when an input changed too recently for its stat to tell (see RACY_NS).
    The inputs nations.yaml itself names are added by `with_named_inputs`."""
    digest, started = hashlib.sha256(), time.time_ns()
    stats: list[Stat | None] = []

    def add(*parts: object) -> None:
        digest.update(repr(parts).encode("utf-8", "surrogateescape"))
        digest.update(b"\0")

    selection = (shard.index, shard.count) if shard else None
    add(KEY_VERSION, sys.version, sorted(only), selection, str(project.out.resolve()))
    add("spec", str(project.spec), hashlib.sha256(project.spec.read_bytes()).hexdigest())
    for tree in (project.blueprints_dir, project.overrides_dir, PACKAGE):
        found = _tree_stats(tree)
        stats += [stat for _, stat in found]
        add("tree", str(tree), found)
    for path in _data_files(project):
        stats.append(stat_of(path))
        add("file", str(path), stats[-1])
    add("distributions", _distributions())
    newest = max((max(stat[1], stat[2]) for stat in stats if stat), default=0)
    return None if newest > started - RACY_NS else digest.hexdigest()


def _data_files(project: Project) -> list[Path]:
    """The supporter export, the ledgers and the SQLite stores a deploy reads."""
    files = [project.supporters, project.ledger_path, project.erasures_path]
    if project.intake is not None:
        stores = [project.intake, project.intake.parent / "referrals.db"]
        files += [p.with_name(p.name + suffix) for p in stores for suffix in ("", "-wal")]
    return [path for path in files if path is not None]


def _tree_stats(root: Path) -> list[tuple[str, Stat | None]]:
    """(relative path, stat) of every file under `root`, sorted; bytecode caches left out."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            path = Path(folder, name)
            found.append((str(path.relative_to(root)), stat_of(path)))
    return found


def _distributions() -> list[str]:
    """Names and versions of the installed packages (from their dist-info folders)."""
    names: list[str] = []
    for entry in sys.path:
        if entry.endswith("site-packages") and os.path.isdir(entry):
            names += sorted(n for n in os.listdir(entry) if n.endswith((".dist-info", ".pth")))
    return names


def remember(
    state: State,
    key: str | None,
    report: dict[str, Any],
    kinds: dict[str, str],
    named: Sequence[str] = (),
) -> None:
    """After a full deploy: keep `key` when the run left every nation good, else none.

    `kinds` (each nation's kind, from the spec) is kept for the network view."""
    summary = report["summary"]
    good = summary["failed"] == 0 and summary["skipped"] == 0 and not report.get("pruned")
    if key is None or not good:
        state.forget_noop()
    else:
        record = {"key": key, "run_id": report["run_id"], "kinds": kinds, "named": list(named)}
        state.remember_noop(record)


def replay(project: Project, only: Sequence[str], shard: Shard | None) -> dict[str, Any] | None:
    """The report of a no-op deploy, written as the full path would, or None when the
    shortcut does not apply (the caller then deploys for real)."""
    state_path = project.out / "state.db"
    if not state_path.is_file():
        return None
    from provisioner.run.lock import deploy_lock

    with deploy_lock(project.out / ".deploy.lock", "deploy"):
        state = State(state_path)
        try:
            remembered, key = state.noop(), inputs_key(project, only, shard)
            if remembered is not None:
                key = with_named_inputs(key, remembered.get("named", []))
            if remembered is None or key is None or remembered["key"] != key:
                return None
            last = state.run_report(remembered["run_id"])
            if last is None or not _still_live(project.out, state, last["nations"]):
                return None
            report = _record(project, state, last, remembered["kinds"])
            state.remember_noop({**remembered, "run_id": report["run_id"]})
            return report
        finally:
            state.close()


def _still_live(out: Path, state: State, nations: Iterable[dict[str, Any]]) -> bool:
    """Every nation serves the release the state remembers (no rollback, nothing removed)."""
    known = state.live_releases()
    for nation in nations:
        try:
            live = Path(os.readlink(out / "sites" / nation["slug"])).name
        except OSError:
            return False
        if known.get(nation["slug"]) != live:
            return False
    return True


def _record(
    project: Project, state: State, last: dict[str, Any], kinds: dict[str, str]
) -> dict[str, Any]:
    """Run, nation outcomes and reports of the no-op, as the full path records them."""
    from provisioner.report.network_report import write_run_reports
    from provisioner.report.report import build_report

    run_id, started_at, t0 = new_run_id(), now_iso(), time.monotonic()
    state.start_run(run_id, "deploy", last["target"], started_at)
    previous = {record["slug"]: record for record in state.nation_statuses()}
    results = [_unchanged(previous[n["slug"]]) for n in last["nations"]]
    state.record_nations(run_id, now_iso(), [r.as_dict() for r in results])
    extra = {key: last[key] for key in ("spec", "supporters", "orphans", "pruned", "shard")}
    if extra["supporters"]:  # the lists were not read again, as in a full no-op
        extra["supporters"] = {**_unread(extra["supporters"]), "quarantine_file": None}
    report = build_report(
        run_id, "deploy", last["target"], started_at, now_iso(), time.monotonic() - t0, results,
        extra=extra,
    )  # fmt: skip
    state.finish_run(run_id, report["finished_at"], report["summary"], report)
    write_run_reports(state, project.reports_dir, report, kinds, project.intake_store)
    return report


def _unread(supporters: dict[str, Any]) -> dict[str, Any]:
    return {"file": supporters["file"], "loaded": False}


def _unchanged(record: dict[str, Any]) -> NationResult:
    """A nation's outcome in a no-op: its last good one, unchanged and not rebuilt."""
    return NationResult(
        slug=record["slug"],
        name=record["name"],
        parent=record["parent"],
        blueprint=record["blueprint"],
        status="unchanged",
        url=record["url"],
        release=record["release"],
        fingerprint=record["fingerprint"],
        private_fingerprint=record["private_fingerprint"],
        pages_fingerprint=record.get("pages_fingerprint"),
        counts=dict(record.get("counts") or {}),
        tags=list(record.get("tags") or []),
    )
