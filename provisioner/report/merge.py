"""Merge the reports of shards (`deploy --shard I/N` on N machines) into one run report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from provisioner.errors import InputError
from provisioner.run.engine import STATUSES


def merge_reports(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One report covering every shard: nations concatenated, counts and times combined."""
    if not reports:
        raise InputError("report --merge: give at least one report file")
    nations = [nation for report in reports for nation in report["nations"]]
    slugs = [n["slug"] for n in nations]
    duplicates = sorted({s for s in slugs if slugs.count(s) > 1})
    if duplicates:
        raise InputError(
            f"report --merge: nations in several shards: {', '.join(duplicates[:5])}; "
            "merge the reports of one deploy with disjoint shards"
        )
    started = min(r["started_at"] for r in reports)
    finished = max(r["finished_at"] for r in reports)
    duration = max(r["duration_s"] for r in reports)  # shards run side by side
    summary = {status: sum(r["summary"][status] for r in reports) for status in STATUSES}
    summary["total"] = len(nations)
    return {
        **reports[0],
        "run_id": "merged-" + "+".join(sorted(r["run_id"] for r in reports)),
        "started_at": started,
        "finished_at": finished,
        "duration_s": duration,
        "nations_per_s": round(len(nations) / duration, 1) if duration else None,
        "summary": summary,
        "shard": None,
        "merged_from": [r["run_id"] for r in reports],
        "nations": sorted(nations, key=lambda n: n["slug"]),
    }
