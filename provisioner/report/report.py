"""Run reports: the JSON document every other view is made from, and writing it to disk.

Reports describe what happened; they decide nothing. `build_report` is the single
source: the console recap (`recap.py`), the HTML dashboard (`dashboard.py`), the JUnit
file (`junit.py`) and `latest.json` are all views of it. Its shape is the contract in
`schemas/report.schema.json`; bump `SCHEMA_VERSION` on any change that breaks readers.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from provisioner.errors import InputError
from provisioner.report.dashboard import render_dashboard
from provisioner.report.recap import recap_lines
from provisioner.run.engine import STATUSES, NationResult
from provisioner.run.state import State

SCHEMA_VERSION = 1

__all__ = [
    "SCHEMA_VERSION",
    "build_report",
    "recap_lines",
    "regenerate",
    "render_html",
    "report_json",
    "summarize",
    "write_reports",
]


def build_report(
    run_id: str,
    command: str,
    target: str,
    started_at: str,
    finished_at: str,
    duration_s: float,
    results: Sequence[NationResult],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The run report: metadata, counts per status and one entry per nation, in run order."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "command": command,
        "target": target,
        "started_at": started_at,
        "finished_at": finished_at,
        "duration_s": round(duration_s, 3),
        "nations_per_s": round(len(results) / duration_s, 1) if duration_s > 0 else None,
        "summary": summarize(results),
        **(extra or {}),
        "nations": [_nation_entry(r) for r in results],
    }


def summarize(results: Sequence[NationResult] | Sequence[dict[str, Any]]) -> dict[str, int]:
    """Count per status (every status present, zeros included) plus `total`."""
    counts = Counter(r["status"] if isinstance(r, dict) else r.status for r in results)
    return {**{status: counts.get(status, 0) for status in STATUSES}, "total": len(results)}


def _nation_entry(result: NationResult) -> dict[str, Any]:
    entry = result.as_dict()
    # Engine times carry sub-millisecond noise; three decimals keep reports diffable.
    for key in ("duration_s", "started_s", "finished_s"):
        entry[key] = round(entry[key], 3)
    return entry


def render_html(report: dict[str, Any], reports_dir: Path | None = None) -> str:
    """The self-contained HTML dashboard of `report` (see `dashboard.py`)."""
    return render_dashboard(report, reports_dir)


def write_reports(
    report: dict[str, Any], reports_dir: Path, latest: bool = True
) -> dict[str, Path]:
    """Write `<run_id>.json/.html`; with `latest`, also replace `latest.json/.html` atomically."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    outputs = {
        "json": report_json(report),
        "html": render_html(report, reports_dir),
    }
    written = {}
    for ext, text in outputs.items():
        run_file = reports_dir / f"{report['run_id']}.{ext}"
        _atomic_write(run_file, text)
        if latest:
            _atomic_write(reports_dir / f"latest.{ext}", text)
        written[ext] = run_file
    return written


def report_json(report: dict[str, Any]) -> str:
    """The report as JSON: metadata indented, then one nation per line.

    One line per nation keeps hundreds of nations a third of the size of fully indented
    JSON, and lets ops `grep '"failed"' latest.json` and diff two runs line by line.
    """
    head = {key: value for key, value in report.items() if key != "nations"}
    opening = json.dumps(head, ensure_ascii=False, indent=2)[:-1].rstrip()  # drop the "}"
    separator = ",\n" if head else "\n"
    nations = ",\n".join(f"    {json.dumps(n, ensure_ascii=False)}" for n in report["nations"])
    body = f'  "nations": [\n{nations}\n  ]' if nations else '  "nations": []'
    return f"{opening}{separator}{body}\n}}\n"


def regenerate(state: State, reports_dir: Path, run_id: str | None = None) -> dict[str, Any]:
    """Rewrite a past run's reports from the state (default: the last deploy).

    `latest.*` is only replaced when the run is the most recent deploy, so regenerating
    an old run never makes the dashboard lie about what is live.
    """
    last = state.last_run_id("deploy")
    if last is None:
        raise InputError(f"no deploy recorded in {state.path}; run `provisioner deploy` first")
    chosen = run_id or last
    report = state.run_report(chosen)
    if report is None or "nations" not in report:
        raise InputError(
            f"no deploy report for run {chosen!r} in {state.path}; "
            "`provisioner history` lists the runs"
        )
    write_reports(report, reports_dir, latest=chosen == last)
    return report


def _atomic_write(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)
