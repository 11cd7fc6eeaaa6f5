"""The console recap of a run, in the spirit of Ansible's PLAY RECAP.

Counts per status, failures first with their reason and `file:line`, the slowest
nations, then total time and throughput. Lines are `rich.text.Text` so the CLI can show
them in colour on a terminal and as plain text anywhere else; this module never prints.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rich.text import Text

from provisioner.run.engine import STATUSES

STATUS_STYLES = {
    "deployed": "green",
    "unchanged": "cyan",
    "failed": "bold red",
    "skipped": "yellow",
}
HEADING = "bold"
DIM = "dim"
SLUG_WIDTH_MAX = 32


def recap(report: dict[str, Any], slowest: int = 5, max_failures: int = 10) -> list[Text]:
    """The recap as styled lines; more than `max_failures` failures are grouped by reason."""
    lines = [*_counts(report), *_failures(report, max_failures), *_slowest(report, slowest)]
    lines += _supporters(report)
    lines.append(_throughput(report))
    return lines


def recap_lines(report: dict[str, Any], slowest: int = 5, max_failures: int = 10) -> list[str]:
    """The recap as plain text."""
    return [line.plain for line in recap(report, slowest, max_failures)]


def status_text(status: str, width: int = 0) -> Text:
    """A status word in its colour, padded to `width`."""
    return Text(status.ljust(width), style=STATUS_STYLES.get(status, ""))


def error_summary(error: dict[str, Any] | None) -> str:
    """`Type: first line of the message`: one line, whatever the message holds."""
    if not error:
        return ""
    message = str(error.get("message") or "").strip()
    first, _, rest = message.partition("\n")
    return f"{error.get('type')}: {first}{' ...' if rest else ''}"


def _counts(report: dict[str, Any]) -> list[Text]:
    summary = report["summary"]
    title = Text.assemble(("RUN RECAP ", HEADING), report["run_id"])
    title.append(f"  {report.get('command', 'deploy')} to {report['target']}", style=DIM)
    counts = Text("  ")
    for status in STATUSES:
        style = STATUS_STYLES[status] if summary[status] else DIM
        counts.append(f"{status}={summary[status]}", style=style)
        counts.append("  ")
    counts.append(f"total={summary['total']}")
    rebuilt = sum(1 for n in report["nations"] if n.get("rebuilt"))
    if rebuilt:  # inputs changed, output did not: worth knowing, nothing was published
        counts.append(f"  ({rebuilt} of the unchanged rebuilt with identical output)", style=DIM)
    return [title, counts]


def _failures(report: dict[str, Any], limit: int) -> list[Text]:
    failed = [n for n in report["nations"] if n["status"] == "failed"]
    if not failed:
        return []
    if len(failed) > limit:
        return _failures_by_reason(failed, limit)
    width = _slug_width(failed)
    lines = [Text(f"FAILED ({len(failed)})", style=STATUS_STYLES["failed"])]
    for nation in failed:
        line = Text(f"  {nation['slug'].ljust(width)}  ")
        line.append(error_summary(nation["error"]))
        location = (nation["error"] or {}).get("location")
        if location:
            line.append(f"  ({location})", style=DIM)
        lines.append(line)
    return lines


def _failures_by_reason(failed: list[dict[str, Any]], limit: int) -> list[Text]:
    """Hundreds of failures usually share a few causes: one line per cause, biggest first."""
    by_reason: dict[str, list[str]] = defaultdict(list)
    for nation in failed:
        by_reason[error_summary(nation["error"])].append(nation["slug"])
    reasons = sorted(by_reason.items(), key=lambda item: (-len(item[1]), item[0]))
    heading = f"FAILED ({len(failed)}, {len(reasons)} reason{'s' if len(reasons) > 1 else ''})"
    lines = [Text(heading, style=STATUS_STYLES["failed"])]
    for reason, slugs in reasons[:limit]:
        lines.append(Text(f"  {len(slugs):>4} x {reason}"))
        lines.append(Text(f"         {_some(slugs, 3)}", style=DIM))
    if len(reasons) > limit:
        lines.append(Text(f"  ... {len(reasons) - limit} more reasons in the report", style=DIM))
    return lines


def _some(slugs: list[str], shown: int) -> str:
    more = len(slugs) - shown
    return ", ".join(slugs[:shown]) + (f" and {more} more" if more > 0 else "")


def _slowest(report: dict[str, Any], count: int) -> list[Text]:
    ran = [n for n in report["nations"] if n["duration_s"] > 0]
    ran.sort(key=lambda n: n["duration_s"], reverse=True)
    if not ran or count <= 0:
        return []
    width = _slug_width(ran[:count])
    lines = [Text("SLOWEST", style=HEADING)]
    for nation in ran[:count]:
        line = Text(f"  {nation['slug'].ljust(width)}  {nation['duration_s']:6.2f}s  ")
        line.append_text(status_text(nation["status"]))
        lines.append(line)
    return lines


def _supporters(report: dict[str, Any]) -> list[Text]:
    """What the central export gave: imported, set aside (and where to read why), unassigned."""
    read = report.get("supporters") or {}
    if not read.get("loaded"):
        return []
    quarantined = read["quarantined"]
    line = Text(f"  {read['rows']:,} rows: {read['accepted']:,} imported, ")
    line.append(f"{quarantined:,} quarantined", style="yellow" if quarantined else "")
    if quarantined and read.get("quarantine_file"):
        line.append(f" ({read['quarantine_file']})", style=DIM)
    line.append(f", {read['unassigned']:,} unassigned (no nation covers their postcode)")
    if read.get("ambiguous"):  # postcodes shared by unrelated nations: their common ancestor
        line.append(f", {read['ambiguous']:,} ambiguous (given to the shared parent)")
    return [Text.assemble(("SUPPORTERS ", HEADING), read["file"]), line]


def _throughput(report: dict[str, Any]) -> Text:
    total, duration = report["summary"]["total"], report["duration_s"]
    rate = report.get("nations_per_s")
    per_second = f", {rate:.1f} nations/s" if rate else ""
    return Text(f"{total} nation{'s' if total != 1 else ''} in {duration:.2f}s{per_second}")


def _slug_width(nations: list[dict[str, Any]]) -> int:
    return min(SLUG_WIDTH_MAX, max(len(n["slug"]) for n in nations))
