"""Shared pieces of the intake tests: a small real network, a real server process."""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from helpers import REPO

from provisioner.intake.directory import Directory, NationEntry

FORM = "application/x-www-form-urlencoded"

# Four nations with the real blueprints: the HQ, a section and its candidate (sharing
# the section's postcodes), and a Dutch-speaking section on its own custom domain.
MINI_SPEC = """\
version: 1
network:
  name: Horizon
  base_domain: horizon.example
  controller: {name: Horizon asbl, address: "Rue de la Loi 155, 1040 Bruxelles",
               email: privacy@horizon.example}
nations:
  - {slug: hq, name: Horizon, blueprint: section, kind: national, languages: [fr, nl],
     domain: www.horizon.example, contact: {email: hq@horizon.example}}
  - {slug: liege, name: Horizon Liège, blueprint: section, kind: section, parent: hq,
     languages: [fr], geo: {postcodes: ['4000', '4020']},
     contact: {email: liege@horizon.example}}
  - {slug: marie-dubois, name: Marie Dubois, blueprint: candidate, kind: candidate,
     parent: liege, geo: {postcodes: ['4000', '4020']},
     contact: {email: marie-dubois@horizon.example},
     candidate: {first_name: Marie, last_name: Dubois}}
  - {slug: gent, name: Horizon Gent, blueprint: section, kind: section, parent: hq,
     languages: [nl], domain: gent.example.org, geo: {postcodes: ['9000']},
     contact: {email: gent@horizon.example}}
"""
SUPPORTER_HEADER = (
    "id,first_name,last_name,phone,email,postcode,language,level,tags,"
    "email_consent,email_consent_date,email_consent_source,phone_consent,phone_consent_date,"
    "phone_consent_source,sms_consent,sms_consent_date,sms_consent_source,created_at\n"
)
CENTRAL = (
    "c1,Luc,Martin,+32470000001,luc@example.be,4000,fr,supporter,,yes,2025-01-01,crm,"
    "yes,2025-01-01,crm,no,,,2025-01-01\n"
    "c2,Els,Peeters,,els@example.be,9000,nl,pledge,,yes,2025-01-01,crm,no,,,no,,,2025-01-01\n"
)


def mini_network(root: Path) -> Path:
    """The small network under `root` with a two-row central export; returns the spec."""
    shutil.copytree(REPO / "blueprints", root / "blueprints")
    (root / "nations.yaml").write_text(MINI_SPEC, encoding="utf-8")
    data = root / "data"
    data.mkdir()
    (data / "supporters.csv").write_text(SUPPORTER_HEADER + CENTRAL, encoding="utf-8")
    (data / "do-not-contact.csv").write_text("contact\n", encoding="utf-8")
    return root / "nations.yaml"


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provisioner", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def deploy(root: Path) -> None:
    result = run_cli(
        "deploy", "-q", "--spec", root / "nations.yaml", "--out", root / "build",
        "--supporters", root / "data" / "supporters.csv",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`provisioner serve` in a child process, on a free loopback port."""

    def __init__(self, root: Path, *extra: str, intake: Path | None = None):
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.intake = intake or root / "data" / "intake.db"
        self.outbox = root / "build" / "outbox"
        self.args = [
            sys.executable, "-m", "provisioner", "serve", "--port", str(self.port),
            "--out", str(root / "build"), "--intake", str(self.intake), *extra,
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode() if self.process.stdout else ""
                raise AssertionError(f"serve exited {self.process.returncode}: {output}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/", timeout=1).status_code == 200:
                    return self
            time.sleep(0.05)
        raise AssertionError("serve did not answer within 30 s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> str:
        """Stop gracefully (SIGTERM); the output it printed."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)
        return self.process.stdout.read().decode() if self.process.stdout else ""


@contextlib.contextmanager
def serving(root: Path, *extra: str, intake: Path | None = None) -> Iterator[Server]:
    server = Server(root, *extra, intake=intake).start()
    try:
        yield server
    finally:
        server.kill()


def pledge(**fields: str) -> dict[str, str]:
    """A valid pledge form of marie-dubois, with `fields` changed."""
    form = {
        "nation": "marie-dubois", "lang": "fr", "source": "promesse", "website": "",
        "first_name": "Ana", "email": "ana@example.be", "postcode": "4000",
        "consent": "yes",
    }  # fmt: skip
    form.update(fields)
    return {k: v for k, v in form.items() if v is not None}


def messages(outbox: Path) -> list[Message]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(outbox.glob("*.eml"))
    ]


def link(message: Message, action: str) -> str:
    """The `/api/<action>?t=` link in the text part of an email."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode()  # type: ignore[union-attr]
            found = re.search(rf"https?://\S+/api/{action}\?t=[\w-]+", text)
            if found:
                return found.group(0)
    raise AssertionError(f"no {action} link in the email")


def token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["t"][0]


def entry(slug: str, **extra: Any) -> NationEntry:
    """A directory entry as a deploy would publish it (for core unit tests)."""
    data: dict[str, Any] = {
        "slug": slug, "name": slug.title(), "domain": f"{slug}.horizon.example",
        "parent": None, "languages": ["fr", "nl"], "geo": {"postcodes": []}, "coverage": [],
        "pages": {
            page: {"fr": f"fr/{page}.html", "nl": f"nl/{page}-nl.html"}
            for page in ("home", "promesse", "agir", "merci", "confirmation", "desinscription")
        },
        "intake": {
            "consent": {lang: {"email": f"consent {lang}", "phone": f"phone {lang}",
                               "sms": f"sms {lang}"} for lang in ("fr", "nl")},
            "privacy_version": {"fr": "p" * 64, "nl": "q" * 64},
            "sender": f"{slug.title()} <{slug}@horizon.example>",
        },
    }  # fmt: skip
    data.update(extra)
    return NationEntry.from_json(data)


def mini_directory(*extra_hosts: str) -> Directory:
    return Directory(
        [
            entry("hq"),
            entry("liege", parent="hq", geo={"postcodes": ["4000"]}, coverage=["4000"]),
            entry("gent", parent="hq", geo={"postcodes": ["9000"]}, coverage=["9000"]),
        ],
        extra_hosts,
    )
