"""The SQLite store behind `provisioner serve` (`data/intake.db` by default).

Durability with throughput: every write goes through one writer thread that commits
whatever is queued in one transaction (group commit). SQLite runs in WAL mode with
`synchronous=FULL`, so a commit is on disk (fsync) before `add` returns, and the server
sends its 303 after that: an acknowledged submission survives a crash or a `kill -9`.
Sixteen clients waiting share one fsync instead of queueing for sixteen.

Reads open their own connection (WAL readers never block the writer), so `deploy`,
`intake stats` and `intake export` can run while the server is taking submissions.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from provisioner.errors import InputError
from provisioner.intake.groupcommit import GroupCommit
from provisioner.intake.model import (
    ConsentProof,
    DoNotContact,
    Kind,
    State,
    StatRow,
    Submission,
    TokenResult,
    Tokens,
)
from provisioner.intake.sqlite_writes import (
    COLUMNS,
    absorb,
    confirm,
    erase,
    insert,
    unsubscribe,
)

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    nation TEXT NOT NULL,
    routed_to TEXT NOT NULL,
    lang TEXT NOT NULL,
    source TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT NOT NULL,
    postcode TEXT NOT NULL,
    tags TEXT NOT NULL,
    message TEXT NOT NULL,
    consents TEXT NOT NULL,
    client_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL,
    confirmed_at TEXT NOT NULL DEFAULT '',
    unsubscribed_at TEXT NOT NULL DEFAULT '',
    confirm_hash TEXT UNIQUE,
    confirm_expires_at TEXT NOT NULL DEFAULT '',
    unsubscribe_hash TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS submissions_email ON submissions (email);
CREATE INDEX IF NOT EXISTS submissions_phone ON submissions (phone);
CREATE INDEX IF NOT EXISTS submissions_state ON submissions (state);
CREATE TABLE IF NOT EXISTS do_not_contact (
    contact TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SqliteStore:
    """A `Store` (see store.py) in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path):
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(_connect(path)) as conn:
                conn.executescript(SCHEMA)
                conn.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema', ?), ('revision', '0')",
                    (str(SCHEMA_VERSION),),
                )
        except sqlite3.Error as exc:
            raise InputError(
                f"{path}: cannot open the intake store ({exc}); check the path and that "
                "it is an SQLite file written by provisioner"
            ) from exc
        path.chmod(0o600)  # supporter data: owner only
        self._writer = GroupCommit(_connect(path, check_same_thread=False))

    # -- writes: through the writer thread, one transaction per batch -----------------

    def add(self, submission: Submission, tokens: Tokens) -> None:
        row = (*_row(submission), tokens.confirm_hash, tokens.confirm_expires_at)
        self._writer.run(lambda conn: insert(conn, row, tokens.unsubscribe_hash))

    def confirm(self, confirm_hash: str, now: str) -> TokenResult | None:
        return self._writer.run(lambda conn: confirm(conn, confirm_hash, now))

    def unsubscribe(self, unsubscribe_hash: str, now: str) -> TokenResult | None:
        return self._writer.run(lambda conn: unsubscribe(conn, unsubscribe_hash, now))

    def erase(self, email: str = "", phone: str = "") -> int:
        return self._writer.run(lambda conn: erase(conn, email, phone))

    def absorb(self, submissions: Iterable[Submission], do_not_contact: DoNotContact) -> int:
        rows = [_row(s) for s in submissions]
        return self._writer.run(lambda conn: absorb(conn, rows, do_not_contact))

    # -- reads: own connection, a consistent snapshot ---------------------------------

    def submissions(self, state: State | None = None) -> Iterator[Submission]:
        with self._reader() as conn:
            return iter(_submissions(conn, state))

    def do_not_contact(self) -> DoNotContact:
        with self._reader() as conn:
            return _do_not_contact(conn)

    def stats(self) -> list[StatRow]:
        with self._reader() as conn:
            rows = conn.execute(
                "SELECT nation, kind, state, count(*) FROM submissions "
                "GROUP BY nation, kind, state ORDER BY nation, kind, state"
            ).fetchall()
        return [StatRow(nation, kind, state, count) for nation, kind, state, count in rows]

    def revision(self) -> str:
        with self._reader() as conn:
            return _revision(conn)

    def close(self) -> None:
        self._writer.stop()

    def _reader(self) -> contextlib.closing[sqlite3.Connection]:
        return contextlib.closing(_connect(self.path))


@dataclass(frozen=True)
class Snapshot:
    """What a deploy reads of the store, in one transaction."""

    confirmed: list[Submission]
    do_not_contact: DoNotContact
    revision: str


def read_snapshot(path: Path) -> Snapshot:
    """Confirmed submissions, do-not-contact entries and revision of the store at
    `path`, read-only (a running `serve` keeps writing meanwhile); empty without one."""
    if not path.is_file():
        return Snapshot([], DoNotContact(), "")
    try:
        with contextlib.closing(_connect(path, readonly=True)) as conn:
            conn.execute("BEGIN")
            snapshot = Snapshot(
                _submissions(conn, "confirmed"), _do_not_contact(conn), _revision(conn)
            )
            conn.execute("COMMIT")
            return snapshot
    except sqlite3.Error as exc:
        raise InputError(
            f"{path}: cannot read the intake store ({exc}); pass --intake with the file "
            "`provisioner serve` writes, or move the broken one away"
        ) from exc


def _submissions(conn: sqlite3.Connection, state: State | None) -> list[Submission]:
    where, args = ("WHERE state = ?", (state,)) if state else ("", ())
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM submissions {where} ORDER BY created_at, id", args
    ).fetchall()
    return [_submission(row) for row in rows]


def _do_not_contact(conn: sqlite3.Connection) -> DoNotContact:
    rows = conn.execute("SELECT contact, channel FROM do_not_contact").fetchall()
    return DoNotContact(
        emails=frozenset(c for c, channel in rows if channel == "email"),
        phones=frozenset(c for c, channel in rows if channel == "phone"),
    )


def _revision(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
    return str(row[0]) if row else ""


def _connect(
    path: Path, check_same_thread: bool = True, readonly: bool = False
) -> sqlite3.Connection:
    target = f"file:{path}?mode=ro" if readonly else str(path)
    conn = sqlite3.connect(
        target, timeout=30, isolation_level=None, check_same_thread=check_same_thread, uri=readonly
    )
    if readonly:
        return conn
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # fsync at every commit: acknowledged = on disk
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _row(s: Submission) -> tuple[Any, ...]:
    consents = json.dumps([c.__dict__ for c in s.consents], ensure_ascii=False)
    return (
        *(s.id, s.kind, s.nation, s.routed_to, s.lang, s.source, s.first_name, s.last_name),
        *(s.email, s.phone, s.postcode, ",".join(s.tags), s.message, consents),
        *(s.client_hash, s.created_at, s.state, s.confirmed_at, s.unsubscribed_at),
    )


def _submission(row: tuple[Any, ...]) -> Submission:
    (id_, kind, nation, routed_to, lang, source, first, last, email, phone, postcode) = row[:11]
    tags, message, consents, client_hash, created_at, state, confirmed_at, unsub_at = row[11:]
    return Submission(
        *(id_, cast(Kind, kind), nation, routed_to, lang, source, first, last, email, phone),
        postcode=postcode,
        tags=tuple(t for t in tags.split(",") if t),
        message=message,
        consents=tuple(ConsentProof(**c) for c in json.loads(consents)),
        client_hash=client_hash,
        created_at=created_at,
        state=cast(State, state),
        confirmed_at=confirmed_at,
        unsubscribed_at=unsub_at,
    )
