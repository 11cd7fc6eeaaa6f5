"""Benchmark the provisioner end to end (not a test): `make bench`.

Runs the real CLI in child processes and measures wall time and peak memory (PSS of
the CLI and its build workers, sampled every 50 ms), on the sample network and on
generated networks of 1,000, 4,000 and 10,000 nations with 1,000,000 supporters, and
the sample network published to S3 and SES (moto's server on loopback, behind a proxy
counting requests per API; SES at AWS's real 1 request/s through the tool's limiter).
Prints a table and writes bench-results/bench.json with every figure and whether each
target was met. Pick scenarios with `--scenario sample|scale|s3` (repeatable), e.g.
`make bench ARGS='--scenario s3'`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
from bench_s3 import s3_scenarios, s3_verdicts

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SCENARIOS = ("sample", "scale", "s3")
TARGETS = {  # issue 8: seconds, or MB for rss; issue 16: the S3 path
    "s3_first_deploy_s": 120.0,
    "s3_first_deploy_ses_templates": 50,
    "s3_email_change_s": 60.0,
    "s3_noop_writes": 0,
    "sample_cold_s": 10.0,
    "sample_noop_s": 1.0,
    "sample_one_change_s": 1.0,
    "scale_10000_s": 180.0,
    "scale_10000_rss_mb": 1536.0,
    "per_nation_growth_1000_to_10000": 1.3,
}


@dataclass
class Measure:
    name: str
    nations: int
    wall_s: float
    rss_mb: float
    deployed: int
    unchanged: int
    failed: int
    requests: dict[str, dict[str, int]] | None = None  # per API, for the S3 scenarios

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


def run_cli(name: str, args: list[str], out: Path, env: dict[str, str] | None = None) -> Measure:
    """Run `provisioner ARGS` in a child; wall time and peak memory of its process tree."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [PYTHON, "-m", "provisioner", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    watched, peak = psutil.Process(proc.pid), 0.0
    while proc.poll() is None:
        try:
            peak = max(peak, tree_memory_mb(watched))
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{name}: provisioner exited {proc.returncode}\n{stderr[-2000:]}")
    report = json.loads((out / "reports" / "latest.json").read_text())
    summary = report["summary"]
    return Measure(
        name,
        summary["total"],
        round(wall, 3),
        round(peak, 1),
        summary["deployed"],
        summary["unchanged"],
        summary["failed"],
    )


