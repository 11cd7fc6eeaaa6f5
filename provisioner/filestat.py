"""What a file's stat proves about its bytes, and digests that trust it.

Like git's index: a file whose size, mtime, ctime and inode are those recorded when it
was last hashed has the bytes it had then, unless it was written within RACY_NS of that
record being taken (timestamps are coarse: a second write in the same tick can keep
them). The no-op shortcut (run/noop.py), the strings key memo (render/strings.py) and
the supporter export's digest (supporters/audience.py) all rest on this one rule.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Protocol

# A file written within this long before its stat could be written again, after it,
# with the same size and timestamps: its stat proves nothing ("racily clean").
RACY_NS = 1_000_000_000

Stat = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode


def stat_of(path: Path) -> Stat | None:
    """The stat that stands for `path`'s bytes; None when it cannot be read."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_size, found.st_mtime_ns, found.st_ctime_ns, found.st_ino)


def is_racy(stat: Stat, now_ns: int | None = None) -> bool:
    """True when the file changed too recently for `stat` to prove its bytes."""
    now = time.time_ns() if now_ns is None else now_ns
    return max(stat[1], stat[2]) > now - RACY_NS


class DigestMemo(Protocol):
    """Where file digests are kept between runs, with the stat they were taken at."""

    def known_digest(self, path: str, stat: Stat) -> str | None: ...

    def keep_digest(self, path: str, stat: Stat, digest: str) -> None: ...


def file_digest(path: Path, memo: DigestMemo | None = None) -> str:
    """SHA-256 of `path`'s bytes; with `memo`, read only when its stat changed (or is
    racy) since the digest was kept. Raises OSError when the file cannot be read."""
    stat = stat_of(path)
    if memo is None or stat is None or is_racy(stat):
        return _hashed(path)
    name = str(path.resolve())
    known = memo.known_digest(name, stat)
    if known is not None:
        return known
    found = _hashed(path)
    if stat_of(path) == stat:  # not written while it was read: the stat stands for it
        memo.keep_digest(name, stat, found)
    return found


def _hashed(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
