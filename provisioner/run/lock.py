"""One deploy at a time per target, with the holder named when refused.

A POSIX record lock (`lockf`) is released by the kernel when its holder dies, so a lock
left by a killed deploy is taken over safely by the next one: no stale-lock heuristics.
Unlike `flock`, it belongs to the process, not to the file descriptor, so the build
worker processes forked by the holder never keep it alive after the holder is gone.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from provisioner.errors import LockError


@contextmanager
def deploy_lock(path: Path, command: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise LockError(_refusal(path)) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": command,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _refusal(path: Path) -> str:
    try:
        holder = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        holder = {}
    who = (
        f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
        f"started {holder.get('started_at', '?')} ({holder.get('command', '?')})"
    )
    return (
        f"another deploy holds the lock {path}: {who}; wait for it to finish "
        "(a lock left by a dead process is taken over automatically)"
    )
