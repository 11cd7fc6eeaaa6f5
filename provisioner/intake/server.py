"""`provisioner serve`: the deployed sites and the intake API on uvicorn.

Everything a running server needs is put together here from plain options, so the CLI
stays a thin layer and tests can start the very same server in a thread or a child
process. The client address is the socket's peer; `X-Forwarded-For` is believed only
from the proxies named with `trusted_proxies` (uvicorn's proxy-headers middleware).
Uvicorn's access log is off: its lines would carry client addresses and the tokens of
confirm links; intake logs nation, kind and outcome only.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware

from provisioner.errors import InputError
from provisioner.intake.app import create_app
from provisioner.intake.directory import Directory
from provisioner.intake.emails import LocalTemplates
from provisioner.intake.outbox import EmlOutbox, Outbox, SmtpOutbox, smtp_address
from provisioner.intake.referrals import ReferralBook, ReferralIntake
from provisioner.intake.sqlite_store import SqliteStore
from provisioner.render.security_headers import SecurityHeadersMiddleware

SECRET_ENV = "PROVISIONER_INTAKE_SECRET"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class ServeOptions:
    out: Path = Path("build")
    intake: Path = Path("data/intake.db")
    host: str = "127.0.0.1"
    port: int = 8000
    rate_limit: int = 30  # submissions per client per minute; 0: no limit
    trusted_proxies: Sequence[str] = ()
    smtp: str | None = None  # HOST:PORT; None: .eml files in outbox
    outbox: Path | None = None  # default: <out>/outbox
    middleware: Sequence[Middleware] = field(default_factory=list)

    @property
    def outbox_dir(self) -> Path:
        return self.outbox or self.out / "outbox"

    def listen_hosts(self) -> list[str]:
        """Host headers that mean this server (so its pages may post to it)."""
        names = [self.host, *(LOOPBACK if self.host in LOOPBACK else ())]
        return [f"[{n}]:{self.port}" if ":" in n else f"{n}:{self.port}" for n in names]


def build_app(options: ServeOptions) -> tuple[Starlette, Directory]:
    """The app and the directory it starts with (refreshed after each redeploy)."""
    sites = options.out / "sites"
    if not sites.is_dir():
        raise InputError(f"{sites}: nothing deployed there; run `make deploy` first")
    directory = Directory.from_sites(sites, options.listen_hosts())
    if not directory.nations:
        raise InputError(f"{sites}: no nation.json found; run `make deploy` again")
    outbox: Outbox = (
        SmtpOutbox(*smtp_address(options.smtp)) if options.smtp else EmlOutbox(options.outbox_dir)
    )
    store = SqliteStore(options.intake)
    intake = ReferralIntake(  # the intake core, with pledge hunters' codes (referrals.py)
        directory,
        store,
        outbox,
        LocalTemplates(options.out / "emails"),
        secret=load_secret(options.intake),
        rate_limit=options.rate_limit,
        book=ReferralBook(options.intake.with_name("referrals.db")),
    )
    # The one definition of the headers, also the CloudFront response headers policy.
    headers = Middleware(SecurityHeadersMiddleware)
    app = create_app(intake, sites, options.listen_hosts(), [headers, *options.middleware])
    return app, directory


def load_secret(store_path: Path) -> bytes:
    """The key of client-address hashes: $PROVISIONER_INTAKE_SECRET, else a random key
    kept beside the store (`intake.key`, 0600), created on first use."""
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV].encode()
    path = store_path.with_name(store_path.stem + ".key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
        except FileExistsError:  # another server created it first: read theirs
            pass
    return path.read_text().strip().encode()


def uvicorn_config(app: Starlette, options: ServeOptions) -> uvicorn.Config:
    trusted = list(options.trusted_proxies)
    return uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        access_log=False,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or [],
        server_header=False,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )


def run(options: ServeOptions, app: Starlette) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM finish the commits in flight)."""
    uvicorn.Server(uvicorn_config(app, options)).run()
