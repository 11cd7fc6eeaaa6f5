"""Benchmark the provisioner end to end (not a test): `make bench`.

Runs the real CLI in child processes, each scenario at least three times, and keeps the
median wall time, the median CPU time (user + sys of the CLI and its build workers) and
the peak memory (PSS of that process tree, sampled every 50 ms). Scenarios: the sample
network (cold deploy, no-op redeploy, one nation's override changed, a blueprint change
to the shared stylesheet, whose pages are reused, and to the shared layout, which
renders every page again),
the render-only floor (`scripts/bench_render.py`: every file, one process, no I/O),
ingestion and segmentation of 1,000,000 supporters (`scripts/bench_ingest.py`), a
generated network of 10,000 nations with those supporters, and the sample network
published to S3 and SES (`scripts/bench_s3.py`, moto on loopback).

Prints the machine, a markdown table the README takes as is, the cold deploy's ratio to
the render-only floor and its cost per file, and whether each target (issue 18; the S3
ones from issue 16) was met; writes it all to bench-results/bench.json. On a machine
shared with other work, wall times are not reliable and CPU times are the figures to
compare. Pick scenarios with `--scenario sample|render|ingest|scale|s3` (repeatable), e.g.
`make bench ARGS='--scenario sample --runs 5'`.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil
from bench_ingest import measure_ingest
from bench_s3 import s3_scenarios, s3_verdicts

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SCENARIOS = ("sample", "render", "ingest", "scale", "s3")
TARGETS = {  # issue 18: seconds, ms per file, MB of PSS; issue 16: the S3 path
    "sample_cold_s": 5.0,
    "sample_blueprint_change_s": 2.0,  # the shared stylesheet: assets copied anew
    "sample_template_change_s": 2.0,  # the shared layout: every page rendered again
    "sample_noop_s": 0.3,
    "sample_one_override_s": 0.5,
    "render_only_ms_per_file": 0.15,
    "scale_10000_s": 60.0,
    "scale_10000_pss_mb": 1536.0,
    "s3_first_deploy_s": 120.0,
    "s3_first_deploy_ses_templates": 50,
    "s3_email_change_s": 60.0,
    "s3_noop_writes": 0,
    "ingest_rows_per_s": 500_000,  # at least: the one target above its value, not below
}
AT_LEAST = {"ingest_rows_per_s"}
COLD, NOOP, OVERRIDE, BLUEPRINT, TEMPLATE = (
    "sample cold deploy",
    "sample no-op redeploy",
    "sample one override changed",
    "sample blueprint change (stylesheet)",
    "sample blueprint change (layout)",
)
LAYOUT = Path("blueprints/_base/templates/layout.html.j2")
RENDER_ONLY = "render only (sample)"
INGEST = "ingest + segment, 1,000,000 rows"
OVERRIDE_FILE = Path("nations/marie-dubois/overrides/pages/home.html.j2")
LEAD = re.compile(r'<p(?: data-bench="\d+")? class="lead"')  # her intro's first paragraph


@dataclass
class Measure:
    """One scenario: the median of its runs (the runs themselves in `runs`)."""

    name: str
    nations: int
    wall_s: float
    cpu_s: float
    pss_mb: float
    deployed: int
    unchanged: int
    failed: int
    requests: dict[str, dict[str, int]] | None = None  # per API, for the S3 scenarios
    runs: list[dict[str, float]] = field(default_factory=list)
    rows_per_s: float | None = None  # the ingest scenario's median rate

    @property
    def per_nation_ms(self) -> float:
        return 1000 * self.wall_s / max(1, self.nations)


def tree_memory_mb(proc: psutil.Process) -> float:
    """Memory of a process and its build workers: PSS, so shared pages count once."""
    total = 0
    for member in [proc, *proc.children(recursive=True)]:
        try:
            total += member.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total / 2**20


class PeakMemory:
    """The peak PSS of a process tree, sampled every 50 ms in a thread of its own.

    Sampling in the thread that waits for the child would end the wall time at the next
    poll (up to 50 ms late, a tenth of a one-override run)."""

    def __init__(self, pid: int):
        self.peak, self._done = 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(psutil.Process(pid),))
        self._thread.start()

    def _sample(self, watched: psutil.Process) -> None:
        while not self._done.is_set():
            try:
                self.peak = max(self.peak, tree_memory_mb(watched))
            except psutil.NoSuchProcess:
                return
            self._done.wait(0.05)

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return self.peak


def children_cpu_s() -> float:
    """User + sys time of every finished child (and the children they waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cli(name: str, args: list[str], out: Path, env: dict[str, str] | None = None) -> Measure:
    """Run `provisioner ARGS` once in a child: wall, CPU and peak PSS of its process tree."""
    cpu0, start = children_cpu_s(), time.perf_counter()
    proc = subprocess.Popen(
        [PYTHON, "-m", "provisioner", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    sampler = PeakMemory(proc.pid)
    _, stderr = proc.communicate()  # the wall time ends when the child does, not at a poll
    wall, cpu = time.perf_counter() - start, children_cpu_s() - cpu0
    peak = sampler.stop()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{name}: provisioner exited {proc.returncode}\n{stderr.decode()[-2000:]}")
    summary = json.loads((out / "reports" / "latest.json").read_text())["summary"]
    run = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "pss_mb": round(peak, 1)}
    return Measure(
        name,
        summary["total"],
        run["wall_s"],
        run["cpu_s"],
        run["pss_mb"],
        summary["deployed"],
        summary["unchanged"],
        summary["failed"],
        runs=[run],
    )


def median_of(measures: list[Measure]) -> Measure:
    """One scenario's runs as one measure: median times, the highest peak memory."""
    last = measures[-1]
    return Measure(
        last.name,
        last.nations,
        round(statistics.median(m.wall_s for m in measures), 3),
        round(statistics.median(m.cpu_s for m in measures), 3),
        max(m.pss_mb for m in measures),
        last.deployed,
        last.unchanged,
        last.failed,
        last.requests,
        [run for m in measures for run in m.runs],
    )


def compile_package() -> None:
    """Write the package's bytecode first, as any normal run does: with
    PYTHONDONTWRITEBYTECODE set (as in some CI shells) every measured run would
    otherwise compile each module from source (~0.06 s per run)."""
    compileall.compile_dir(REPO / "provisioner", quiet=1)


def prepare_tree(work: Path, spec: Path | None = None) -> Path:
    """A throwaway copy of the inputs, so the benchmark never touches the repository;
    a tree left by an earlier run is discarded (see `discard`)."""
    if work.exists():
        discard(work)
    work.mkdir(parents=True)
    shutil.copytree(REPO / "blueprints", work / "blueprints")
    shutil.copytree(REPO / "nations", work / "nations")
    shutil.copy(spec or REPO / "nations.yaml", work / "nations.yaml")
    return work


def supporters(spec: Path, count: int, cache: Path) -> list[str]:
    """Generate (once, cached) `count` supporters for `spec`."""
    data = cache / f"supporters-{count}-{spec.stem}"
    if not (data / "supporters.csv").exists():
        subprocess.run(
            [
                PYTHON,
                "-m",
                "provisioner.supporters.generate",
                "--spec",
                str(spec),
                "--out",
                str(data),
                "--count",
                str(count),
            ],
            check=True,
        )
    return [
        "--supporters",
        str(data / "supporters.csv"),
        "--do-not-contact",
        str(data / "do-not-contact.csv"),
    ]


def sample_scenarios(work: Path, spec: Path, extra: list[str], runs: int) -> list[Measure]:
    """Cold (a fresh output each run), then no-op, one override, blueprint change."""
    tree = prepare_tree(work / "sample", spec)
    cold, outs = [], [tree / f"build-{run}" for run in range(runs)]
    for out in outs:
        cold.append(run_cli(COLD, deploy_args(tree, out, extra), out))
    out, args = outs[-1], deploy_args(tree, outs[-1], extra)
    measures = [median_of(cold), median_of([run_cli(NOOP, args, out) for _ in range(runs)])]
    override, overrides = tree / OVERRIDE_FILE, []
    # A visible change to one candidate's own page, new each run (when the spec has her).
    for run in range(runs if override.is_file() else 0):
        new = f'<p data-bench="{run}" class="lead"'
        text = LEAD.sub(new, override.read_text(encoding="utf-8"), count=1)
        override.write_text(text, encoding="utf-8")
        overrides.append(run_cli(OVERRIDE, args, out))
    measures += [median_of(overrides)] if overrides else []
    blueprint = []
    for run in range(runs):  # the shared stylesheet: every nation's output changes
        with (tree / "blueprints" / "_base" / "assets" / "style.css").open("a") as css:
            css.write(f"\n/* bench: blueprint change {run} */\n")
        blueprint.append(run_cli(BLUEPRINT, args, out))
    measures.append(median_of(blueprint))
    template = []
    for run in range(runs):  # the shared layout: every page of every nation changes
        layout = tree / LAYOUT
        text = re.sub(r"<!-- bench: \d+ -->", "", layout.read_text(encoding="utf-8"))
        layout.write_text(text.replace("<body", f"<!-- bench: {run} --><body", 1), "utf-8")
        template.append(run_cli(TEMPLATE, args, out))
    measures.append(median_of(template))
    for stale in outs[:-1]:
        discard(stale)
    return measures


TRASH = ".trash"


def discard(path: Path) -> None:
    """Move `path` into its work folder's trash (a rename: no inode is freed yet);
    `empty_trash` deletes it once every scenario is measured.

    Deleting a big output right before a cold run would measure the filesystem instead:
    on this VM's ext4 (no journal), creating an inode soon after many were deleted costs
    about 0.5 ms instead of 0.03 (the kernel skips recently deleted inodes one by one,
    `find_inode_bit` -> `recently_deleted`), 10 s of system time for one cold deploy.
    So each cold run has an output folder of its own and never follows a deletion.
    """
    trash = path.parent / TRASH
    trash.mkdir(exist_ok=True)
    path.rename(trash / f"{path.name}-{time.time_ns()}")


def empty_trash(work: Path) -> None:
    """Delete what `discard` kept, once no scenario is left to measure."""
    for trash in (work / TRASH, *work.glob(f"*/{TRASH}")):
        shutil.rmtree(trash, ignore_errors=True)


def deploy_args(tree: Path, out: Path, extra: list[str]) -> list[str]:
    """`deploy` of `tree`'s network into `out` (a folder of its own per cold run)."""
    return ["deploy", "-q", "--spec", str(tree / "nations.yaml"), "--out", str(out), *extra]


def render_scenario(spec: Path, runs: int) -> tuple[Measure | None, dict[str, Any] | None]:
    """The render-only floor from scripts/bench_render.py, when that script is there."""
    try:
        from bench_render import measure_render_only
    except ImportError as exc:
        print(f"render only: skipped, scripts/bench_render.py cannot be imported ({exc})")
        return None, None
    floor = measure_render_only(spec, repeat=runs)
    nations, seconds = floor["nations"], floor["seconds"]
    wall = floor.get("wall_s", seconds)
    # Serial, one process: its CPU time is what it would take on an idle core.
    return Measure(RENDER_ONLY, nations, wall, seconds, 0.0, 0, 0, 0), floor


def ingest_scenario(sample_extra: list[str], runs: int) -> Measure:
    """Ingest + segment of the 1,000,000-row export (scripts/bench_ingest.py)."""
    data = Path(sample_extra[sample_extra.index("--supporters") + 1])
    found = measure_ingest(data, runs)
    return Measure(
        INGEST, found["nations"], found["wall_s"], found["cpu_s"], found["peak_rss_mb"], 0, 0, 0,
        runs=found["runs"], rows_per_s=found["rows_per_s"],
    )  # fmt: skip


def scale_scenarios(work: Path, sizes: list[int], extra: list[str], runs: int) -> list[Measure]:
    measures = []
    for size in sizes:
        spec = work / f"nations-{size}.yaml"
        subprocess.run(
            [
                PYTHON,
                str(REPO / "scripts" / "generate_network.py"),
                "--scale",
                str(size),
                "--out",
                str(spec),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        tree = prepare_tree(work / f"scale-{size}", spec)
        cold = []
        for run in range(runs):
            out = tree / f"build-{run}"
            cold.append(run_cli(f"{size} nations cold deploy", deploy_args(tree, out, extra), out))
        measures.append(median_of(cold))
        discard(tree)  # emptied at the end, not before the next size's cold runs
    return measures


def floor_figures(by_name: dict[str, Measure], floor: dict[str, Any] | None) -> dict[str, Any]:
    """The cold deploy beside the render-only floor: ratio and cost per file."""
    cold = by_name.get(COLD)
    if cold is None or floor is None or not floor.get("files"):
        return {}
    files = floor["files"]
    return {
        "files": files,
        "render_only_s": floor["seconds"],
        "render_only_ms_per_file": round(floor["ms_per_file"], 4),
        "cold_wall_to_floor": round(cold.wall_s / floor["seconds"], 2),
        "cold_cpu_to_floor": round(cold.cpu_s / floor["seconds"], 2),
        "cold_wall_ms_per_file": round(1000 * cold.wall_s / files, 4),
        "cold_cpu_ms_per_file": round(1000 * cold.cpu_s / files, 4),
    }


def verdicts(by_name: dict[str, Measure], floor: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, float] = s3_verdicts(by_name)
    for key, name in (
        ("sample_cold_s", COLD),
        ("sample_noop_s", NOOP),
        ("sample_one_override_s", OVERRIDE),
        ("sample_blueprint_change_s", BLUEPRINT),
        ("sample_template_change_s", TEMPLATE),
    ):
        if name in by_name:
            found[key] = by_name[name].wall_s
    if "render_only_ms_per_file" in floor:
        found["render_only_ms_per_file"] = floor["render_only_ms_per_file"]
    if INGEST in by_name:
        found["ingest_rows_per_s"] = by_name[INGEST].rows_per_s or 0.0
    big = by_name.get("10000 nations cold deploy")
    if big:
        found["scale_10000_s"] = big.wall_s
        found["scale_10000_pss_mb"] = big.pss_mb
    return {k: {"value": v, "target": TARGETS[k], "met": _met(k, v)} for k, v in found.items()}


def _met(key: str, value: float) -> bool:
    return value >= TARGETS[key] if key in AT_LEAST else value <= TARGETS[key]


def machine() -> dict[str, Any]:
    """What the figures were measured on, and how busy it was."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def markdown_table(measures: list[Measure], checks: dict[str, dict[str, Any]]) -> list[str]:
    """The README's benchmark table: one row per scenario, its target and verdict."""
    target_of = {
        COLD: "sample_cold_s",
        NOOP: "sample_noop_s",
        OVERRIDE: "sample_one_override_s",
        BLUEPRINT: "sample_blueprint_change_s",
        TEMPLATE: "sample_template_change_s",
        RENDER_ONLY: "render_only_ms_per_file",
        INGEST: "ingest_rows_per_s",
        "10000 nations cold deploy": "scale_10000_s",
        "s3 first deploy": "s3_first_deploy_s",
        "s3 email change": "s3_email_change_s",
    }
    lines = [
        "| scenario | nations | wall (median) | CPU (median) | peak PSS | target |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for m in measures:
        check = checks.get(target_of.get(m.name, ""))
        verdict = _verdict(m.name, check) if check else ""
        if m.name == "10000 nations cold deploy" and "scale_10000_pss_mb" in checks:
            memory = checks["scale_10000_pss_mb"]
            verdict += f"; ≤ {memory['target']:.0f} MB: {'met' if memory['met'] else '**missed**'}"
        pss = f"{m.pss_mb:,.0f} MB" if m.pss_mb else ""
        lines.append(
            f"| {m.name} | {m.nations:,} | {m.wall_s:.2f} s | {m.cpu_s:.2f} s | {pss} | {verdict} |"
        )
    return lines


def _verdict(name: str, check: dict[str, Any]) -> str:
    """'≤ 5.0 s: met', or with the value when it is not the row's wall time."""
    met = "met" if check["met"] else "**missed**"
    if name == INGEST:
        return f"≥ {check['target']:,} rows/s: {met} ({check['value']:,.0f} rows/s)"
    if name == RENDER_ONLY:
        return f"≤ {check['target']} ms/file: {met} ({check['value']} ms/file)"
    return f"≤ {check['target']} s: {met}"


def report(
    measures: list[Measure], checks: dict[str, dict[str, Any]], floor: dict[str, Any]
) -> None:
    host = machine()
    print(
        f"machine: {host['cpu']}, {host['cores']} cores, {host['ram_gb']} GB, "
        f"Python {host['python']}, load average {host['load_average']}"
    )
    print()
    print("\n".join(markdown_table(measures, checks)))
    if floor:
        print(
            f"\ncold deploy vs render-only floor ({floor['files']:,} files): "
            f"{floor['cold_wall_to_floor']}x wall, {floor['cold_cpu_to_floor']}x CPU; "
            f"{floor['cold_wall_ms_per_file']} ms wall and {floor['cold_cpu_ms_per_file']} ms "
            f"CPU per file (floor: {floor['render_only_ms_per_file']} ms per file)"
        )
    for m in measures:
        for api, counts in (m.requests or {}).items():
            print(f"{m.name}: {api} requests: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print()
    for key, check in checks.items():
        print(
            f"{'MET ' if check['met'] else 'MISS'} {key}: {check['value']}"
            f" (target {'>=' if key in AT_LEAST else '<='} {check['target']})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/provisioner-bench"))
    parser.add_argument(
        "--spec", type=Path, default=REPO / "nations.yaml", help="the sample network"
    )
    parser.add_argument("--results", type=Path, default=REPO / "bench-results")
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario (median)")
    parser.add_argument("--sizes", default="10000", help="generated networks, comma-separated")
    parser.add_argument("--supporters", type=int, default=1_000_000)
    parser.add_argument("--sample-supporters", type=int, default=200_000)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument(
        "--scenario", action="append", choices=SCENARIOS, help="run only these (repeatable)"
    )
    args = parser.parse_args()
    runs = max(1, args.runs)
    chosen = set(args.scenario or SCENARIOS) - ({"scale"} if args.skip_scale else set())
    args.work.mkdir(parents=True, exist_ok=True)
    compile_package()
    spec = args.spec.resolve()
    sample_extra = supporters(spec, args.sample_supporters, args.work)
    measures = sample_scenarios(args.work, spec, sample_extra, runs) if "sample" in chosen else []
    render, floor_run = render_scenario(spec, runs) if "render" in chosen else (None, None)
    measures += [render] if render else []
    if "s3" in chosen:
        measures += s3_scenarios(args.work, sample_extra)
    if "ingest" in chosen or "scale" in chosen:
        scale_extra = supporters(REPO / "nations.yaml", args.supporters, args.work)
    if "ingest" in chosen:
        measures.append(ingest_scenario(scale_extra, runs))
    if "scale" in chosen:
        sizes = [int(s) for s in args.sizes.split(",")]
        measures += scale_scenarios(args.work, sizes, scale_extra, runs)
    empty_trash(args.work)
    by_name = {m.name: m for m in measures}
    floor = floor_figures(by_name, floor_run)
    checks = verdicts(by_name, floor)
    report(measures, checks, floor)
    args.results.mkdir(parents=True, exist_ok=True)
    result = {
        "machine": machine(),
        "runs_per_scenario": runs,
        "measures": [asdict(m) | {"per_nation_ms": m.per_nation_ms} for m in measures],
        "render_floor": floor,
        "targets": checks,
        "markdown": markdown_table(measures, checks),
    }
    (args.results / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten: {args.results / 'bench.json'}")
    return 0 if all(c["met"] for c in checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
