"""`make bench`'s ingest scenario (not a test): `bench_supporters.py` over the same export,
each run in a fresh process, and the median of its "ingest + segment" figures."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# "ingest + segment:   1.99 s, 502,485 rows/s, 2.71 s CPU" and "peak RSS:   677 MB (...)"
SECONDS = re.compile(r"^ingest \+ segment:\s+([\d.]+) s, ([\d,]+) rows/s, ([\d.]+) s CPU", re.M)
PEAK = re.compile(r"^peak RSS:\s+([\d,]+) MB", re.M)
NATIONS = re.compile(r"^nations:\s+([\d,]+)", re.M)


def measure_ingest(data: Path, runs: int) -> dict[str, Any]:
    """Median wall and CPU seconds and rows/s of ingest + segment; the highest peak RSS."""
    found = [_one_run(data) for _ in range(max(1, runs))]
    return {
        "wall_s": statistics.median(run["wall_s"] for run in found),
        "cpu_s": statistics.median(run["cpu_s"] for run in found),
        "rows_per_s": statistics.median(run["rows_per_s"] for run in found),
        "peak_rss_mb": max(run["peak_rss_mb"] for run in found),
        "nations": int(found[-1]["nations"]),
        "runs": found,
    }


def _one_run(data: Path) -> dict[str, float]:
    command = [sys.executable, str(HERE / "bench_supporters.py"), "--data", str(data)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    timed, peak, nations = SECONDS.search(output), PEAK.search(output), NATIONS.search(output)
    if timed is None or peak is None or nations is None:
        raise SystemExit(f"bench_supporters.py printed no figures:\n{output}")
    return {
        "wall_s": float(timed[1]),
        "rows_per_s": float(timed[2].replace(",", "")),
        "cpu_s": float(timed[3]),
        "peak_rss_mb": float(peak[1].replace(",", "")),
        "nations": float(nations[1].replace(",", "")),
    }
