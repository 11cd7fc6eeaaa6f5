"""Benchmark (not a test): ingest and segment generated supporters into the network.

    .venv/bin/python scripts/bench_supporters.py                 # 1,000,000 supporters
    .venv/bin/python scripts/bench_supporters.py --count 200000 --exports

Generates the supporters once into the system temp directory (reused by later runs)
unless --data names an existing export, builds the postcode index from nations.yaml
(a small built-in tree when the file is absent), then times read_supporters + segment
and prints rows/s, CPU seconds, peak RSS and the ingest time as a multiple of Python's
csv.reader alone over the same file (a reference for the machine's speed that hour).
Targets: at least 200,000 rows/s ingested at 200,000 rows (issue 15); at least 500,000
rows/s at 1,000,000 rows (issue 18), with memory that depends on rows and tree depth,
not on the number of nations. With --exports it also times encoding every row once
(`NetworkLists`) and composing every nation's files from those lines, and prints the
CPU time of each step and the load average, since wall time on a shared machine is not
a measure.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from provisioner import geo
from provisioner.supporters import (
    DIALERS,
    SEGMENTS,
    Geography,
    Ledger,
    Segmentation,
    build_index,
    load_geography,
    read_ledger,
    read_supporters,
    segment,
)
from provisioner.supporters.encoded import NetworkLists
from provisioner.supporters.generate import generate

# Used when nations.yaml is absent: hq > 2 regions > 2 provinces each > a few sections.
_SMALL_TREE = {
    "hq": (None, "fr", ()),
    "wallonie": ("hq", "fr", ()),
    "vlaanderen": ("hq", "nl", ()),
    "liege": ("wallonie", "fr", ("4000", "4020", "4030")),
    "namur": ("wallonie", "fr", ("5000", "5002")),
    "antwerpen": ("vlaanderen", "nl", ("2000", "2018", "2020")),
    "gent": ("vlaanderen", "nl", ("9000", "9030", "9040")),
    "liege-centre": ("liege", "fr", ("4000",)),
    "gent-centrum": ("gent", "nl", ("9000",)),
}


def main() -> int:
    args = _arguments()
    geography = _geography(args.spec)
    data = args.data or _generated(geography, args.count, args.seed)
    country = geo.load_geography(geography.country)  # postcode format, phones, shared postcodes
    index = build_index(geography.owners, geography.parents, geography=country)

    csv_only = _csv_only_seconds(data)  # machine-speed reference; also warms the page cache
    imported = _import_seconds()  # once per process, shown apart from the rate
    baseline_rss = _peak_rss_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    ingestion = read_supporters(data, country)
    ingested = time.perf_counter()
    segmentation = segment(ingestion.rows, index)
    finished, cpu = time.perf_counter(), time.process_time() - cpu_started

    rows = ingestion.total
    references = sum(map(len, segmentation.buckets.values()))
    quarantined, unassigned = len(ingestion.quarantined), segmentation.unassigned
    _show("supporters file", str(data))
    _show("nations", f"{len(index.slugs)} ({len(index.chains)} postcodes indexed)")
    _show("rows", f"{rows:,} ({quarantined:,} quarantined, {unassigned:,} unassigned)")
    _show("csv.reader alone", _rate(rows, csv_only) + " (reference: the C parser, no checks)")
    _show("import pyarrow", f"{imported:.2f} s (once per process, not in the rates below)")
    _show("ingest", _rate(rows, ingested - started))
    # A shared host's speed changes from hour to hour: this shows the rate against it.
    _show("ingest / csv.reader", f"{(ingested - started) / csv_only:.2f} times the C parser alone")
    _show("segment", _rate(rows, finished - ingested))
    _show("ingest + segment", f"{_rate(rows, finished - started)}, {cpu:.2f} s CPU")
    _show("by CPU time", f"{rows / cpu if cpu else 0:,.0f} rows/s")
    _show("load average", " ".join(f"{x:.1f}" for x in os.getloadavg()) + " (2 cores)")
    _show("target", ">= 500,000 rows/s for ingest + segment at 1,000,000 rows")
    _show("row references", f"{references:,}: one per row, whatever the number of nations")
    _show("peak RSS", f"{_peak_rss_mb():,.0f} MB (before ingest: {baseline_rss:,.0f} MB)")
    if args.exports:
        ledger = read_ledger(data.with_name("do-not-contact.csv"), geography.country)
        _bench_exports(segmentation, ledger)
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--spec", type=Path, default=Path("nations.yaml"))
    parser.add_argument("--data", type=Path, help="an existing supporters.csv to read instead")
    parser.add_argument("--exports", action="store_true", help="also time every nation's exports")
    return parser.parse_args()


def _geography(spec: Path) -> Geography:
    if spec.exists():
        return load_geography(spec)
    print(f"{spec} not found: using a small built-in tree", file=sys.stderr)
    return Geography(
        owners={slug: postcodes for slug, (_, _, postcodes) in _SMALL_TREE.items()},
        parents={slug: parent for slug, (parent, _, _) in _SMALL_TREE.items()},
        languages={p: lang for _, lang, postcodes in _SMALL_TREE.values() for p in postcodes},
    )


def _generated(geography: Geography, count: int, seed: int) -> Path:
    """Generate once per (count, seed, geography) into the temp dir and reuse it."""
    postcodes = geography.postcode_languages()
    key = hashlib.sha256(repr((count, seed, postcodes, 2)).encode()).hexdigest()[:12]
    directory = Path(tempfile.gettempdir()) / "provisioner-bench" / key
    path = directory / "supporters.csv"
    if not path.exists():
        started = time.perf_counter()
        generate(directory, postcodes, count=count, seed=seed, country=geography.country)
        print(f"generated {count:,} supporters in {time.perf_counter() - started:.1f} s")
    return path


def _bench_exports(segmentation: Segmentation, ledger: Ledger) -> None:
    """Encode every row once, then compose every nation's files from those lines."""
    started, cpu_started = time.perf_counter(), time.process_time()
    lists = NetworkLists(segmentation, ledger)
    encoded, cpu_encoded = time.perf_counter(), time.process_time()
    written = rows = 0
    slugs = segmentation.index.slugs
    for slug in slugs:
        exports = lists.exports(slug, [], list(SEGMENTS), list(DIALERS))
        written += sum(len(data) for data in exports.files.values())
        rows += exports.counts["supporters"]
    finished, cpu_finished = time.perf_counter(), time.process_time()
    _show("encode once", f"{encoded - started:.2f} s, {cpu_encoded - cpu_started:.2f} s CPU")
    _show("exports", f"{len(slugs)} nations, {rows:,} nation rows, {written / 1e6:,.0f} MB")
    _show("compose", f"{_rate(rows, finished - encoded)}, {cpu_finished - cpu_encoded:.2f} s CPU")
    _show("peak RSS", f"{_peak_rss_mb():,.0f} MB (after exports)")


def _show(label: str, value: str) -> None:
    print(f"{label + ':':<20}{value}")


def _rate(rows: int, seconds: float) -> str:
    return f"{seconds:.2f} s, {rows / seconds if seconds else 0:,.0f} rows/s"


def _import_seconds() -> float:
    """The libraries ingestion imports on first use: Arrow, and langcodes and
    phonenumbers (imported lazily, so that a deploy that reads no rows never does)."""
    from provisioner.langtags import langcodes
    from provisioner.supporters.normalize import _phonenumbers

    started = time.perf_counter()
    import pyarrow.compute
    import pyarrow.csv  # noqa: F401

    langcodes()
    _phonenumbers()
    return time.perf_counter() - started


def _csv_only_seconds(path: Path) -> float:
    started = time.perf_counter()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for _ in csv.reader(handle):
            pass
    return time.perf_counter() - started


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    sys.exit(main())
