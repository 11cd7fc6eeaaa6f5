"""Check that two deploys published the same bytes (not a test): render changes that
must keep outputs byte-identical are checked with it.

    # a deploy of the code before the change, and one after, into two folders
    git archive <before> | tar -x -C /tmp/before
    (cd /tmp/before && python -m provisioner deploy --no-supporters --out /tmp/out-before)
    python -m provisioner deploy --no-supporters --out /tmp/out-after
    python scripts/same_output.py /tmp/out-before /tmp/out-after

Compares every live file of `sites/` and `emails/` (through each nation's link to its
release; the release folders themselves are named by time), and with `--private` the
supporter lists too (only paths are printed, never their content), then exits 1 on the
first difference listed, 0 when both trees hold the same files with the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

AREAS = ("sites", "emails")
PRIVATE = "private"


def live_files(out: Path, areas: tuple[str, ...] = AREAS) -> dict[str, str]:
    """`area/slug/path` -> sha256 of every published file, releases left out."""
    digests = {}
    for area in areas:
        root = out / area
        for nation in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
            for path in sorted(p for p in nation.rglob("*") if p.is_file()):
                name = f"{area}/{nation.name}/{path.relative_to(nation).as_posix()}"
                digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def differences(before: dict[str, str], after: dict[str, str]) -> list[str]:
    lines = [f"only before: {name}" for name in sorted(before.keys() - after.keys())]
    lines += [f"only after: {name}" for name in sorted(after.keys() - before.keys())]
    lines += [
        f"differs: {n}" for n in sorted(before.keys() & after.keys()) if before[n] != after[n]
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--private", action="store_true", help="compare the lists too")
    args = parser.parse_args()
    areas = (*AREAS, PRIVATE) if args.private else AREAS
    before, after = live_files(args.before, areas), live_files(args.after, areas)
    found = differences(before, after)
    for line in found[:50]:
        print(line)
    if found:
        print(f"{len(found)} differences", file=sys.stderr)
        sys.exit(1)
    print(f"same output: {len(after)} files in {', '.join(areas)}")


if __name__ == "__main__":
    main()
