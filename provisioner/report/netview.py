"""The network view for ops: every nation's live release, last failure and intake counts.

Data only (`network_view`); `netview_html.py` draws it. Intake counts come through the
small `IntakeCounts` interface, so the view works with no intake at all (`NoIntake`),
with the SQLite store of `provisioner serve`, or with any other `Store`. Only counts
leave the store: no name, email or phone reaches the view.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

# What the view counts, by intake form kind.
COUNTED = {"pledge": "pledges", "volunteer": "volunteers", "subscribe": "signups"}
MEASURES = ("pledges", "volunteers", "signups")
LEVELS = ("national", "region", "province", "section", "candidate")
RECENT_DAYS = 7
CHART_DAYS = 30


@dataclass(frozen=True)
class DailyCount:
    """How many confirmed submissions of one kind a nation's forms got on one UTC day."""

    nation: str
    kind: str
    day: date
    count: int


class IntakeCounts(Protocol):
    def daily(self) -> Iterable[DailyCount]: ...


class NoIntake:
    """Before any intake exists (or without one): every count is zero."""

    def daily(self) -> Iterable[DailyCount]:
        return []


class StoreCounts:
    """Counts from an intake `Store`: confirmed submissions (and those confirmed before
    an unsubscribe), on the day they were made, credited to the nation whose form took
    them."""

    def __init__(self, store: Any):
        self.store = store

    def daily(self) -> Iterable[DailyCount]:
        tally: dict[tuple[str, str, date], int] = defaultdict(int)
        for submission in self.store.submissions():
            if submission.state == "pending" or not submission.confirmed_at:
                continue
            day = datetime.fromisoformat(submission.created_at).date()
            tally[(submission.nation, submission.kind, day)] += 1
        return [DailyCount(n, k, d, c) for (n, k, d), c in sorted(tally.items())]


@dataclass(frozen=True)
class Failure:
    run_id: str
    at: str
    message: str
    location: str | None


def network_view(
    records: list[dict[str, Any]],
    kinds: dict[str, str],
    release_times: dict[str, str],
    failures: dict[str, Failure],
    counts: Iterable[DailyCount],
    now: datetime | None = None,
) -> dict[str, Any]:
    """The whole network as a tree with totals rolled up, plus a series per level.

    `records` are the state's nation records, `kinds` each nation's kind (from the
    spec; missing ones are guessed from the blueprint), `release_times` when each live
    release was made, `failures` each nation's most recent failure.
    """
    now = now or datetime.now(UTC)
    today = now.date()
    nodes = {r["slug"]: _node(r, kinds, release_times, failures, now) for r in records}
    per_day: dict[tuple[str, date], int] = defaultdict(int)
    for item in counts:
        measure = COUNTED.get(item.kind)
        node = nodes.get(item.nation)
        if measure is None or node is None:
            continue  # a nation removed from the network, or a kind the view does not count
        node["own"][measure]["total"] += item.count
        if (today - item.day).days < RECENT_DAYS:
            node["own"][measure]["last7"] += item.count
        per_day[(item.nation, item.day)] += item.count
    roots = _link_tree(nodes)
    for root in roots:
        _roll_up(nodes, root)
    return {
        "generated_at": now.isoformat(timespec="seconds"),
        "roots": roots,
        "nations": nodes,
        "totals": _sum([nodes[r]["total"] for r in roots]),
        "levels": _level_series(nodes, per_day, today),
        "count": len(nodes),
    }


def _node(
    record: dict[str, Any],
    kinds: dict[str, str],
    release_times: dict[str, str],
    failures: dict[str, Failure],
    now: datetime,
) -> dict[str, Any]:
    slug = record["slug"]
    released = release_times.get(slug)
    failure = failures.get(slug)
    return {
        "slug": slug,
        "name": record.get("name") or slug,
        "kind": kinds.get(slug)
        or ("candidate" if record.get("blueprint") == "candidate" else "section"),
        "parent": record.get("parent"),
        "children": [],
        "status": record["status"],
        "url": record.get("url") or "",
        "live_release": record.get("live_release"),
        "released_at": released,
        "age_s": _age(released, now),
        "failure": failure.__dict__ if failure else None,
        "own": _zero(),
        "total": _zero(),
    }


def _guess_kind(record: dict[str, Any]) -> str:
    """Without the spec: the candidate blueprint makes candidates, the rest sections."""
    return "candidate" if record.get("blueprint") == "candidate" else "section"


def _zero() -> dict[str, dict[str, int]]:
    return {measure: {"total": 0, "last7": 0} for measure in MEASURES}


def _age(when: str | None, now: datetime) -> float | None:
    if not when:
        return None
    return max(0.0, (now - datetime.fromisoformat(when)).total_seconds())


def _link_tree(nodes: dict[str, dict[str, Any]]) -> list[str]:
    """Children lists, sorted by name; nations whose parent is unknown become roots."""
    roots = []
    for slug, node in sorted(nodes.items(), key=lambda item: (item[1]["name"], item[0])):
        parent = node["parent"]
        if parent in nodes and parent != slug:
            nodes[parent]["children"].append(slug)
        else:
            roots.append(slug)
    return roots


def _roll_up(nodes: dict[str, dict[str, Any]], slug: str) -> dict[str, dict[str, int]]:
    """A nation's total: its own counts plus its children's totals (iterative: deep trees)."""
    order, stack = [], [slug]
    while stack:
        current = stack.pop()
        order.append(current)
        stack.extend(nodes[current]["children"])
    for current in reversed(order):  # children before parents
        node = nodes[current]
        node["total"] = _sum([node["own"], *(nodes[c]["total"] for c in node["children"])])
    return nodes[slug]["total"]


def _sum(parts: list[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    total = _zero()
    for part in parts:
        for measure in MEASURES:
            for span in ("total", "last7"):
                total[measure][span] += part[measure][span]
    return total


def _level_series(
    nodes: dict[str, dict[str, Any]], per_day: dict[tuple[str, date], int], today: date
) -> list[dict[str, Any]]:
    """Per level (kind), the nations' own sign-ups of every kind per day, last 30 days."""
    days = [today - timedelta(days=offset) for offset in range(CHART_DAYS - 1, -1, -1)]
    index = {day: i for i, day in enumerate(days)}
    series = {level: [0] * CHART_DAYS for level in LEVELS}
    for (slug, day), count in per_day.items():
        level = nodes[slug]["kind"]
        if day in index and level in series:
            series[level][index[day]] += count
    present = {node["kind"] for node in nodes.values()}
    return [
        {
            "level": level,
            "nations": sum(1 for n in nodes.values() if n["kind"] == level),
            "days": [d.isoformat() for d in days],
            "counts": series[level],
        }
        for level in LEVELS
        if level in present
    ]


def view_from_state(
    state: Any, kinds: dict[str, str], intake: IntakeCounts, now: datetime | None = None
) -> dict[str, Any]:
    """The network view of what `state` (a `State`) remembers, with `intake`'s counts."""
    failures = {
        slug: Failure(run_id, at, str(error.get("message", "")), error.get("location"))
        for slug, (run_id, at, error) in state.last_failures().items()
    }
    records = state.nation_records()
    return network_view(records, kinds, state.live_release_times(), failures, intake.daily(), now)