def prepare_tree(work: Path, spec: Path | None = None) -> Path:
    """A throwaway copy of the inputs, so the benchmark never touches the repository."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copytree(REPO / "blueprints", work / "blueprints")
    shutil.copytree(REPO / "nations", work / "nations")
    shutil.copy(spec or REPO / "nations.yaml", work / "nations.yaml")
    return work


def supporters(work: Path, count: int, cache: Path) -> list[str]:
    """Generate (once, cached) `count` supporters for the spec in `work`."""
    data = cache / f"supporters-{count}"
    if not (data / "supporters.csv").exists():
        subprocess.run(
            [
                PYTHON,
                "-m",
                "provisioner.supporters.generate",
                "--spec",
                str(REPO / "nations.yaml"),
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


def sample_scenarios(work: Path, extra: list[str]) -> list[Measure]:
    tree = prepare_tree(work / "sample")
    out = tree / "build"
    args = ["deploy", "-q", "--spec", str(tree / "nations.yaml"), "--out", str(out), *extra]
    measures = [
        run_cli("sample cold deploy", args, out),
        run_cli("sample no-op redeploy", args, out),
    ]
    (tree / "nations" / "marie-dubois" / "assets").mkdir(parents=True, exist_ok=True)
    (tree / "nations" / "marie-dubois" / "assets" / "bench.txt").write_text("changed\n")
    measures.append(run_cli("sample one-nation change", args, out))
    with (tree / "blueprints" / "_base" / "assets" / "style.css").open("a") as css:
        css.write("\n/* bench: blueprint change */\n")
    measures.append(run_cli("sample blueprint change", args, out))
    return measures


def scale_scenarios(work: Path, sizes: list[int], extra: list[str]) -> list[Measure]:
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
        out = tree / "build"
        args = ["deploy", "-q", "--spec", str(tree / "nations.yaml"), "--out", str(out), *extra]
        measures.append(run_cli(f"{size} nations cold deploy", args, out))
        shutil.rmtree(tree)  # keep the disk footprint of the benchmark bounded
    return measures


def verdicts(measures: list[Measure]) -> dict[str, dict[str, float | bool]]:
    by_name = {m.name: m for m in measures}
    found: dict[str, float] = s3_verdicts(by_name)
    if "sample cold deploy" in by_name and "sample no-op redeploy" in by_name:
        found["sample_cold_s"] = by_name["sample cold deploy"].wall_s
        found["sample_noop_s"] = by_name["sample no-op redeploy"].wall_s
        found["sample_one_change_s"] = by_name["sample one-nation change"].wall_s
    big, small = by_name.get("10000 nations cold deploy"), by_name.get("1000 nations cold deploy")
    if big:
        found["scale_10000_s"] = big.wall_s
        found["scale_10000_rss_mb"] = big.rss_mb
    if big and small:
        found["per_nation_growth_1000_to_10000"] = round(big.per_nation_ms / small.per_nation_ms, 2)
    return {k: {"value": v, "target": TARGETS[k], "met": v <= TARGETS[k]} for k, v in found.items()}


def print_table(measures: list[Measure], checks: dict[str, dict[str, float | bool]]) -> None:
    print(
        f"{'scenario':32} {'nations':>8} {'wall s':>8} {'ms/nation':>10} {'RSS MB':>8} "
        f"{'deployed':>9} {'unchanged':>10} {'failed':>7}"
    )
    for m in measures:
        print(
            f"{m.name:32} {m.nations:>8} {m.wall_s:>8.2f} {m.per_nation_ms:>10.2f} "
            f"{m.rss_mb:>8.0f} {m.deployed:>9} {m.unchanged:>10} {m.failed:>7}"
        )
        for api, counts in (m.requests or {}).items():
            print(f"{'':4}{api} requests: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print()
    for key, check in checks.items():
        print(
            f"{'MET ' if check['met'] else 'MISS'} {key}: {check['value']}"
            f" (target <= {check['target']})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/provisioner-bench"))
    parser.add_argument("--results", type=Path, default=REPO / "bench-results")
    parser.add_argument("--sizes", default="1000,4000,10000")
    parser.add_argument("--supporters", type=int, default=1_000_000)
    parser.add_argument("--sample-supporters", type=int, default=200_000)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument(
        "--scenario", action="append", choices=SCENARIOS, help="run only these (repeatable)"
    )
    args = parser.parse_args()
    chosen = set(args.scenario or SCENARIOS) - ({"scale"} if args.skip_scale else set())
    args.work.mkdir(parents=True, exist_ok=True)
    sample_extra = supporters(args.work, args.sample_supporters, args.work)
    measures = sample_scenarios(args.work, sample_extra) if "sample" in chosen else []
    if "s3" in chosen:
        measures += s3_scenarios(args.work, sample_extra)
    if "scale" in chosen:
        scale_extra = supporters(args.work, args.supporters, args.work)
        measures += scale_scenarios(args.work, [int(s) for s in args.sizes.split(",")], scale_extra)
    checks = verdicts(measures)
    print_table(measures, checks)
    args.results.mkdir(parents=True, exist_ok=True)
    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }
    result = {
        "machine": machine,
        "measures": [asdict(m) | {"per_nation_ms": m.per_nation_ms} for m in measures],
        "targets": checks,
    }
    (args.results / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten: {args.results / 'bench.json'}")
    return 0 if all(c["met"] for c in checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
