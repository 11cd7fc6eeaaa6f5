"""The ASGI app behind `provisioner serve`: the sites and the intake API.

A Starlette app built by a factory from an `Intake` core; the handlers only translate
between Starlette and the core's `IntakeRequest` / `IntakeResponse`, and run the core
in a worker thread (its store blocks until the commit is on disk). Extra ASGI
middleware (for example security headers) is passed to `create_app`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from provisioner.intake import messages, sites
from provisioner.intake.core import MAX_BODY_BYTES, Intake, IntakeRequest
from provisioner.intake.directory import Directory

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
REFRESH_SECONDS = 1.0


class LiveDirectory:
    """Rebuilds the intake's directory when a deploy changed `sites/` (checked at most
    once a second: a redeploy swaps symlinks in that folder, which moves its mtime)."""

    def __init__(self, intake: Intake, sites_root: Path, extra_hosts: Sequence[str]):
        self.intake, self.sites_root, self.extra_hosts = intake, sites_root, tuple(extra_hosts)
        self._stamp = self._mtime()
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def stale(self) -> bool:
        """Cheap (a clock read, a stat a second): whether `refresh` should run."""
        now = time.monotonic()
        if now - self._checked < REFRESH_SECONDS:
            return False
        self._checked = now
        return self._mtime() != self._stamp

    def refresh(self) -> Directory:
        """Re-read every nation.json (in a worker thread: it reads hundreds of files)."""
        with self._lock:
            stamp = self._mtime()
            if stamp != self._stamp:
                self._stamp = stamp
                self.intake.directory = Directory.from_sites(self.sites_root, self.extra_hosts)
        return self.intake.directory

    async def current(self) -> Directory:
        if self.stale():
            return await run_in_threadpool(self.refresh)
        return self.intake.directory

    def _mtime(self) -> int:
        try:
            return self.sites_root.stat().st_mtime_ns
        except OSError:
            return 0


def create_app(
    intake: Intake,
    sites_root: Path,
    extra_hosts: Sequence[str] = (),
    middleware: Sequence[Middleware] = (),
) -> Starlette:
    """The app: `/api/*` to the core, every other GET to the deployed sites."""
    live = LiveDirectory(intake, sites_root, extra_hosts)

    async def api(request: Request) -> Response:
        await live.current()
        core_request = await _core_request(request)
        result = await run_in_threadpool(intake.handle, core_request)
        return Response(result.body, result.status, headers=dict(result.headers))

    async def site(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response(messages.general_page(405), 405, {"Allow": "GET, HEAD"})
        directory = await live.current()
        host = request.headers.get("host", "")
        found = sites.resolve(sites_root, directory, host, request.url.path)
        if found is None:
            return Response(messages.general_page(404), 404, media_type="text/html")
        if found.redirect:
            return RedirectResponse(found.redirect, 308)
        if found.index is not None:
            return Response(found.index, media_type="text/html")
        assert found.file is not None
        return FileResponse(found.file)

    routes = [
        Route("/api/{action:path}", api, methods=ALL_METHODS),
        Route("/{path:path}", site, methods=ALL_METHODS),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        intake.store.close()  # let the writer finish its last commit

    return Starlette(routes=routes, middleware=list(middleware), lifespan=lifespan)


async def _core_request(request: Request) -> IntakeRequest:
    """Read at most MAX_BODY_BYTES + 1: a larger body is refused without reading it."""
    declared_header = request.headers.get("content-length", "")
    declared = int(declared_header) if declared_header.isdigit() else None
    body = b""
    if request.method == "POST" and (declared or 0) <= MAX_BODY_BYTES:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                declared = size
                break
            chunks.append(chunk)
        body = b"".join(chunks) if size <= MAX_BODY_BYTES else b""
    return IntakeRequest(
        method=request.method,
        path=request.url.path,
        query=dict(request.query_params),
        body=body,
        content_type=request.headers.get("content-type", ""),
        client=request.client.host if request.client else "",
        host=request.headers.get("host", ""),
        scheme=request.url.scheme,
        origin=request.headers.get("origin"),
        referer=request.headers.get("referer"),
        content_length=declared,
    )
