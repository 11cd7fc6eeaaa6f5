"""What the state remembers, for ops: the last status of every nation and recent runs.

Backs `provisioner status` and `provisioner history`. Queries return plain data (also
what `--json` prints); the `*_table` functions turn it into aligned, coloured lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text

from provisioner.errors import InputError
from provisioner.report.recap import DIM, HEADING, STATUS_STYLES, error_summary, status_text
from provisioner.report.report import summarize
from provisioner.run.engine import STATUSES
from provisioner.run.state import State

if TYPE_CHECKING:
    from provisioner.targets.base import Target

# Failures first: the order ops read a status list in.
STATUS_RANK = {"failed": 0, "skipped": 1, "deployed": 2, "unchanged": 3}
Cell = str | Text


def open_state(out: Path) -> State:
    """The state of the output folder `out`; an InputError when nothing was deployed there."""
    path = out / "state.db"
    if not path.is_file():
        raise InputError(
            f"no state in {out}: nothing was deployed there yet; "
            f"run `provisioner deploy --out {out}` first"
        )
    return State(path)


def nation_status(
    state: State,
    statuses: Sequence[str] = (),
    parent: str | None = None,
    tag: str | None = None,
) -> list[dict[str, Any]]:
    """Last known outcome of every nation matching all filters, failures first.

    `parent` matches the direct parent, like the dashboard's parent filter.
    """
    chosen = [
        record
        for record in state.nation_records()
        if (not statuses or record["status"] in statuses)
        and (parent is None or record.get("parent") == parent)
        and (tag is None or tag in (record.get("tags") or []))
    ]
    return sorted(chosen, key=lambda r: (STATUS_RANK.get(r["status"], 9), r["slug"]))


def live_from(target: Target, nations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each nation's `live_release` as the target says it now, not as the state recorded.

    They differ after a rollback or a deploy made from another machine's state.
    """
    return [{**n, "live_release": target.current_release(n["slug"])} for n in nations]


def status_json(state: State, nations: list[dict[str, Any]]) -> dict[str, Any]:
    """The `status --json` document: counts of the listed nations, then the nations."""
    return {"state": str(state.path), "summary": summarize(nations), "nations": nations}


def status_table(nations: list[dict[str, Any]], known: int) -> list[Text]:
    """One line per nation, then how many of the `known` nations are listed."""
    headers = ["STATUS", "NATION", "PARENT", "BLUEPRINT", "LAST RUN", "TIME", "LIVE", "ERROR"]
    rows: list[list[Cell]] = [
        [
            status_text(n["status"]),
            n["slug"],
            n.get("parent") or "-",
            n.get("blueprint") or "-",
            n["run_id"],
            f"{n.get('duration_s', 0):.2f}s",
            n.get("live_release") or "-",
            error_summary(n.get("error")),
        ]
        for n in nations
    ]
    summary = summarize(nations)
    counts = "  ".join(f"{status}={summary[status]}" for status in STATUSES if summary[status])
    footer = Text(f"{len(nations)} of {known} nations", style=HEADING)
    if counts:
        footer.append(f"  {counts}")
    return [*table(headers, rows), footer]


def run_history(state: State, limit: int = 20) -> list[dict[str, Any]]:
    """The most recent runs, newest first, with their duration (None while unfinished)."""
    return [{**run, "duration_s": _duration(run)} for run in state.runs(limit)]


def history_table(runs: list[dict[str, Any]]) -> list[Text]:
    """One line per run: when, what, how long, and its counts per status."""
    headers = ["RUN", "COMMAND", "STARTED", "DURATION", *(s.upper() for s in STATUSES), "TOTAL"]
    rows: list[list[Cell]] = []
    for run in runs:
        summary = run["summary"]
        duration = run["duration_s"]
        rows.append(
            [
                run["run_id"],
                run["command"],
                _when(run["started_at"]),
                f"{duration:.2f}s" if duration is not None else Text("unfinished", style="yellow"),
                *(_count(summary, status) for status in STATUSES),
                str(summary.get("total", "-")),
            ]
        )
    if not rows:
        return [Text("no run recorded yet", style=DIM)]
    return table(headers, rows)


def table(headers: list[str], rows: list[list[Cell]]) -> list[Text]:
    """Left-aligned columns two spaces apart; the last column is never padded."""
    cells = [[Text(c) if isinstance(c, str) else c for c in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    lines = [_line([Text(h, style=HEADING) for h in headers], widths)]
    lines.extend(_line(row, widths) for row in cells)
    return lines


def _line(cells: list[Text], widths: list[int]) -> Text:
    line = Text()
    for i, cell in enumerate(cells):
        line.append_text(cell)
        if i < len(cells) - 1:
            line.append(" " * (widths[i] - len(cell) + 2))
    line.rstrip()
    return line


def _count(summary: dict[str, Any], status: str) -> Text:
    """A status count, coloured when not zero; "-" for runs that count other things."""
    if status not in summary:
        return Text("-", style=DIM)
    value = summary[status]
    return Text(str(value), style=STATUS_STYLES[status] if value else DIM)


def _duration(run: dict[str, Any]) -> float | None:
    if not run.get("finished_at"):
        return None
    started = datetime.fromisoformat(run["started_at"])
    return round((datetime.fromisoformat(run["finished_at"]) - started).total_seconds(), 3)


def _when(iso: str) -> str:
    """`2026-11-21 12:19:54`: second precision is what a reader of a history needs."""
    return iso[:19].replace("T", " ")
