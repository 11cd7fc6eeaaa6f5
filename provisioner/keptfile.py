"""Files a run keeps for the next one: compiled templates, the parsed spec, language tags.

Each is written whole or not at all (a temporary file renamed over it), so a run reading
one meanwhile never sees half of it; one that cannot be written only makes the next run
slower, so a failure to write is not an error.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from pathlib import Path


def keep_file(path: Path, data: bytes) -> None:
    """Replace `path` with `data` (owner-only, like the output's other caches), or leave
    it as it was when the folder cannot be written."""
    temp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temp, path)
    except OSError:
        if temp is not None:
            with suppress(OSError):
                os.unlink(temp)
