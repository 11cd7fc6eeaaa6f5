"""A real S3 endpoint for tests: moto_server on a free loopback port, behind a proxy.

The proxy forwards every request to moto unchanged and counts them, so a test can say
"this run made zero PUTs" about the real CLI in a subprocess. It can also answer a
seeded share of requests with 503 (SlowDown or ServiceUnavailable), 500 (after moto
applied the request: the nastiest case for idempotency) or a TCP reset.
"""

from __future__ import annotations

import http.client
import itertools
import random
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te"}
# Injected faults and their weights. SlowDown is rarer: botocore's adaptive mode cuts the
# client's send rate by 30% on each one, and a rate-independent synthetic throttle at 10%
# would hold a run at a few requests per second (real S3 throttles only above ~3,500
# PUT/s per prefix, far beyond this tool's rate).
FAULTS = {"slowdown": 0.5, "unavailable": 3.5, "error-after": 3, "reset": 3}
UNAVAILABLE = b"<Error><Code>ServiceUnavailable</Code><Message>Try again.</Message></Error>"
SLOW_DOWN = (
    b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
)
INTERNAL = (
    b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MotoServer:
    """`moto_server` in a subprocess; `stop()` kills exactly that process."""

    def __init__(self) -> None:
        self.port = free_port()
        server = Path(sys.executable).parent / "moto_server"
        self.process = subprocess.Popen(
            [str(server), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        _wait_for_port(self.port, self.process)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"moto_server did not listen on {port} within {timeout}s")


@dataclass
class Traffic:
    """What went through the proxy: requests by method, SES actions, faults by kind."""

    methods: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    paths: list[tuple[str, str]] = field(default_factory=list)
    copies: int = 0  # PUTs that are server-side copies (x-amz-copy-source)
    ses_times: list[float] = field(default_factory=list)  # arrival of each SES template write

    @property
    def writes(self) -> int:
        """PUT requests plus SES template writes: what a no-op run must not make."""
        ses = sum(n for action, n in self.actions.items() if action.endswith("Template"))
        return self.methods["PUT"] + ses


class Proxy:
    """A counting, optionally faulty reverse proxy in front of an HTTP endpoint."""

    def __init__(self, upstream_port: int, fault_rate: float = 0.0, seed: int = 2026):
        self.upstream_port = upstream_port
        self.fault_rate = fault_rate
        self.rng = random.Random(seed)
        # Which fault comes next cycles through a seeded, weighted deck (20 cards: one
        # SlowDown), so every kind shows up in any run with 20 faults or more, however
        # few requests the target makes; `random.choices` left a rare kind to luck.
        deck = [kind for kind, weight in FAULTS.items() for _ in range(round(weight * 2))]
        self.rng.shuffle(deck)
        self.deck = itertools.cycle(deck)
        self.traffic = Traffic()
        self.lock = threading.Lock()
        self.gate: tuple[str, str, threading.Event] | None = None
        self.held = 0  # requests the gate has stopped so far
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # resets are on purpose
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reset(self, fault_rate: float | None = None) -> Traffic:
        """Start counting afresh; return what was counted so far."""
        with self.lock:
            previous, self.traffic = self.traffic, Traffic()
            if fault_rate is not None:
                self.fault_rate = fault_rate
        return previous

    def record(self, method: str, path: str, body: bytes, copy: bool) -> str | None:
        """Count one request; return the fault to inject, if any."""
        action = _ses_action(body) if method == "POST" else None
        with self.lock:
            self.traffic.methods[method] += 1
            self.traffic.paths.append((method, path))
            self.traffic.copies += copy
            if action:
                self.traffic.actions[action] += 1
                if action.endswith("Template"):
                    self.traffic.ses_times.append(time.monotonic())
            if self.fault_rate and self.rng.random() < self.fault_rate:
                fault = next(self.deck)
                self.traffic.faults[fault] += 1
                return fault
        return None

    def hold(self, method: str, prefix: str) -> threading.Event:
        """Stop requests `method prefix...` until the returned event is set.

        A deploy stopped at its first such request keeps its lock: another process can
        then meet that lock however fast the machine is, with no race against the clock.
        """
        release = threading.Event()
        with self.lock:
            self.gate = (method, prefix, release)
        return release

    def wait_at_gate(self, method: str, path: str) -> None:
        with self.lock:
            gate = self.gate
            if gate is None or method != gate[0] or not path.startswith(gate[1]):
                return
            self.held += 1
        if not gate[2].wait(timeout=300):
            raise TimeoutError(f"the proxy held {method} {path} for 300 s: nobody released it")

    def stop(self) -> None:
        with self.lock:
            if self.gate:
                self.gate[2].set()  # nobody stays stuck behind a test that failed
        self.server.shutdown()
        self.server.server_close()


def _ses_action(body: bytes) -> str | None:
    for pair in body[:200].split(b"&"):
        if pair.startswith(b"Action="):
            return pair[len(b"Action=") :].decode()
    return None


class _Relay(BaseHTTPRequestHandler):
    """Forwards one request to moto, unless the proxy decides to fail it."""

    protocol_version = "HTTP/1.1"  # keep-alive, as botocore expects
    proxy: Proxy  # set by _handler
    upstreams: threading.local  # one connection to moto per server thread

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and
        # delayed ACKs add 40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: Any) -> None:
        pass

    def _relay(self) -> None:
        body = _read_body(self)
        copy = "x-amz-copy-source" in self.headers
        self.proxy.wait_at_gate(self.command, self.path)
        fault = self.proxy.record(self.command, self.path, body, copy)
        if fault == "reset":
            return self._reset()
        if fault in ("slowdown", "unavailable"):
            return self._answer(503, SLOW_DOWN if fault == "slowdown" else UNAVAILABLE)
        status, headers, answer = _forward(self.upstreams, self.proxy.upstream_port, self, body)
        if fault == "error-after":
            return self._answer(500, INTERNAL)
        self._answer(status, answer, headers)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay

    def _answer(
        self, status: int, body: bytes, headers: list[tuple[str, str]] | None = None
    ) -> None:
        headers = headers or []
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        length = {k.lower(): v for k, v in headers}.get("content-length")
        head = self.command == "HEAD" and length is not None
        self.send_header("Content-Length", str(length) if head else str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _reset(self) -> None:
        # SO_LINGER 0 makes close() send a TCP RST: the client sees "connection reset".
        linger = struct.pack("ii", 1, 0)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        self.close_connection = True
        self.connection.close()


def _handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    attributes = {"proxy": proxy, "upstreams": threading.local()}
    return type("Relay", (_Relay,), attributes)


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0], 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def _forward(
    local: threading.local, port: int, handler: BaseHTTPRequestHandler, body: bytes
) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
    headers["Content-Length"] = str(len(body))
    for attempt in (1, 2):  # a pooled connection moto closed is retried once
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection(
                "127.0.0.1", port, timeout=60
            )
        try:
            connection.request(handler.command, handler.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            return response.status, response.getheaders(), data
        except (http.client.HTTPException, OSError):
            connection.close()
            local.connection = None
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
