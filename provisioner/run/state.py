"""SQLite store of runs, releases and the last known status of every nation.

The target is the truth about what is live; the state remembers how it got there
(fingerprints, releases, errors, durations), which makes incremental deploys, reports,
history and rollback possible.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.filestat import Stat

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, command TEXT NOT NULL, target TEXT NOT NULL,
    started_at TEXT NOT NULL, finished_at TEXT, summary TEXT, report TEXT
);
CREATE TABLE IF NOT EXISTS nation_runs (
    run_id TEXT NOT NULL, slug TEXT NOT NULL, status TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (run_id, slug)
);
CREATE TABLE IF NOT EXISTS nations (
    slug TEXT PRIMARY KEY, status TEXT NOT NULL, run_id TEXT NOT NULL, updated_at TEXT NOT NULL,
    fingerprint TEXT, release TEXT, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS releases (
    slug TEXT NOT NULL, release TEXT NOT NULL, run_id TEXT NOT NULL, fingerprint TEXT,
    digest TEXT, created_at TEXT NOT NULL, manifest TEXT NOT NULL,
    PRIMARY KEY (slug, release)
);
-- The network view asks for every nation's last failure on each deploy: without this,
-- a scan of every nation's every run, slower with each deploy of the output's history.
CREATE INDEX IF NOT EXISTS nation_runs_failed ON nation_runs (run_id) WHERE status = 'failed';
CREATE TABLE IF NOT EXISTS digests (key TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS file_digests (
    path TEXT PRIMARY KEY, stat TEXT NOT NULL, digest TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS noop (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Deployed:
    """What the state remembers of a nation's last good publish."""

    fingerprint: str | None
    release: str | None
    counts: dict[str, int] = field(default_factory=dict)
    private_fingerprint: str | None = None
    pages_fingerprint: str | None = None


