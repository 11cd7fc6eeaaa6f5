"""Whether a string is a valid BCP 47 language tag, remembered between deploys.

langcodes answers from the IANA registry, but importing it costs about 20 ms (most of
it compiling its registry's one big regex), a twentieth of a one-nation redeploy, for
the same few tags every time (fr, nl, de). A deploy keeps the tags found valid beside
its output (`<out>/.cache/language-tags.json`, with the installed langcodes' path and
modification time: another langcodes starts afresh), and langcodes is imported only for
a tag not seen before. A tag found invalid is never kept; a file that cannot be read or
written is only slower. The file is read while the spec is checked and written by
`save` only, which a deploy calls once it holds its lock and writes its output (input
refused: nothing written); validate, plan and check never do.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from functools import cache
from pathlib import Path
from types import ModuleType

from provisioner.keptfile import keep_file

_lock = threading.Lock()
_kept: dict[Path | None, set[str]] = {}  # memo file (None: none) -> tags known valid


def is_language_tag(tag: str, memo: Path | None = None) -> bool:
    """A well-formed, registered BCP 47 tag (fr, de, fr-BE, zh-Hant); `memo`: the file
    that keeps the answers between runs."""
    if "_" in tag:  # fr_BE: a POSIX locale, not a tag
        return False
    with _lock:
        known = _known(memo)
    if tag in known:
        return True
    valid = bool(langcodes().tag_is_valid(tag))
    if valid:
        with _lock:
            known.add(tag)
    return valid


def save(memo: Path) -> None:
    """Keep in `memo` the tags found valid with it this run (if any were new)."""
    with _lock:
        known = _kept.get(memo)
        if known is not None and known != _read(memo):
            _write(memo, known)


def standard_tag(tag: str) -> str:
    """`tag` in its standard form and case (fr-be -> fr-BE)."""
    return str(langcodes().standardize_tag(tag))


@cache
def langcodes() -> ModuleType:
    import langcodes as module

    return module


def _known(memo: Path | None) -> set[str]:
    if memo not in _kept:
        _kept[memo] = _read(memo) if memo is not None else set()
    return _kept[memo]


def _read(memo: Path) -> set[str]:
    try:
        data = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(data, dict) or data.get("langcodes") != _installed():
        return set()
    tags = data.get("valid")
    return {tag for tag in tags if isinstance(tag, str)} if isinstance(tags, list) else set()


def _write(memo: Path, known: set[str]) -> None:
    data = {"langcodes": _installed(), "valid": sorted(known)}
    keep_file(memo, json.dumps(data).encode())  # whole or not at all (keptfile.py)


@cache
def _installed() -> str:
    """Which langcodes is installed (its path and modification time), unimported."""
    spec = importlib.util.find_spec("langcodes")
    origin = spec.origin if spec is not None else None
    try:
        stamp = os.stat(origin).st_mtime_ns if origin else 0
    except OSError:
        stamp = 0
    return hashlib.sha256(f"{origin}\0{stamp}".encode()).hexdigest()[:16]
