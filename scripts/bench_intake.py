"""Benchmark (not a test): pledges posted to `provisioner serve` by concurrent clients.

    .venv/bin/python scripts/bench_intake.py                      # 16 clients, 30 s
    .venv/bin/python scripts/bench_intake.py --clients 32 --duration 10

Deploys one candidate of nations.yaml into a temporary folder, starts the real server
(`provisioner serve --rate-limit 0`, uvicorn, SQLite store with fsync at every group
commit) on a free loopback port, and drives it with keep-alive HTTP/1.1 clients on
asyncio (lean, so the client takes little of the CPU the server needs). Bounded by
`--duration` and `--max-requests`. Then it stops the server and checks every 303 has
its row in the store (lost = acknowledged and missing). Prints throughput, p50/p99
latency, lost, and the server's CPU time per request (what a shared machine does not
change much); writes bench-results/bench_intake.json. Targets (2 cores): at least
500 accepted/s sustained for 30 s, p99 at most 50 ms, zero lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import psutil

from provisioner.intake.sqlite_store import SqliteStore

ROOT = Path(__file__).resolve().parent.parent
NATION = "marie-dubois"


def main() -> int:
    args = _arguments()
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        work = Path(tmp)
        _deploy(work)
        port = _free_port()
        server = _serve(work, port)
        try:
            process = psutil.Process(server.pid)
            before = process.cpu_times()
            result = asyncio.run(_load(port, args))
            after = process.cpu_times()
            result["server_cpu_s"] = (after.user + after.system) - (before.user + before.system)
        finally:
            server.terminate()
            server.wait(30)
        found = _stored_emails(work / "intake.db")
    lost = sorted(set(result["acknowledged"]) - found)
    report = _report(args, result, len(lost))
    print(json.dumps(report, indent=2))
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "bench_intake.json").write_text(json.dumps(report, indent=2) + "\n")
    return 1 if lost else 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--max-requests", type=int, default=100_000)
    return parser.parse_args()


def _deploy(work: Path) -> None:
    command = [
        sys.executable, "-m", "provisioner", "deploy", "-q", "--spec", str(ROOT / "nations.yaml"),
        "--out", str(work / "build"), "--no-supporters", "--only", NATION,
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(work: Path, port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "provisioner", "serve", "--port", str(port), "--rate-limit", "0",
        "--out", str(work / "build"), "--intake", str(work / "intake.db"),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("provisioner serve did not start within 30 s")


async def _load(port: int, args: argparse.Namespace) -> dict[str, object]:
    counter = iter(range(args.max_requests))
    latencies: list[float] = []
    acknowledged: list[str] = []
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + args.duration

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for n in counter:
                if time.monotonic() >= deadline:
                    return
                email = f"bench{n}@example.be"
                started = time.perf_counter()
                writer.write(_request(port, email))
                status = await _response(reader)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 303:
                    acknowledged.append(email)
        finally:
            writer.close()

    began = time.monotonic()
    await asyncio.gather(*(client() for _ in range(args.clients)))
    return {
        "elapsed": time.monotonic() - began,
        "latencies": latencies,
        "acknowledged": acknowledged,
        "statuses": statuses,
    }


def _request(port: int, email: str) -> bytes:
    body = urlencode(
        {"nation": NATION, "lang": "fr", "source": "promesse", "website": "",
         "first_name": "Bench", "email": email, "postcode": "4000", "consent": "yes"}
    ).encode()  # fmt: skip
    head = (
        f"POST /api/pledge HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Origin: http://127.0.0.1:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(
        (int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length")),
        0,
    )
    if length:
        await reader.readexactly(length)
    return status


def _stored_emails(path: Path) -> set[str]:
    store = SqliteStore(path)
    try:
        return {submission.email for submission in store.submissions()}
    finally:
        store.close()


def _report(args: argparse.Namespace, result: dict[str, object], lost: int) -> dict[str, object]:
    latencies = sorted(result["latencies"])  # type: ignore[type-var]
    elapsed = float(result["elapsed"])  # type: ignore[arg-type]
    accepted = len(result["acknowledged"])  # type: ignore[arg-type]
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "clients": args.clients,
        "duration_s": round(elapsed, 2),
        "requests": len(latencies),
        "statuses": result["statuses"],
        "accepted_per_s": round(accepted / elapsed, 1) if elapsed else 0,
        "p50_ms": round(quantiles[49] * 1000, 2),
        "p99_ms": round(quantiles[98] * 1000, 2),
        "lost": lost,
        # Load-independent: the server's CPU time per request (user + system). On a
        # shared machine the throughput above says more about the neighbours.
        "server_cpu_ms_per_request": round(
            float(result["server_cpu_s"]) * 1000 / max(1, len(latencies)),
            3,  # type: ignore[arg-type]
        ),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
    }


if __name__ == "__main__":
    sys.exit(main())
