"""Which files a candidate may publish from `nations/<slug>/assets/`.

Anything there is served from the nation's own domain, so an HTML file or an SVG with a
script would run code on the campaign's site. Only the types a campaign site needs are
published; an image must be what its name says (a browser that sniffs a mislabelled
file could run it as a page), and an SVG is published only when it holds no script,
event handler, embedded document or link out of the file. Such an SVG is refused, not
rewritten: the candidate sees what was wrong and fixes their own file.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from pathlib import Path

from provisioner.candidates.problems import Problem, shown_path

# What a campaign site needs: images, a PDF (a programme, a leaflet) and web fonts.
ALLOWED_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".svg", ".ico", ".pdf"}
    | {".woff", ".woff2"}
)
# First bytes of each binary type; a file must start with one of its type's.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".pdf": (b"%PDF-",),
    ".woff": (b"wOFF",),
    ".woff2": (b"wOF2",),
}
SVG_FORBIDDEN_ELEMENTS = frozenset({"script", "foreignobject", "iframe", "embed", "object"})
SAFE_REFERENCE = re.compile(r"^(#|data:image/(png|jpeg|gif|webp);)", re.I)
MEDIA_ATTRIBUTES = frozenset({"href", "src"})
SCRIPT_URL = re.compile(r"^\s*javascript\s*:", re.I)  # also in <set to=...>, <animate values=...>


def asset_problems(assets: Path) -> list[Problem]:
    """One problem per file of the nation's assets/ folder that may not be published."""
    if not assets.is_dir():
        return []
    problems = []
    for path in sorted(p for p in assets.rglob("*") if p.is_file()):
        problems += file_problems(path, shown_path(path))
    return problems


def file_problems(path: Path, shown: str) -> list[Problem]:
    suffix = path.suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        allowed = ", ".join(sorted(ALLOWED_SUFFIXES))
        return [Problem(shown, None, f"{suffix or 'a file without a type'} is not published; "
                        f"assets may be {allowed}")]  # fmt: skip
    data = path.read_bytes()
    if suffix in SIGNATURES and not data.startswith(SIGNATURES[suffix]):
        message = f"this is not a {suffix[1:].upper()} file; save it in that format"
        return [Problem(shown, None, message)]
    if suffix == ".svg":
        return [Problem(shown, line, message) for line, message in svg_problems(data)]
    return []


def svg_problems(data: bytes) -> list[tuple[int | None, str]]:
    """(line, message) for everything in an SVG that could run code or load a document."""
    found: list[tuple[int | None, str]] = []
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")

    def start(name: str, attributes: dict[str, str]) -> None:
        line = parser.CurrentLineNumber
        local = name.rpartition(" ")[2].lower()
        if local in SVG_FORBIDDEN_ELEMENTS:
            found.append((line, f"<{local}> is not allowed in an SVG image"))
        for attribute, value in attributes.items():
            attr = attribute.rpartition(" ")[2].lower()
            if attr.startswith("on"):
                found.append((line, f"event handler {attr}= is not allowed in an SVG image"))
            elif SCRIPT_URL.search(value) or ";javascript:" in value.replace(" ", "").lower():
                found.append((line, f"{attr}=: javascript: is not allowed in an SVG image"))
            elif attr in MEDIA_ATTRIBUTES and not SAFE_REFERENCE.match(value.strip()):
                message = f"{attr}={value[:60]!r}: an SVG may only refer to its own parts (#id)"
                found.append((line, message))

    def doctype(*_: object) -> None:
        # Entities can expand without bound or read local files; an image needs none.
        found.append((parser.CurrentLineNumber, "remove the <!DOCTYPE>: not allowed in SVG"))

    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        return [(exc.lineno, f"not a valid SVG file: {xml.parsers.expat.ErrorString(exc.code)}")]
    return found
