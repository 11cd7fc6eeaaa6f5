"""`plan`: what a deploy would do, per nation, without writing anything to the target.

Like `terraform plan`: create (never published), update (files added/changed/removed),
unchanged, delete (published but gone from the spec; removed only by `deploy --prune`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from provisioner.errors import EXIT_CHANGES_PENDING as EXIT_CHANGES_PENDING  # defined there
from provisioner.errors import NationError
from provisioner.render.build import Builder
from provisioner.run.state import Deployed, State
from provisioner.spec.network import Nation
from provisioner.targets.base import Target

ACTIONS = ("create", "update", "unchanged", "delete", "error")


@dataclass
class PlannedNation:
    slug: str
    action: str
    added: int = 0
    changed: int = 0
    removed: int = 0
    error: str | None = None


def plan(
    builder: Builder,
    target: Target,
    state_path: Path,
    nations: Sequence[Nation],
    all_slugs: set[str],
) -> list[PlannedNation]:
    """Plan every nation in `nations`, plus deletions of published nations not in the spec."""
    known = _known(state_path)
    planned = [_plan_one(builder, target, nation, known.get(nation.slug)) for nation in nations]
    gone = sorted(target.deployed_slugs() - all_slugs)
    return planned + [PlannedNation(slug, "delete") for slug in gone]


def _known(state_path: Path) -> dict[str, Deployed]:
    if not state_path.exists():  # plan must not create the state database
        return {}
    state = State(state_path)
    try:
        return state.deployed()
    finally:
        state.close()


def _plan_one(
    builder: Builder, target: Target, nation: Nation, known: Deployed | None
) -> PlannedNation:
    live = target.current_release(nation.slug)
    try:
        fingerprint = builder.fingerprint(nation)
        if known and live and known.fingerprint == fingerprint and known.release == live:
            return PlannedNation(nation.slug, "unchanged")
        diff = target.diff(builder.build(nation, fingerprint))
    except NationError as exc:
        return PlannedNation(nation.slug, "error", error=str(exc))
    if live is None:
        return PlannedNation(nation.slug, "create", added=len(diff.added))
    if not diff.changed_anything:
        return PlannedNation(nation.slug, "unchanged")
    return PlannedNation(
        nation.slug, "update", len(diff.added), len(diff.changed), len(diff.removed)
    )


def summary(planned: Sequence[PlannedNation]) -> dict[str, int]:
    counts = Counter(p.action for p in planned)
    return {action: counts.get(action, 0) for action in ACTIONS}


def has_changes(planned: Sequence[PlannedNation]) -> bool:
    return any(p.action != "unchanged" for p in planned)


def as_json(planned: Sequence[PlannedNation]) -> dict[str, Any]:
    return {
        "summary": summary(planned),
        "changes_pending": has_changes(planned),
        "nations": [asdict(p) for p in planned],
    }


def plan_lines(planned: Sequence[PlannedNation]) -> list[str]:
    """Human plan: one line per nation that would change, then the summary."""
    symbols = {"create": "+", "update": "~", "delete": "-", "error": "!"}
    lines = []
    for item in planned:
        if item.action == "unchanged":
            continue
        detail = ""
        if item.action == "update":
            detail = f" (+{item.added} ~{item.changed} -{item.removed} files)"
        elif item.action == "create":
            detail = f" ({item.added} files)"
        elif item.action == "delete":
            detail = " (only with deploy --prune)"
        elif item.error:
            detail = f": {item.error}"
        lines.append(f"  {symbols[item.action]} {item.slug} {item.action}{detail}")
    counts = summary(planned)
    parts = [f"{counts[a]} to {a}" for a in ("create", "update", "delete")]
    parts.append(f"{counts['unchanged']} unchanged")
    if counts["error"]:
        parts.append(f"{counts['error']} errors")
    lines.append("Plan: " + ", ".join(parts))
    return lines
