"""File digests that trust an unchanged stat (filestat.py), kept in the state database.

A deploy hashed the whole supporter export on every run (30 ms of a one-nation deploy
for 200,000 rows); its digest is now kept with the file's stat and read again only when
the stat changed or cannot prove anything yet (a file written within RACY_NS).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from provisioner import filestat
from provisioner.filestat import Stat, file_digest, stat_of
from provisioner.run.state import State

RACY_S = 0.2
FORGED = "f" * 64  # a digest no file here has: returned only when the bytes are not read


class Memo:
    """An in-memory DigestMemo, to see what file_digest asks for and keeps."""

    def __init__(self) -> None:
        self.kept: dict[str, tuple[Stat, str]] = {}

    def known_digest(self, path: str, stat: Stat) -> str | None:
        found = self.kept.get(path)
        return found[1] if found and found[0] == stat else None

    def keep_digest(self, path: str, stat: Stat, digest: str) -> None:
        self.kept[path] = (stat, digest)


@pytest.fixture(autouse=True)
def short_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filestat, "RACY_NS", int(RACY_S * 1e9))


def settled(path: Path, data: bytes) -> Path:
    """Write `path`, date it a minute back and wait out the racy window (its ctime)."""
    path.write_bytes(data)
    when = time.time() - 60
    os.utime(path, (when, when))
    time.sleep(RACY_S * 1.25)
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_unchanged_stat_stands_for_the_bytes_and_any_write_is_seen(tmp_path: Path) -> None:
    export, memo = settled(tmp_path / "supporters.csv", b"id,email\n1,a@example.org\n"), Memo()
    assert file_digest(export, memo) == sha(export.read_bytes())
    name = str(export.resolve())
    assert memo.kept[name] == (stat_of(export), sha(export.read_bytes()))
    memo.kept[name] = (memo.kept[name][0], FORGED)
    assert file_digest(export, memo) == FORGED  # trusted: the file was not read again
    # Same size, timestamps put back: the ctime (and the content) still tell.
    new = settled(export, b"id,email\n2,b@example.org\n")
    assert file_digest(new, memo) == sha(b"id,email\n2,b@example.org\n")
    assert memo.kept[name][1] == sha(b"id,email\n2,b@example.org\n")


def test_a_file_written_within_the_racy_window_is_always_read(tmp_path: Path) -> None:
    export, memo = tmp_path / "supporters.csv", Memo()
    export.write_bytes(b"id\n1\n")
    stat = stat_of(export)
    assert stat is not None
    memo.kept[str(export.resolve())] = (stat, FORGED)
    assert file_digest(export, memo) == sha(b"id\n1\n")
    assert memo.kept[str(export.resolve())][1] == FORGED  # nothing kept for a racy stat
    assert file_digest(export) == sha(b"id\n1\n")  # without a memo: always read


def test_the_state_keeps_one_digest_per_file_and_stat(tmp_path: Path) -> None:
    state = State(tmp_path / "state.db")
    stat: Stat = (10, 1, 2, 3)
    state.keep_digest("/data/supporters.csv", stat, sha(b"a"))
    state.close()
    state = State(tmp_path / "state.db")  # kept across runs
    assert state.known_digest("/data/supporters.csv", stat) == sha(b"a")
    assert state.known_digest("/data/supporters.csv", (10, 1, 2, 4)) is None
    assert state.known_digest("/data/ledger.csv", stat) is None
    state.keep_digest("/data/supporters.csv", (11, 5, 5, 3), sha(b"b"))
    assert state.known_digest("/data/supporters.csv", stat) is None  # replaced, not added
    assert state.known_digest("/data/supporters.csv", (11, 5, 5, 3)) == sha(b"b")
    state.close()
