"""Small file trees built inline, so each test shows the input it is about."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

MANIFEST = {
    "name": "mini",
    "kind": "section",
    "required": ["contact.email"],
    "pages": {
        "home": {
            "template": "pages/home.html.j2",
            "path": {"fr": "index.html", "nl": "index.html"},
        },
        "agir": {
            "template": "pages/agir.html.j2",
            "path": {"fr": "agir.html", "nl": "doe-mee.html"},
        },
    },
    "emails": ["welcome"],
}

TEMPLATES = {
    "layout.html.j2": (
        '<!doctype html><html lang="{{ lang }}"><title>{% block title %}{{ nation.name }}'
        "{% endblock %}</title><body>{% block content %}{% endblock %}</body></html>\n"
    ),
    "pages/home.html.j2": (
        '{% extends "layout.html.j2" %}{% block content %}<h1>{{ t.hello }} {{ nation.name }}</h1>'
        "{% block intro %}<p>intro from blueprint</p>{% endblock %}"
        '<a href="{{ link("agir") }}">agir</a>{% endblock %}\n'
    ),
    "pages/agir.html.j2": '{% extends "layout.html.j2" %}{% block content %}agir{% endblock %}\n',
    "emails/welcome/subject.txt.j2": "{{ t.hello }} {{ recipient.first_name }}\n",
    "emails/welcome/text.txt.j2": "{{ t.hello }} {{ recipient.first_name }} - {{ nation.name }}\n",
    "emails/welcome/html.html.j2": "<p>{{ t.hello }} {{ recipient.first_name }}</p>\n",
}


def only_args(patterns: Iterable[str]) -> list[str]:
    """`deploy`'s arguments selecting the nations that match `patterns` (slugs or globs)."""
    return [arg for pattern in patterns for arg in ("--only", pattern)]


def build_file_tree(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def mini_blueprints(root: Path, templates: dict[str, str] | None = None) -> Path:
    """A minimal `section` blueprint over a base, enough to render a site."""
    bp = root / "blueprints"
    files: dict[str, str | bytes] = {
        "_base/templates/layout.html.j2": TEMPLATES["layout.html.j2"],
        "_base/assets/style.css": "body { color: #222; }\n",
        "_base/i18n/fr.yaml": "hello: Bonjour\n",
        "_base/i18n/nl.yaml": "hello: Hallo\n",
        "section/manifest.yaml": yaml.safe_dump({**MANIFEST, "name": "section"}),
    }
    for name, text in {**TEMPLATES, **(templates or {})}.items():
        if name != "layout.html.j2":
            files[f"section/templates/{name}"] = text
    build_file_tree(bp, files)
    return bp


NETWORK = {
    "name": "Horizon",
    "base_domain": "horizon.example",
    "controller": {
        "name": "Horizon asbl",
        "address": "Rue 1, 1000 Bruxelles",
        "email": "p@h.example",
    },
}


def nation(slug: str, parent: str | None = None, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"slug": slug, "name": slug.title(), "blueprint": "section"}
    if parent:
        entry["parent"] = parent
    else:
        entry["languages"] = ["fr"]
        entry["contact"] = {"email": f"{slug}@horizon.example"}
    entry.update(extra)
    return entry


def write_spec(root: Path, nations: list[dict[str, Any]], **top: Any) -> Path:
    path = root / "nations.yaml"
    data = {"version": 1, "network": NETWORK, "nations": nations, **top}
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def write_text_spec(root: Path, text: str) -> Path:
    path = root / "nations.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


REPO = Path(__file__).resolve().parent.parent


def copy_sample_network(root: Path) -> Path:
    """The repo's nations.yaml, blueprints and overrides under `root`; returns the spec.

    A snapshot: a test can break a nation, and edits to the repo cannot change a run.
    """
    for folder in ("blueprints", "nations"):
        shutil.copytree(REPO / folder, root / folder)
    shutil.copy(REPO / "nations.yaml", root / "nations.yaml")
    return root / "nations.yaml"


AREAS = ("sites", "emails", "private")


def live_files(out: Path, areas: Iterable[str] = AREAS) -> dict[str, bytes]:
    """Every nation's live files of `areas` in a local output, as `area/slug/path`
    (through each nation's link, not the release folders)."""
    files = {}
    for area in areas:
        for live in (p for p in (out / area).iterdir() if not p.name.startswith(".")):
            for path in (p for p in live.rglob("*") if p.is_file()):
                files[f"{area}/{live.name}/{path.relative_to(live)}"] = path.read_bytes()
    return files
