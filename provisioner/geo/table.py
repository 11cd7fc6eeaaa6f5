"""The CSV geography format, for any country: one area per line.

    code,name,kind,parent,postcodes
    NL-NH,Noord-Holland,provincie,,
    0363,Amsterdam,gemeente,NL-NH,1011 AB|1012 CD

`parent` is the code of the enclosing area (empty for a top-level area); `postcodes`
are the postcodes the area spans, separated by `|` (a postcode may hold a space). A
postcode listed by several areas spans all of them (that is what makes it legal for
unrelated nations to share it). The French geography the project ships is a file in this format.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from .base import Area, GeographyError

COLUMNS = ("code", "name", "kind", "parent", "postcodes")


def read_areas(lines: Iterable[str], display: str) -> list[Area]:
    """Areas of a CSV geography; every problem is reported at once, by line."""
    reader = csv.reader(lines)
    header = [name.strip().lower() for name in next(reader, [])]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise GeographyError(
            f"{display}:1: missing column(s) {', '.join(missing)}; "
            f"the header must be: {','.join(COLUMNS)}"
        )
    position = [header.index(column) for column in COLUMNS]
    areas: list[Area] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if not any(value.strip() for value in record):
            continue
        values = [record[i].strip() if i < len(record) else "" for i in position]
        code, name, kind, parent, postcodes = values
        if not code or not name or not kind:
            problems.append(f"{display}:{line}: code, name and kind are required")
            continue
        if code in seen:
            problems.append(f"{display}:{line}: duplicate code {code!r} (line {seen[code]})")
            continue
        seen[code] = line
        codes = tuple(p.strip() for p in postcodes.split("|") if p.strip())
        areas.append(Area(code, name, kind, parent or None, codes))
    known = {area.code for area in areas}
    for area in areas:
        if area.parent and area.parent not in known:
            problems.append(
                f"{display}:{seen[area.code]}: parent {area.parent!r} of {area.code!r} is not "
                "a code of this file; add that area or leave parent empty"
            )
    if problems:
        raise GeographyError("\n".join(problems))
    return areas


def read_csv_file(path: Path) -> list[Area]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise GeographyError(
            f"{path}: geography file not found; fix `network.geography` in nations.yaml"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GeographyError(f"{path}: cannot be read as UTF-8 CSV ({exc})") from None
    return read_areas(io.StringIO(text), str(path))
