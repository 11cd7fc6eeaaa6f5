"""Checks of a rendered site: internal links and images, as a visitor would meet them.

Problems are reported where the candidate can fix them: the line of their override or
site.yaml that holds the link or file name when there is one, else the rendered page.
"""

from __future__ import annotations

import posixpath
import re
from html.parser import HTMLParser
from pathlib import Path

from provisioner.candidates.problems import Problem

MAX_IMAGE_BYTES = 500 * 1024  # a campaign photo needs far less; big images are slow on phones
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".svg"})
NOT_A_FILE = re.compile(r"^([a-z][a-z0-9+.-]*:|//|#)", re.I)  # https:, mailto:, data:, #top


class _Links(HTMLParser):
    """Collects href/src values and images without alt text, with their line."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[int, str]] = []
        self.no_alt: list[tuple[int, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        values = {name: value or "" for name, value in attrs}
        self.refs += [(line, values[a]) for a in ("href", "src") if values.get(a)]
        if tag == "img" and not values.get("alt", "").strip():
            self.no_alt.append((line, values.get("src", "")))


class SourceLines:
    """The candidate's own text files, to find the line a rendered value came from."""

    def __init__(self, files: dict[str, str]):
        self.files = files

    @classmethod
    def of_folder(cls, folder: Path, shown: dict[Path, str]) -> SourceLines:
        return cls(
            {shown[path]: path.read_text(encoding="utf-8", errors="replace") for path in shown}
        )

    def find(self, needle: str) -> tuple[str, int] | None:
        if not needle:
            return None
        for name, text in self.files.items():
            for number, line in enumerate(text.splitlines(), start=1):
                if needle in line:
                    return name, number
        return None


def site_problems(files: dict[str, bytes], slug: str, sources: SourceLines) -> list[Problem]:
    """Broken internal links and images without alt text in every page of a built site."""
    problems = []
    for page in sorted(p for p in files if p.endswith(".html")):
        parser = _Links()
        parser.feed(files[page].decode("utf-8", errors="replace"))

        def where(line: int, value: str, page: str = page) -> tuple[str, int]:
            found = sources.find(value) or sources.find(posixpath.basename(value))
            return found or (f"rendered/{slug}/{page}", line)

        for line, url in parser.refs:
            if not _resolves(page, url, files):
                message = f"broken internal link {url!r} (on {page})"
                problems.append(Problem(*where(line, url), message))
        for line, src in parser.no_alt:
            message = f'image {src!r} has no alt text (on {page}); describe it in alt="..."'
            problems.append(Problem(*where(line, src), message))
    return problems


def _resolves(page: str, url: str, files: dict[str, bytes]) -> bool:
    if NOT_A_FILE.match(url):
        return True
    path = re.split(r"[?#]", url, maxsplit=1)[0]
    if path.startswith("/"):
        return False  # the site may live under a prefix: only relative links are portable
    target = posixpath.normpath(posixpath.join(posixpath.dirname(page), path))
    if path.endswith("/") or target == ".":
        target = posixpath.join(target, "index.html").removeprefix("./")
    return target in files


def image_problems(assets: Path, shown: str) -> list[Problem]:
    """Images of the nation's assets/ folder over MAX_IMAGE_BYTES."""
    if not assets.is_dir():
        return []
    problems = []
    for path in sorted(assets.rglob("*")):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            size = path.stat().st_size
            if size > MAX_IMAGE_BYTES:
                name = f"{shown}/{path.relative_to(assets).as_posix()}"
                message = (
                    f"image is {size // 1024} KB, over the {MAX_IMAGE_BYTES // 1024} KB limit; "
                    "resize it (1200 px wide is plenty) or compress it"
                )
                problems.append(Problem(name, None, message))
    return problems
