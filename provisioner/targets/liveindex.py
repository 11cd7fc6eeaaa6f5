"""Which release every nation serves, read once per run from a few objects.

Reading `sites/<slug>/_current` for every nation costs 10,000 GETs for a no-op at
10,000 nations. The index keeps the same facts in one object per shard layout,
`live/<index>-of-<count>.json` in the private bucket: a run lists `live/` and reads
them all (a handful), and writes only its own, once when it starts writing and once at
the end. Each entry carries the time of its switch, so the newest entry of a nation
wins across objects.

The per-nation pointer stays the source of truth whenever the index may be wrong: a
run marks every nation it may switch as pending before its first write and clears the
marks when it saves at the end, so after a crash (or a publish that failed half-way)
the next run reads those nations' pointers instead of trusting the index. Without any
index (an older bucket), every published nation is read once, then indexed.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from provisioner.targets.layout import LIVE, live_key

UNKNOWN = "?"  # published, release not known: read the pointer


@dataclass(frozen=True)
class Entry:
    release: str | None  # None: removed
    at: float
    templates: tuple[str, ...] | None = None  # None: not known


class LiveIndex:
    def __init__(self, s3: Any, bucket: str, index: int = 0, count: int = 1, run: str = ""):
        self.s3, self.bucket, self.run = s3, bucket, run
        self.key = live_key(index, count)
        self.exclusive = count == 1  # an unsharded run may fold every other object into its own
        self.entries: dict[str, Entry] = {}
        self.pending: set[str] = set()  # marked by some run that may have crashed
        self.own_pending: set[str] = set()
        self.etags: dict[str, str] = {}
        self.complete = False  # every published nation has an entry: absent = never published
        self.changed: set[str] = set()
        self.doubtful: set[str] = set()
        self.seen_templates: set[str] = set()  # named by any object read, live or superseded
        self.loaded_templates: dict[str, tuple[str, ...]] = {}  # slug -> templates at load
        self._lock = threading.Lock()

    def load(self) -> None:
        """List and read every index object; merge them, newest entry first."""
        self.etags = self._listing()
        self.complete = bool(self.etags)
        for key in sorted(self.etags):
            data = self._get(key)
            self._merge(data)
            if key == self.key:
                self.own_pending = set(data.get("pending", []))
        self.loaded_templates = {
            slug: entry.templates for slug, entry in self.entries.items() if entry.templates
        }

    def _listing(self) -> dict[str, str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=LIVE)
        return {obj["Key"]: obj["ETag"] for page in pages for obj in page.get("Contents", [])}

    def _get(self, key: str) -> dict[str, Any]:
        try:
            data = json.loads(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return {}
            raise
        return data if isinstance(data, dict) else {}

    def refresh(self) -> None:
        """Merge what other objects say now (shards of this run saved meanwhile)."""
        for key in sorted(set(self._listing()) - {self.key}):
            self._merge(self._get(key))

    def _merge(self, data: dict[str, Any]) -> None:
        sets = data.get("template_sets", {})
        self.seen_templates.update(name for names in sets.values() for name in names)
        for slug, (release, at, set_id) in data.get("nations", {}).items():
            known = self.entries.get(slug)
            if known is None or at > known.at:
                names = tuple(sets[set_id]) if set_id in sets else None
                self.entries[slug] = Entry(release, float(at), names)
        self.pending |= set(data.get("pending", []))

    def seed(self, slugs: Iterable[str]) -> None:
        """No index yet: these nations are published, with releases still to be read."""
        for slug in slugs:
            self.entries.setdefault(slug, Entry(UNKNOWN, 0.0))
        self.complete = True

    def lookup(self, slug: str) -> tuple[bool, str | None]:
        """(known, release): unknown means "read the pointer"."""
        with self._lock:
            entry = self.entries.get(slug)
            if slug in self.pending or (entry is not None and entry.release == UNKNOWN):
                return False, None
            if entry is None:
                return self.complete, None
            return True, entry.release

    def learn(self, slug: str, release: str | None) -> None:
        """What a pointer said: the truth now."""
        self.record(slug, release, keep_templates=True)

    def record(
        self,
        slug: str,
        release: str | None,
        templates: Iterable[str] | None = None,
        keep_templates: bool = False,
    ) -> None:
        with self._lock:
            old = self.entries.get(slug)
            names = tuple(sorted(templates)) if templates is not None else None
            if keep_templates and old is not None and old.release == release:
                names = old.templates
            self.entries[slug] = Entry(release, time.time(), names)
            self.pending.discard(slug)
            self.changed.add(slug)

    def doubt(self, slug: str) -> None:
        """A publish failed part-way: the pointer may say either release."""
        with self._lock:
            self.doubtful.add(slug)

    def changed_since_load(self) -> bool:
        """Did another run save an index after this one read it? (Shards of this run may.)"""
        now = self._listing()
        if set(self.etags) - set(now):
            return True
        changed = [key for key, etag in now.items() if self.etags.get(key) != etag]
        return any(self._get(key).get("run") != self.run for key in changed)

    def mark(self, slugs: Iterable[str]) -> None:
        """Before the first write: these nations are in doubt until `save`."""
        self._write(pending=set(slugs) | self.own_pending | self.pending)

    def save(self) -> None:
        """After the run: every entry known, doubts still pending."""
        if self.exclusive:
            stale = set(self._listing()) - {self.key}
            self._write(pending=self.doubtful | self.pending)
            for key in sorted(stale):  # folded into this object: their facts live on here
                self.s3.delete_object(Bucket=self.bucket, Key=key)
        else:
            self._write(pending=self.doubtful | (self.own_pending - self.changed))

    def unused_templates(self, registered: Iterable[str]) -> set[str]:
        """Templates no live nation uses any more, among those this run may judge.

        An unsharded run sees every object, so every name any of them mentions; a shard
        judges only the names its own nations used before. Nothing at all while some
        live nation's templates are unknown (indexed from its pointer alone).
        """
        with self._lock:
            live = [e for e in self.entries.values() if e.release is not None]
            if any(entry.templates is None for entry in live):
                return set()
            if self.exclusive:
                candidates = set(self.seen_templates)
            else:
                candidates = {n for s in self.changed for n in self.loaded_templates.get(s, ())}
        used = {name for entry in live for name in entry.templates or ()}
        return (candidates | set(registered)) - used

    def _write(self, pending: set[str]) -> None:
        with self._lock:
            sets: dict[str, list[str]] = {}
            nations: dict[str, list[Any]] = {}
            for slug, entry in sorted(self.entries.items()):
                set_id = None
                if entry.templates is not None:
                    names = list(entry.templates)
                    set_id = hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]
                    sets[set_id] = names
                nations[slug] = [entry.release, entry.at, set_id]
            body = {
                "run": self.run,
                "nations": nations,
                "template_sets": sets,
                "pending": sorted(pending),
            }
        self.s3.put_object(
            Bucket=self.bucket,
            Key=self.key,
            Body=json.dumps(body, separators=(",", ":")).encode(),
            ContentType="application/json",
            ServerSideEncryption="AES256",
        )
