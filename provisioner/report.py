"""Run reports: the JSON document, the console recap and the HTML dashboard.

Reports describe what happened; they decide nothing. `build_report` is the single
source: the recap, the HTML and `latest.json` are all views of it.
"""

from __future__ import annotations

import html
import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from provisioner.engine import STATUSES, NationResult

SCHEMA_VERSION = 1


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
    summary = summarize(results)
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "command": command,
        "target": target,
        "started_at": started_at,
        "finished_at": finished_at,
        "duration_s": round(duration_s, 3),
        "nations_per_s": round(len(results) / duration_s, 1) if duration_s > 0 else None,
        "summary": summary,
        **(extra or {}),
        "nations": [r.as_dict() for r in results],
    }


def summarize(results: Sequence[NationResult]) -> dict[str, int]:
    counts = Counter(r.status for r in results)
    return {**{status: counts.get(status, 0) for status in STATUSES}, "total": len(results)}


def write_reports(report: dict[str, Any], reports_dir: Path) -> dict[str, Path]:
    """Write `<run_id>.json/.html` and atomically replace `latest.json/.html`."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    outputs = {
        "json": json.dumps(report, ensure_ascii=False, indent=2) + "\n",
        "html": render_html(report),
    }
    written = {}
    for ext, text in outputs.items():
        run_file = reports_dir / f"{report['run_id']}.{ext}"
        _atomic_write(run_file, text)
        _atomic_write(reports_dir / f"latest.{ext}", text)
        written[ext] = run_file
    return written


def _atomic_write(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def recap_lines(report: dict[str, Any], slowest: int = 5) -> list[str]:
    """Plain-text recap: counts, failures first with their reason, slowest, throughput."""
    summary = report["summary"]
    lines = [
        "RUN RECAP " + report["run_id"],
        "  "
        + "  ".join(f"{status}={summary[status]}" for status in STATUSES)
        + f"  total={summary['total']}",
    ]
    failed = [n for n in report["nations"] if n["status"] == "failed"]
    if failed:
        lines.append("FAILED")
        for nation in failed:
            error = nation["error"] or {}
            where = f" ({error['location']})" if error.get("location") else ""
            lines.append(f"  {nation['slug']}: {error.get('type')}: {error.get('message')}{where}")
    ran = sorted(report["nations"], key=lambda n: n["duration_s"], reverse=True)[:slowest]
    if ran and ran[0]["duration_s"] > 0:
        lines.append("SLOWEST")
        lines.extend(f"  {n['slug']}: {n['duration_s']:.2f}s" for n in ran)
    rate = report.get("nations_per_s")
    lines.append(f"done in {report['duration_s']:.2f}s ({rate} nations/s)")
    return lines


def render_html(report: dict[str, Any]) -> str:
    """A self-contained page (no external request), readable opened from disk."""
    rows = "\n".join(_row(n) for n in _failures_first(report["nations"]))
    counts = " ".join(f'<li class="{s}"><b>{report["summary"][s]}</b> {s}</li>' for s in STATUSES)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Run {html.escape(report["run_id"])}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3rem .6rem}}.failed{{color:#a00}}</style></head>
<body><h1>Run {html.escape(report["run_id"])}</h1>
<ul id="counts">{counts}</ul>
<table id="nations"><thead><tr><th>slug</th><th>status</th><th>duration (s)</th>
<th>error</th></tr></thead><tbody>
{rows}
</tbody></table></body></html>
"""


def _failures_first(nations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(nations, key=lambda n: (n["status"] != "failed", n["slug"]))


def _row(nation: dict[str, Any]) -> str:
    error = nation["error"]["message"] if nation["error"] else ""
    return (
        f'<tr class="{nation["status"]}"><td><a href="{html.escape(nation["url"])}">'
        f"{html.escape(nation['slug'])}</a></td><td>{nation['status']}</td>"
        f"<td>{nation['duration_s']:.3f}</td><td>{html.escape(error)}</td></tr>"
    )
