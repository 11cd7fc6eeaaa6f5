"""What one run of the S3 target holds: its live index, its lock, its shared templates.

Reads come first and take nothing; the first write takes the lock (so a no-op run makes
no write at all), checks that no other deploy saved an index since this run read it,
and marks the nations of the run pending. `finish` saves the index, deletes templates
no live nation uses, and releases the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from provisioner.errors import LockError
from provisioner.run.shard import RunScope
from provisioner.targets.liveindex import LiveIndex
from provisioner.targets.ratelimit import RateLimits
from provisioner.targets.s3lock import S3Lock
from provisioner.targets.ses import SharedTemplates


class S3Run:
    def __init__(
        self,
        s3: Any,
        ses: Any,
        bucket: str,
        scope: RunScope,
        limits: RateLimits,
        lease_s: float,
        list_published: Callable[[], Iterator[str]],
    ):
        self.s3, self.bucket, self.scope, self.lease_s = s3, bucket, scope, lease_s
        self.index = LiveIndex(s3, bucket, scope.shard_index, scope.shard_count, scope.key)
        self.templates = SharedTemplates(ses, limits)
        self.lock: S3Lock | None = None
        self.asked: set[str] = set()  # nations this run looked at: pending once it writes
        self._list_published = list_published
        self._loaded = False
        self._guard = threading.Lock()

    def load(self) -> None:
        """Read the index once (and, for a bucket without one, list what is published)."""
        with self._guard:
            if self._loaded:
                return
            self.index.load()
            if not self.index.complete:
                self.index.seed(self._list_published())
            live = [e.templates or () for e in self.index.entries.values() if e.release]
            self.templates.known.update(name for names in live for name in names)
            self._loaded = True

    def lookup(self, slug: str) -> tuple[bool, str | None]:
        self.load()
        self.asked.add(slug)
        return self.index.lookup(slug)

    def begin_write(self) -> None:
        """Before any write: take the lock (once), or fail if it was lost meanwhile."""
        self.load()
        with self._guard:
            if self.lock is not None:
                self.lock.check()
                return
            lock = S3Lock(self.s3, self.bucket, self.scope, self.lease_s)
            lock.acquire()
            if self.index.changed_since_load():
                lock.release()
                raise LockError(
                    "another deploy saved its changes to this target after this run read "
                    "it; nothing was written: run the deploy again"
                )
            self.index.mark(self.asked)
            self.lock = lock

    def finish(self, ses_enabled: bool) -> None:
        """Save the index, forget unused templates, release the lock (if ever taken)."""
        if self.lock is None:
            return
        try:
            if self.lock.lost:  # someone took over: leave the pending marks for the next run
                return
            if not self.index.exclusive:
                self.index.refresh()
            self.index.save()
            if ses_enabled:
                self.templates.forget(self.index.unused_templates(self.templates.registered))
        finally:
            self.lock.release()
            self.lock = None
