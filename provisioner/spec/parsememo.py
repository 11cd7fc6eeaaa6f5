"""nations.yaml parsed once per version of the file, kept beside the output.

Parsing the sample's 444 nations with the line of every key took 0.1 s of each deploy
that changes anything: a fifth of a one-page edit's deploy. A deploy keeps what
`load_yaml` made (the data and its lines) in `<out>/.cache/spec.marshal`, with the
file's path and stat, and a later run whose spec has that stat loads it instead. The
stat proves the bytes by the one rule of `filestat.py` (a file written too recently is
parsed every time, and never kept). Data marshal cannot hold (a YAML date) is not kept.

The memo is marshal data, never pickle, written whole (`keptfile.py`) and only by
`save`, which a deploy calls once it holds its lock and writes its output
(input refused: nothing written); validate, plan and check never write it. Like the
template cache beside it, it is trusted as the deploying user's own: whoever can write
the output folder can already change what it serves.
"""

from __future__ import annotations

import marshal
import threading
from pathlib import Path
from typing import Any

from provisioner.filestat import Stat, is_racy, stat_of
from provisioner.keptfile import keep_file
from provisioner.spec.yamlsource import YamlSource, load_yaml

FORMAT = 1  # bump when what load_yaml makes changes shape
_lock = threading.Lock()
_pending: dict[Path, bytes] = {}  # memo file -> what `save` writes there


def load_kept(path: Path, display_name: str, memo: Path | None) -> YamlSource:
    """`load_yaml(path)`, or what a deploy kept in `memo` for the same file and stat."""
    if memo is None:
        return load_yaml(path, display_name)
    stat = stat_of(path)
    trusted = stat is not None and not is_racy(stat)
    key = _key(path, stat)
    kept = _read(memo, key) if trusted else None
    if kept is not None:
        return YamlSource(display_name, kept[0], kept[1])
    source = load_yaml(path, display_name)
    if trusted and stat_of(path) == stat:  # not written while it was parsed
        _remember(memo, key, source)
    return source


def save(memo: Path) -> None:
    """Write what this run parsed anew into `memo` (nothing when it loaded the memo)."""
    with _lock:
        data = _pending.pop(memo, None)
    if data is not None:
        keep_file(memo, data)


def _key(path: Path, stat: Stat | None) -> tuple[Any, ...]:
    return (FORMAT, str(path.resolve()), stat)


def _read(memo: Path, key: tuple[Any, ...]) -> tuple[Any, dict[Any, int]] | None:
    try:
        kept = marshal.loads(memo.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):  # absent or damaged: parse
        return None
    if not isinstance(kept, tuple) or len(kept) != 3 or kept[0] != key:
        return None
    data, lines = kept[1], kept[2]
    return (data, lines) if isinstance(lines, dict) else None


def _remember(memo: Path, key: tuple[Any, ...], source: YamlSource) -> None:
    try:
        data = marshal.dumps((key, source.data, source.lines))
    except ValueError:  # a value marshal cannot hold (a date): parsed every time
        return
    with _lock:
        _pending[memo] = data