class State:
    """One SQLite database per target output; safe to call from worker threads."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- runs ------------------------------------------------------------------------------
    def start_run(self, run_id: str, command: str, target: str, started_at: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO runs (run_id, command, target, started_at) VALUES (?, ?, ?, ?)",
                (run_id, command, target, started_at),
            )

    def finish_run(
        self, run_id: str, finished_at: str, summary: dict[str, int], report: dict[str, Any]
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE runs SET finished_at = ?, summary = ?, report = ? WHERE run_id = ?",
                (finished_at, json.dumps(summary), json.dumps(report), run_id),
            )

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT run_id, command, target, started_at, finished_at, summary FROM runs "
                "ORDER BY started_at DESC, rowid DESC LIMIT ?",
                (limit,),
            ).fetchall()
        keys = ("run_id", "command", "target", "started_at", "finished_at", "summary")
        return [
            {**dict(zip(keys, row, strict=True)), "summary": json.loads(row[5] or "{}")}
            for row in rows
        ]

    def run_report(self, run_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT report FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    # -- per-nation supporter digests (audience.DigestCache) --------------------------------
    def cached_digests(self, key: str) -> dict[str, str] | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM digests WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def cache_digests(self, key: str, digests: dict[str, str]) -> None:
        """Keep the digests of the latest export only: older ones are never asked for."""
        with self._transaction() as db:
            db.execute("DELETE FROM digests")
            db.execute("INSERT INTO digests VALUES (?, ?)", (key, json.dumps(digests)))

    # -- digests of input files, with the stat they were taken at (filestat.DigestMemo) --
    def known_digest(self, path: str, stat: Stat) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT digest FROM file_digests WHERE path = ? AND stat = ?", (path, repr(stat))
            ).fetchone()
        return row[0] if row else None

    def keep_digest(self, path: str, stat: Stat, digest: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO file_digests VALUES (?, ?, ?)", (path, repr(stat), digest)
            )

    # -- the no-op shortcut (run/noop.py) ---------------------------------------------------
    def noop(self) -> dict[str, Any] | None:
        """The inputs key of the last all-good deploy, its run id and the nations' kinds."""
        with self._lock:
            row = self._db.execute("SELECT data FROM noop WHERE id = 1").fetchone()
        return json.loads(row[0]) if row else None

    def remember_noop(self, record: dict[str, Any]) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO noop VALUES (1, ?)", (json.dumps(record),))

    def forget_noop(self) -> None:
        """Whatever changed the target outside a deploy (rollback, prune) calls this."""
        with self._transaction() as db:
            db.execute("DELETE FROM noop")

    # -- nations ---------------------------------------------------------------------------
    def deployed(self) -> dict[str, Deployed]:
        """Last good fingerprint and release of every nation, in one query."""
        with self._lock:
            rows = self._db.execute(
                "SELECT slug, fingerprint, release, data FROM nations"
            ).fetchall()
        deployed = {}
        for slug, fingerprint, release, data in rows:
            last = json.loads(data)
            deployed[slug] = Deployed(
                fingerprint,
                release,
                last.get("counts") or {},
                last.get("private_fingerprint"),
                # Of the pages of the release that outcome published or kept: none once
                # the nation serves another (a rollback switches the release only).
                last.get("pages_fingerprint") if last.get("release") == release else None,
            )
        return deployed

    def record_nations(self, run_id: str, when: str, results: list[dict[str, Any]]) -> None:
        """Store outcomes in one transaction; a failure keeps the last good fingerprint/release."""
        if not results:
            return
        with self._transaction() as db:
            for result in results:
                self._record(db, run_id, when, result)

    def record_nation(self, run_id: str, when: str, result: dict[str, Any]) -> None:
        self.record_nations(run_id, when, [result])

    @staticmethod
    def _record(db: sqlite3.Connection, run_id: str, when: str, result: dict[str, Any]) -> None:
        slug, status = result["slug"], result["status"]
        data = json.dumps(result)
        good = status in ("deployed", "unchanged")
        db.execute(
            "INSERT OR REPLACE INTO nation_runs (run_id, slug, status, data) VALUES (?,?,?,?)",
            (run_id, slug, status, data),
        )
        db.execute(
            "INSERT INTO nations (slug, status, run_id, updated_at, fingerprint, release, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(slug) DO UPDATE SET"
            " status = excluded.status, run_id = excluded.run_id,"
            " updated_at = excluded.updated_at, data = excluded.data,"
            " fingerprint = CASE WHEN ? THEN excluded.fingerprint ELSE nations.fingerprint END,"
            " release = CASE WHEN ? THEN excluded.release ELSE nations.release END",
            (
                slug,
                status,
                run_id,
                when,
                result.get("fingerprint") if good else None,
                result.get("release") if good else None,
                data,
                good,
                good,
            ),
        )

    def record_release(
        self, slug: str, release: str, run_id: str, fingerprint: str, digest: str, when: str,
        manifest: Mapping[str, str],
    ) -> None:  # fmt: skip
        """History of a publish; what is live is the target's to say (`live_manifest`)."""
        entries = json.dumps(dict(manifest))
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO releases VALUES (?, ?, ?, ?, ?, ?, ?)",
                (slug, release, run_id, fingerprint, digest, when, entries),
            )

    def set_release(self, slug: str, release: str, fingerprint: str | None) -> None:
        """After a rollback: the nation now serves `release`, built from `fingerprint`."""
        with self._transaction() as db:
            db.execute("DELETE FROM noop")  # the next deploy must see the rolled-back nation
            db.execute(
                "UPDATE nations SET release = ?, fingerprint = ? WHERE slug = ?",
                (release, fingerprint, slug),
            )

    def release_fingerprint(self, slug: str, release: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT fingerprint FROM releases WHERE slug = ? AND release = ?", (slug, release)
            ).fetchone()
        return row[0] if row else None

    def live_releases(self) -> dict[str, str | None]:
        """The release each nation serves, as the state remembers it."""
        with self._lock:
            rows = self._db.execute("SELECT slug, release FROM nations").fetchall()
        return dict(rows)

    def nation_statuses(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT data FROM nations ORDER BY slug").fetchall()
        return [json.loads(row[0]) for row in rows]

    def nation_records(self) -> list[dict[str, Any]]:
        """Every nation's last outcome, with the run that set it and the release it serves.

        `live_release` can differ from the outcome's `release`: a nation that failed keeps
        serving its last good release.
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT data, run_id, updated_at, release FROM nations ORDER BY slug"
            ).fetchall()
        return [
            {**json.loads(data), "run_id": run_id, "updated_at": updated, "live_release": live}
            for data, run_id, updated, live in rows
        ]

    def live_release_times(self) -> dict[str, str]:
        """When each nation's live release was made (for the network view's ages)."""
        with self._lock:
            # CROSS JOIN keeps nations the outer loop (one key lookup each): SQLite
            # otherwise scanned every release ever kept, manifests and all, per deploy.
            rows = self._db.execute(
                "SELECT n.slug, r.created_at FROM nations n CROSS JOIN releases r"
                " ON r.slug = n.slug AND r.release = n.release"
            ).fetchall()
        return dict(rows)

    def last_failures(self) -> dict[str, tuple[str, str, dict[str, Any]]]:
        """Each nation's most recent failure: (run id, run start, error), if any."""
        with self._lock:
            rows = self._db.execute(
                "SELECT nr.slug, nr.run_id, r.started_at, nr.data FROM nation_runs nr"
                " JOIN runs r ON r.run_id = nr.run_id WHERE nr.status = 'failed'"
                " ORDER BY r.started_at, r.rowid"
            ).fetchall()
        return {  # later rows win: the most recent failure
            slug: (run_id, started, json.loads(data).get("error") or {})
            for slug, run_id, started, data in rows
        }

    def last_run_id(self, command: str) -> str | None:
        """The most recent finished run of `command` (such as "deploy"), if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT run_id FROM runs WHERE command = ? AND report IS NOT NULL"
                " ORDER BY started_at DESC, rowid DESC LIMIT 1",
                (command,),
            ).fetchone()
        return row[0] if row else None

    def forget(self, slug: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM noop")
            db.execute("DELETE FROM nations WHERE slug = ?", (slug,))
