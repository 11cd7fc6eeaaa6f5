"""Writing private files: 0600 files in 0700 directories, replaced atomically.

Supporter data is political-opinion data (GDPR art. 9): nobody else on the machine
may read it, and a crash must never leave half a list that looks complete.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from ..csvsafe import csv_bytes, escape_controls
from .ingest import Quarantined

FILE_MODE = 0o600
DIR_MODE = 0o700


def ensure_private_dir(directory: Path) -> None:
    """Create `directory` and missing parents as 0700; make `directory` itself 0700."""
    missing = [d for d in (directory, *directory.parents) if not d.exists()]
    for created in reversed(missing):
        created.mkdir(mode=DIR_MODE, exist_ok=True)
        os.chmod(created, DIR_MODE)  # mkdir's mode is filtered by the umask
    os.chmod(directory, DIR_MODE)


@contextmanager
def private_writer(path: Path) -> Iterator[BinaryIO]:
    """Yield a binary handle whose content replaces `path` (0600) only on success."""
    ensure_private_dir(path.parent)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def write_private_file(path: Path, data: bytes) -> None:
    """Atomically write `data` to `path` as 0600, creating parent directories 0700."""
    with private_writer(path) as handle:
        handle.write(data)


QUARANTINE_COLUMNS = ("line", "reason", "raw")


def render_quarantine(quarantined: Iterable[Quarantined]) -> bytes:
    """The bytes of `_quarantine.csv`: line, reason and raw record of every bad row.

    Ops open this file to see what went wrong, so it must be the safest of all: the
    raw record is kept only escaped (no control, invisible or non-UTF-8 character
    survives as such) and no cell runs as a formula.
    """
    rows = (
        (str(item.line), escape_controls(item.reason), escape_controls(item.raw))
        for item in quarantined
    )
    return csv_bytes(QUARANTINE_COLUMNS, rows, phone_columns=())[0]
