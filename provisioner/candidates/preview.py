"""`provisioner preview SLUG`: the nation's site on 127.0.0.1, rebuilt on every edit.

The site is built in memory with the same Builder as deploy (nothing is written). A
watcher rebuilds it when a file of the nation or of the blueprints changes and bumps a
version; a small script injected into each page polls `/__reload` and reloads the page
when the version moves. A build error becomes the page itself, with its file:line,
so a candidate sees the mistake where they look, and the server keeps running.
"""

from __future__ import annotations

import functools
import html
import json
import mimetypes
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import watchfiles

from provisioner.errors import InputError, ProvisionerError
from provisioner.run.deploy import Project, load, make_builder

LOOPBACK = "127.0.0.1"  # a preview is for the person at the keyboard, never the network
RELOAD_PATH = "/__reload"
POLL_MS = 400
RELOAD_SCRIPT = """<script>/* provisioner preview: reload when the site is rebuilt */
(function () { var seen = %d; setInterval(function () {
  fetch("%s", {cache: "no-store"}).then(function (r) { return r.json(); })
    .then(function (d) { if (d.version !== seen) { location.reload(); } })
    .catch(function () {}); }, %d); })();</script>
"""
ERROR_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Erreur · Fout</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:2rem;max-width:60rem}
pre{background:#fff4f4;border-left:4px solid #c00;padding:1rem;white-space:pre-wrap}</style>
</head><body><h1>Le site ne se construit pas · De site bouwt niet</h1>
<p>Corrigez le fichier indiqué et enregistrez : la page se recharge.<br>
Verbeter het aangegeven bestand en sla op: de pagina herlaadt vanzelf.</p>
<pre>%s</pre></body></html>
"""


class SiteState:
    """The last build of one nation (or its error) and a version bumped on each rebuild."""

    def __init__(self, project: Project, slug: str):
        self.project = project
        self.slug = slug
        self.version = 0
        self.files: dict[str, bytes] = {}
        self.error: str | None = None
        self._lock = threading.Lock()

    def rebuild(self) -> None:
        """Build the nation again from disk; never raises, the error is shown instead."""
        files: dict[str, bytes] = {}
        error = None
        try:
            network = load(self.project)
            if self.slug not in network.nations:
                raise InputError(f"{self.slug!r} is no longer a nation of {self.project.spec}")
            builder = make_builder(self.project, network)
            files = builder.build(network.nations[self.slug]).files["sites"]
        except ProvisionerError as exc:
            error = str(exc)
        except Exception as exc:  # a preview must survive anything an edit can cause
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.files, self.error = files, error
            self.version += 1

    def response(self, url_path: str) -> tuple[HTTPStatus, str, bytes]:
        """Status, content type and body for a GET of `url_path`."""
        with self._lock:
            files, error, version = self.files, self.error, self.version
        if url_path == RELOAD_PATH:
            return HTTPStatus.OK, "application/json", json.dumps({"version": version}).encode()
        script = (RELOAD_SCRIPT % (version, RELOAD_PATH, POLL_MS)).encode()
        if error is not None:
            body = (ERROR_PAGE % html.escape(error)).encode()
            return (
                HTTPStatus.INTERNAL_SERVER_ERROR,
                "text/html; charset=utf-8",
                inject(body, script),
            )
        name = unquote(url_path).lstrip("/")
        if name == "" or name.endswith("/"):
            name += "index.html"
        if name not in files:
            body = (ERROR_PAGE % html.escape(f"404: {name} n'existe pas / bestaat niet")).encode()
            return HTTPStatus.NOT_FOUND, "text/html; charset=utf-8", inject(body, script)
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind == "text/html":
            return HTTPStatus.OK, "text/html; charset=utf-8", inject(files[name], script)
        return HTTPStatus.OK, kind, files[name]


def inject(page: bytes, script: bytes) -> bytes:
    """`script` just before the page's last </body> (or at its end)."""
    at = page.lower().rfind(b"</body>")
    return page + script if at < 0 else page[:at] + script + page[at:]


def _handler(state: SiteState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, kind, body = state.response(urlsplit(self.path).path)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the candidate watches the browser, not a request log

    return Handler


class PreviewServer:
    """HTTP server plus file watcher for one nation; `start()` returns once it answers."""

    def __init__(self, project: Project, slug: str, port: int = 0):
        self.state = SiteState(project, slug)
        self.project = project
        try:
            self._httpd = ThreadingHTTPServer((LOOPBACK, port), _handler(self.state))
        except OSError as exc:
            raise InputError(
                f"cannot listen on {LOOPBACK}:{port} ({exc.strerror}); try --port"
            ) from exc
        self._httpd.daemon_threads = True
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._httpd.server_address[1]}/"

    def start(self) -> None:
        if self.state.slug not in load(self.project).nations:
            raise InputError(f"{self.state.slug!r} is not a nation of {self.project.spec}")
        self.state.rebuild()
        serve = functools.partial(self._httpd.serve_forever, poll_interval=0.1)  # quick stop
        for target in (serve, self._watch):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=10)

    def watched(self) -> list[Path]:
        """The nation's folder (through its parent, as it may not exist yet) and blueprints."""
        return [p for p in (self.project.overrides_dir, self.project.blueprints_dir) if p.is_dir()]

    def _watch(self) -> None:
        own = (self.project.overrides_dir / self.state.slug).resolve()
        blueprints = self.project.blueprints_dir.resolve()

        def relevant(_change: watchfiles.Change, path: str) -> bool:
            resolved = Path(path).resolve()
            return resolved.is_relative_to(own) or resolved.is_relative_to(blueprints)

        changes = watchfiles.watch(
            *self.watched(), watch_filter=relevant, debounce=200, stop_event=self._stop
        )
        for _batch in changes:
            self.state.rebuild()

    def __enter__(self) -> PreviewServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
