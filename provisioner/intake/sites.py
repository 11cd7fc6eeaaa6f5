"""Deployed sites as `serve` shows them: by path (`/<slug>/...`) and by Host.

Only `build/sites/` is ever served, and only the folders of nations in the directory:
a path that leaves a nation's folder (`..`, a symlink out) is not found, so neither the
private lists nor the release bookkeeping can be reached through the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from provisioner.intake.directory import Directory


@dataclass(frozen=True)
class Found:
    """What a GET resolves to: a file, a redirect, or the network's index page."""

    file: Path | None = None
    redirect: str | None = None
    index: bytes | None = None


def resolve(sites: Path, directory: Directory, host: str, path: str) -> Found | None:
    """The file for `path` on `host`, or None (404)."""
    if "\x00" in path or "\\" in path:
        return None
    nation = directory.by_host(host)
    if nation is not None:
        return _file(sites / nation.slug, path.lstrip("/"))
    slug, slash, rest = path.lstrip("/").partition("/")
    if not slug:
        return Found(index=index_page(directory))
    if directory.get(slug) is None:
        return None
    if not slash:
        return Found(redirect=f"/{slug}/")
    return _file(sites / slug, rest)


def _file(folder: Path, rel: str) -> Found | None:
    if rel == "" or rel.endswith("/"):
        rel += "index.html"
    try:
        root = folder.resolve(strict=True)
        target = (root / rel).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return Found(file=target)


def index_page(directory: Directory) -> bytes:
    """`/` when served by path: every nation, linked (for local use)."""
    items = "\n".join(
        f'<li><a href="/{escape(slug)}/">{escape(n.name)}</a> <code>{escape(slug)}</code></li>'
        for slug, n in sorted(directory.nations.items())
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>provisioner serve</title></head><body><h1>Nations</h1>"
        f"<p>{len(directory.nations)} nations, served by path and by Host.</p>"
        f"<ul>\n{items}\n</ul></body></html>\n"
    ).encode()
