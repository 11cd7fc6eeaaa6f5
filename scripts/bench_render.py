"""The "render only" floor (not a test): every file of every nation, one process, no I/O.

Builds each nation of a spec with the real `Builder` (the render plan, the sandbox, the
budgets, the candidate rules), serially, without supporters and without publishing:
what is left is the cost of turning templates into files, the floor under any deploy.
`scripts/bench.py` imports `measure_render_only` and prints a deploy's ratio to it.

    .venv/bin/python scripts/bench_render.py [--spec nations.yaml] [--repeat 3] [--profile]

Prints files, seconds and ms per file, CPU time (process time) and wall time; a machine
shared with other work makes the wall time unreliable, the CPU time less so.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from provisioner.render.build import Builder  # noqa: E402
from provisioner.run.deploy import Project, load, make_builder  # noqa: E402


def _builder(spec: Path) -> Builder:
    project = Project(spec=spec)  # no supporters, no intake: public files and emails only
    return make_builder(project, load(project))


def render_all(builder: Builder) -> int:
    """Build every nation once (fresh `Builder`, so templates compile as in a deploy);
    the number of files made. A failing nation fails the benchmark: the floor of a
    network that does not build means nothing."""
    files = 0
    for nation in builder.network:
        build = builder.build(nation, fingerprint="bench", with_private=False)
        files += sum(len(area) for area in build.files.values())
    return files


def measure_once(spec: Path) -> dict[str, Any]:
    """One cold pass: a new Builder (compiling every template) and every nation built."""
    wall, cpu = time.perf_counter(), time.process_time()
    files = render_all(_builder(spec))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"files": files, "seconds": cpu, "wall_s": wall, "ms_per_file": 1000 * cpu / files}


def measure_render_only(spec: Path, repeat: int = 3) -> dict[str, Any]:
    """The median over `repeat` cold passes of the render-only scenario.

    `seconds` and `ms_per_file` are CPU time of this process (the build is serial, so
    CPU time is the time it would take on an idle core); `wall_s` is kept beside them.
    """
    runs = [measure_once(spec) for _ in range(max(1, repeat))]
    files = {run["files"] for run in runs}
    if len(files) != 1:
        raise RuntimeError(f"the number of files changed between runs: {sorted(files)}")
    seconds = statistics.median(run["seconds"] for run in runs)
    return {
        "files": files.pop(),
        "nations": len(_builder(spec).network.nations),
        "seconds": seconds,
        "wall_s": statistics.median(run["wall_s"] for run in runs),
        "ms_per_file": statistics.median(run["ms_per_file"] for run in runs),
        "runs": runs,
    }


def _profile(spec: Path, out: Path | None) -> None:
    builder = _builder(spec)
    profiler = cProfile.Profile()
    profiler.enable()
    render_all(builder)
    profiler.disable()
    if out is not None:
        profiler.dump_stats(str(out))
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=REPO / "nations.yaml")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one pass instead")
    parser.add_argument("--profile-out", type=Path, help="also write the profile here")
    args = parser.parse_args()
    if args.profile:
        _profile(args.spec, args.profile_out)
        return
    result = measure_render_only(args.spec, args.repeat)
    print(
        f"render only: {result['nations']} nations, {result['files']} files, "
        f"{result['seconds']:.2f} s CPU ({result['wall_s']:.2f} s wall), "
        f"{result['ms_per_file']:.3f} ms per file (median of {len(result['runs'])})"
    )


if __name__ == "__main__":
    main()
