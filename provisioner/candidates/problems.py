"""One problem found in a candidate's files, shown as `file:line: message`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """A problem and where it is; `line` is None for a whole file (an image, a path)."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"

    @classmethod
    def at(cls, location: str | None, message: str, default_file: str) -> Problem:
        """From a `file:line` location as carried by errors (None: `default_file`)."""
        if not location:
            return cls(default_file, None, message)
        file, _, line = location.rpartition(":")
        if file and line.isdigit():
            return cls(file, int(line), message)
        return cls(location, None, message)

    def sort_key(self) -> tuple[str, int, str]:
        return (self.file, self.line or 0, self.message)


def shown_path(path: Path) -> str:
    """How files are named in problems: relative to the working directory when under it
    (the same rule as the renderer's file names, so problems from both agree)."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative
