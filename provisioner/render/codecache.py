"""Compiled templates kept on disk between deploys, beside the output they made.

Compiling is a tenth of a network's render and nearly half of a one-nation redeploy
(85 templates compiled for one candidate's site), and every build worker compiled the
same templates again. A deploy keeps the code Jinja compiled in `<out>/.cache/templates`
and later runs, and the other workers of the same run, load it instead.

The compile-time checks (environments.TemplateRules._parse: forbidden syntax, the budget
ticks) are a function of the template's source and of this package's render code only,
so code that passed them once passes them again: a hit needs the same template name and
file, the same source (Jinja's checksum, first line of the file), and the same Python,
Jinja and render code (`code_version`, a folder per version; others are deleted).
Candidate rules that look beyond one file (locked blocks of the blueprint) are not
compile-time checks: they run on every build (candidates/rules.py).

A file that cannot be read or is damaged is a miss; files are written whole (a
temporary file renamed over), so a reader never sees half of one. The code is marshal
data, never pickle. Like the state database beside it, the cache is trusted as the
deploying user's own: whoever can write the output folder can already change what it
serves.
"""

from __future__ import annotations

import hashlib
import marshal
import shutil
import sys
import types
from functools import cache
from pathlib import Path

import jinja2
from jinja2.bccache import Bucket

from provisioner.keptfile import keep_file

RENDER_CODE = Path(__file__).resolve().parent  # provisioner/render/: what compiles


@cache
def code_version() -> str:
    """A digest of what shapes compiled code: Python, Jinja and this package's render
    modules (their compile-time checks and code generator)."""
    digest = hashlib.sha256(f"{sys.implementation.cache_tag} {jinja2.__version__}".encode())
    for path in sorted(RENDER_CODE.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


class DiskCode:
    """One environment kind's compiled templates under `root/<code version>/<kind>/`."""

    def __init__(self, root: Path, kind: str, writes: bool = True):
        """`writes` False: load what is there, keep nothing (`plan` writes nothing)."""
        self.root = root
        self.folder = root / code_version() / kind
        self.writes = writes
        self._made = False

    def load(self, bucket: Bucket) -> None:
        """Fill `bucket.code` from disk when a file for the same source is there."""
        try:
            data = (self.folder / bucket.key).read_bytes()
        except OSError:
            return
        checksum, _, code = data.partition(b"\n")
        if checksum != bucket.checksum.encode():
            return
        try:
            loaded = marshal.loads(code)
        except (EOFError, ValueError, TypeError):  # damaged: compile again
            return
        if isinstance(loaded, types.CodeType):
            bucket.code = loaded

    def dump(self, bucket: Bucket) -> None:
        """Keep `bucket.code`; a cache that cannot be written is only slower."""
        if not self.writes:
            return
        try:
            self._prepare()
        except OSError:
            return
        keep_file(
            self.folder / bucket.key, bucket.checksum.encode() + b"\n" + marshal.dumps(bucket.code)
        )

    def _prepare(self) -> None:
        if self._made:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.root.iterdir():  # code compiled by another version of this package
            if stale.name != code_version():
                shutil.rmtree(stale, ignore_errors=True)
        self._made = True
