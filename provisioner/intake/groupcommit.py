"""Group commit: many threads' writes to one SQLite file, one transaction per batch.

The first write waiting starts a transaction; every write queued meanwhile joins it;
one COMMIT (one fsync with synchronous=FULL) then releases them all. A write that
raises is rolled back alone (a savepoint each) and its caller gets the exception.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
BATCH_MAX = 256  # writes per transaction at most; bounds the latency of one commit
Write = Callable[[sqlite3.Connection], Any]


class GroupCommit:
    """One thread owning the write connection; queued writes commit together."""

    def __init__(self, conn: sqlite3.Connection):
        self._queue: queue.SimpleQueue[tuple[Write, Future[Any]]]
        self._queue = queue.SimpleQueue()
        self._conn = conn  # opened with check_same_thread=False, used by this thread only
        self._thread = threading.Thread(target=self._loop, name="intake-writer", daemon=True)
        self._stopped = False
        self._thread.start()

    def run(self, write: Callable[[sqlite3.Connection], T]) -> T:
        """Run `write` in the next transaction; return its result once committed."""
        if self._stopped:
            raise RuntimeError("the intake store is closed")
        future: Future[T] = Future()
        self._queue.put((write, future))
        return future.result()

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._queue.put((_STOP, Future()))
            self._thread.join()
            self._conn.close()

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(write is _STOP for write, _ in batch)
            self._commit([item for item in batch if item[0] is not _STOP])
            if stop:
                return

    def _commit(self, batch: list[tuple[Write, Future[Any]]]) -> None:
        if not batch:
            return
        conn = self._conn
        results: list[tuple[Future[Any], bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for write, future in batch:
                # A savepoint per write: one refused write never undoes its neighbours.
                conn.execute("SAVEPOINT one")
                try:
                    results.append((future, True, write(conn)))
                    conn.execute("RELEASE one")
                except Exception as exc:  # handed to the caller, who reports it
                    conn.execute("ROLLBACK TO one")
                    conn.execute("RELEASE one")
                    results.append((future, False, exc))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for _, future in batch:
                future.set_exception(exc)
            return
        for future, ok, value in results:  # only now is everything on disk
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)


def _STOP(conn: sqlite3.Connection) -> None:  # sentinel write that ends the writer
    return None
