"""Content checks of blueprints/ and nations/*/overrides, independent of the engine.

Renders every page and email of every blueprint with a hand-made context that follows
docs/blueprints.md, in a sandboxed, strict Jinja environment layered like the engine's.
Set BLUEPRINT_PREVIEW=/some/dir to also write the rendered files there.
"""

from __future__ import annotations

import os
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    DictLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    nodes,
    select_autoescape,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from provisioner.blueprints import Catalog
from provisioner.messages import MessageBook

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = ROOT / "blueprints"
BASE = BLUEPRINTS / "_base"
NATIONS = ROOT / "nations"
LANGS = ("fr", "nl", "de")
PAGE_IDS = ["home", "agir", "promesse", "evenements", "privacy", "messages"]
PAGE_PATHS = {
    "home": {"fr": "index.html", "nl": "index.html", "de": "index.html"},
    "agir": {"fr": "agir.html", "nl": "doe-mee.html", "de": "mitmachen.html"},
    "promesse": {"fr": "promesse.html", "nl": "belofte.html", "de": "wahlversprechen.html"},
    "evenements": {"fr": "evenements.html", "nl": "evenementen.html", "de": "termine.html"},
    "privacy": {"fr": "vie-privee.html", "nl": "privacy.html", "de": "datenschutz.html"},
    "messages": {"fr": "faire-passer.html", "nl": "doorgeven.html", "de": "weitersagen.html"},
}
EMAILS = ["welcome", "pledge_thanks", "volunteer_ask", "event_reminder"]
EMAIL_PARTS = ["subject.txt.j2", "text.txt.j2", "html.html.j2"]
EXPECTED = {
    "candidate": {
        "kind": "candidate",
        "required": ["candidate.first_name", "candidate.last_name", "contact.email"],
        "segments": ["volunteers", "pledges", "to_call"],
        "dialers": ["callhub", "spoke", "thrutalk"],
    },
    "section": {
        "kind": "section",
        "required": ["contact.email"],
        "segments": ["volunteers", "members", "to_call"],
        "dialers": ["callhub"],
    },
}
PLACEHOLDERS = [
    "first_name",
    "last_name",
    "email",
    "unsubscribe_url",
    "event_name",
    "event_date",
    "event_place",
]
NETWORK = {
    "name": "Horizon",
    "base_domain": "horizon.example",
    "controller": {
        "name": "Horizon asbl/vzw",
        "address": "Rue de la Loi 1, 1000 Bruxelles",
        "email": "privacy@horizon.example",
        "dpo_email": "dpo@horizon.example",
    },
    "country": "BE",
    "geography": None,
    "geo": {
        "postcode_pattern": "[1-9][0-9]{3}",
        "postcode_example": "1000",
        "credit": {
            "source": "Statbel",
            "source_url": "https://statbel.fgov.be/",
            "licence": "CC BY 4.0",
            "licence_url": "https://creativecommons.org/licenses/by/4.0/",
        },
    },
}


def blueprint_names() -> list[str]:
    return sorted(p.name for p in BLUEPRINTS.iterdir() if p.is_dir() and p.name[0] not in "_.")


@cache
def manifest(name: str) -> dict[str, Any]:
    return yaml.safe_load((BLUEPRINTS / name / "manifest.yaml").read_text(encoding="utf-8"))


def strings(folder: Path, lang: str) -> dict[str, Any]:
    path = folder / "i18n" / f"{lang}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}


@cache
def merged_strings(blueprint: str, lang: str) -> dict[str, Any]:
    belgium = BASE / "i18n" / "countries" / "BE" / f"{lang}.yaml"  # the sample's country
    shared = deep_merge(strings(BASE, lang), yaml.safe_load(belgium.read_text(encoding="utf-8")))
    return deep_merge(shared, strings(BLUEPRINTS / blueprint, lang))


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def shape(value: Any) -> Any:
    """Keys (and list lengths) of a strings tree, without the texts."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


@cache
def message_book(blueprint: str) -> MessageBook:
    """The blueprint's message scripts, as the engine fills them (provisioner.messages)."""
    return MessageBook(Catalog(BLUEPRINTS).get(blueprint), BASE, blueprint_env(blueprint))


@cache
def blueprint_env(blueprint: str) -> Environment:
    """One environment per blueprint, as in the engine: templates compile once."""
    return make_env(blueprint)


def make_env(blueprint: str, overrides: dict[str, str] | None = None) -> Environment:
    layers: list[BaseLoader] = [
        PrefixLoader(
            {
                "@blueprint": FileSystemLoader(BLUEPRINTS / blueprint / "templates"),
                "@base": FileSystemLoader(BASE / "templates"),
            }
        ),
        FileSystemLoader(BLUEPRINTS / blueprint / "templates"),
        FileSystemLoader(BASE / "templates"),
    ]
    if overrides:
        layers.insert(0, DictLoader(overrides))
    # Whitespace options as in provisioner/rendering.py, so text emails look the same.
    return ImmutableSandboxedEnvironment(
        loader=ChoiceLoader(layers),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def make_nation(kind: str, languages: list[str], *, full: bool = True) -> dict[str, Any]:
    """A nation as documented in docs/blueprints.md; `full=False` leaves optionals empty."""
    slug = {"candidate": "marie-dubois", "section": "liege"}.get(kind, f"test-{kind}")
    child = {"slug": "child", "name": "Horizon Enfant", "url": "https://child.horizon.example/"}
    parent = {"slug": "hq", "name": "Horizon", "url": "https://www.horizon.example/"}
    nation: dict[str, Any] = {
        "slug": slug,
        "name": "Marie Dubois" if kind == "candidate" else f"Horizon {kind.title()}",
        "kind": kind,
        "blueprint": "candidate" if kind == "candidate" else "section",
        "languages": languages,
        "domain": f"{slug}.horizon.example",
        "url": f"https://{slug}.horizon.example/",
        "geo": {
            "region": None,
            "province": None,
            "municipality": None,
            "postcodes": [],
            "areas": [],
        },
        "coverage": [],
        "tags": [],
        "inherited_tags": [],
        "all_tags": [],
        "contact": None,
        "candidate": None,
        "content": {
            "slogan": None,
            "bio": None,
            "photo": None,
            "photo_alt": None,
            "colors": None,
            "social": {},
        },
        "parent": None if kind == "national" else parent,
        "children": [] if kind == "candidate" else [child],
    }
    if kind == "candidate":
        nation["candidate"] = {
            "first_name": "Marie",
            "last_name": "Dubois",
            "list_name": "Horizon Liège" if full else None,
            "list_position": 1 if full else None,
            "role": "Tête de liste" if full else None,
        }
    if full:
        nation["geo"] = {
            "region": "Région wallonne",
            "province": "Province de Liège",
            "municipality": "Liège",
            "postcodes": ["4000", "4020"],
            "areas": [],
        }
        nation["coverage"] = ["4000", "4020", "4030"]
        nation["tags"] = ["municipality:liege"]
        nation["contact"] = {
            "email": "liege@horizon.example",
            "phone": "+32 4 200 00 00",
            "address": "Place du Marché 1, 4000 Liège",
        }
        nation["content"] = {
            "slogan": "Liège <d'abord> & ensemble",
            "bio": "Première ligne.\n\nDeuxième paragraphe.",
            "photo": "photo.jpg",
            "photo_alt": "Portrait",
            "colors": {"primary": "#0b5394", "accent": "#f1c232"},
            "social": {
                "instagram": "https://instagram.example/m",
                "facebook": "https://fb.example/m",
            },
        }
    return nation


def page_context(blueprint: str, nation: dict[str, Any], page_id: str, lang: str) -> dict:
    rel = "../"

    def link(target: str, lang_: str | None = None) -> str:
        return f"{rel}{lang_ or lang}/{PAGE_PATHS[target][lang_ or lang]}"

    return {
        "lang": lang,
        "t": merged_strings(blueprint, lang),
        "nation": nation,
        "network": NETWORK,
        "page": {"id": page_id, "lang": lang, "path": PAGE_PATHS[page_id][lang]},
        "nav": [
            {"id": pid, "href": link(pid), "current": pid == page_id}
            for pid in manifest(blueprint)["pages"]
        ],
        "alternates": [
            {"lang": other, "href": link(page_id, other)}
            for other in nation["languages"]
            if other != lang
        ],
        "rel": rel,
        "link": link,
        "asset": lambda path: f"{rel}assets/{path}",
        "messages": {lang: message_book(blueprint).page_data(nation, NETWORK, lang)},
        "hunting": {"hunters": 3, "pledges": 52, "signups": 12},
    }


def email_context(blueprint: str, nation: dict[str, Any], email_id: str, lang: str) -> dict:
    return {
        "lang": lang,
        "t": merged_strings(blueprint, lang),
        "nation": nation,
        "network": NETWORK,
        "email": {"id": email_id, "lang": lang},
        "recipient": {name: "{{" + name + "}}" for name in PLACEHOLDERS},
    }


class HtmlChecker(HTMLParser):
    """Collects ids, label targets and the <html lang> of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.label_for: list[str] = []
        self.described_by: list[str] = []
        self.html_lang: str | None = None
        self.h1 = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "id" in found:
            self.ids.append(found["id"] or "")
        if tag == "label" and found.get("for"):
            self.label_for.append(found["for"] or "")
        if found.get("aria-describedby"):
            self.described_by.extend((found["aria-describedby"] or "").split())
        if tag == "html":
            self.html_lang = found.get("lang")
        if tag == "h1":
            self.h1 += 1


def check_page_html(html: str, lang: str) -> None:
    checker = HtmlChecker()
    checker.feed(html)
    assert html.startswith("<!DOCTYPE html>")
    assert checker.html_lang == lang
    assert checker.h1 == 1, "one <h1> per page"
    duplicates = {i for i in checker.ids if checker.ids.count(i) > 1}
    assert not duplicates, f"duplicate ids: {duplicates}"
    assert set(checker.label_for) <= set(checker.ids), "a <label for> points nowhere"
    assert set(checker.described_by) <= set(checker.ids), "an aria-describedby points nowhere"
    assert 'id="main"' in html
    assert "{{" not in html and "{%" not in html


SAMPLES = [
    ("candidate", "candidate", True),
    ("candidate", "candidate", False),
    ("section", "section", True),
    ("section", "section", False),
    ("section", "national", False),
    ("section", "region", True),
    ("section", "province", True),
    # Unusual pairings still render: a section site for a candidate, and the reverse.
    ("section", "candidate", True),
    ("candidate", "section", False),
]


# --- manifests and files ---------------------------------------------------------------


def test_expected_blueprints_exist() -> None:
    assert set(EXPECTED) <= set(blueprint_names())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_manifest_is_complete(name: str) -> None:
    data = manifest(name)
    assert data["name"] == name
    assert data["description"]
    for key, value in EXPECTED[name].items():
        assert data[key] == value, key
    assert list(data["pages"]) == PAGE_IDS
    for page_id, page in data["pages"].items():
        assert page == {"template": f"pages/{page_id}.html.j2", "path": PAGE_PATHS[page_id]}
    assert data["emails"] == EMAILS


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_listed_template_exists(name: str) -> None:
    templates = BLUEPRINTS / name / "templates"
    data = manifest(name)
    for page in data["pages"].values():
        found = [folder / page["template"] for folder in (templates, BASE / "templates")]
        assert any(path.is_file() for path in found), page["template"]
    for email_id in data["emails"]:
        for part in EMAIL_PARTS:
            assert (templates / "emails" / email_id / part).is_file(), f"{email_id}/{part}"


def test_base_files_exist() -> None:
    for path in ["templates/layout.html.j2", "templates/email.html.j2", "assets/style.css"]:
        assert (BASE / path).is_file(), path


@pytest.mark.parametrize("folder", [BASE] + [BLUEPRINTS / n for n in sorted(EXPECTED)])
def test_fr_nl_and_de_strings_have_the_same_keys(folder: Path) -> None:
    assert shape(strings(folder, "fr")) == shape(strings(folder, "nl"))
    assert shape(strings(folder, "de")) == shape(strings(folder, "fr"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_blueprint_strings_only_add_top_level_keys(name: str) -> None:
    # Then a shallow or a deep merge over the base strings give the same result.
    for lang in LANGS:
        assert not set(strings(BLUEPRINTS / name, lang)) & set(strings(BASE, lang))


def all_template_files() -> list[Path]:
    return sorted([*BLUEPRINTS.rglob("*.j2"), *NATIONS.rglob("*.j2")])


@pytest.mark.parametrize("path", all_template_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_template_parses(path: Path) -> None:
    Environment().parse(path.read_text(encoding="utf-8"))


def override_files() -> list[Path]:
    return sorted(NATIONS.glob("*/overrides/**/*.j2"))


@pytest.mark.parametrize("path", override_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_override_holds_only_blocks(path: Path) -> None:
    tree = Environment().parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, nodes.Output):
            assert all(
                isinstance(part, nodes.TemplateData) and not part.data.strip()
                for part in node.nodes
            ), "text outside blocks"
        else:
            assert isinstance(node, nodes.Block), f"{type(node).__name__} outside blocks"


# --- rendering -------------------------------------------------------------------------


def preview(path: str, text: str) -> None:
    folder = os.environ.get("BLUEPRINT_PREVIEW")
    if folder:
        target = Path(folder) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(("blueprint", "kind", "full"), SAMPLES)
@pytest.mark.parametrize("lang", LANGS)
def test_pages_render(blueprint: str, kind: str, full: bool, lang: str) -> None:
    env = blueprint_env(blueprint)
    nation = make_nation(kind, ["fr", "nl"] if full else [lang], full=full)
    for page_id, page in manifest(blueprint)["pages"].items():
        template = env.get_template(page["template"])
        context = page_context(blueprint, nation, page_id, lang)
        html = template.render(context)
        assert html == template.render(context), "output must be deterministic"
        check_page_html(html, lang)
        assert "&lt;d&#39;abord&gt;" in html or not full, "nation text must be escaped"
        if page_id == "home" and full:
            assert "Statbel" in html and "CC BY 4.0" in html
        if page_id in ("agir", "promesse"):
            assert f'action="https://{nation["domain"]}/api/' in html
            assert 'name="consent"' in html and "required" in html
        preview(f"{kind}-{'full' if full else 'bare'}/{lang}/{PAGE_PATHS[page_id][lang]}", html)


@pytest.mark.parametrize(("blueprint", "kind", "full"), SAMPLES)
@pytest.mark.parametrize("lang", LANGS)
def test_emails_render(blueprint: str, kind: str, full: bool, lang: str) -> None:
    env = blueprint_env(blueprint)
    nation = make_nation(kind, [lang], full=full)
    for email_id in manifest(blueprint)["emails"]:
        context = email_context(blueprint, nation, email_id, lang)
        parts = {
            part: env.get_template(f"emails/{email_id}/{part}").render(context)
            for part in EMAIL_PARTS
        }
        subject, text, html = parts.values()
        assert subject.strip() and "\n" not in subject.strip()
        assert "{{first_name}}" in text and "{{first_name}}" in html
        assert "{{unsubscribe_url}}" in text and "{{unsubscribe_url}}" in html
        assert html.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in html
        assert NETWORK["controller"]["name"] in html
        assert "{%" not in text + html
        if email_id == "event_reminder":
            for name in ("event_name", "event_date", "event_place"):
                assert "{{" + name + "}}" in text + html
        for part, output in parts.items():
            preview(f"{kind}-{'full' if full else 'bare'}/emails/{lang}/{email_id}/{part}", output)


@pytest.mark.parametrize("path", override_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_override_renders_over_its_blueprint(path: Path) -> None:
    slug = path.relative_to(NATIONS).parts[0]
    name = path.relative_to(NATIONS / slug / "overrides").as_posix()
    source = path.read_text(encoding="utf-8")
    # As the engine does: extend the blueprint template, on the first line.
    wrapped = '{% extends "@blueprint/' + name + '" %}' + source
    env = make_env("candidate", {name: wrapped})
    page_id = name.removeprefix("pages/").removesuffix(".html.j2")
    for lang in LANGS:
        nation = make_nation("candidate", ["fr", "nl"])
        blueprint_html = blueprint_env("candidate").get_template(name)
        plain = blueprint_html.render(page_context("candidate", nation, page_id, lang))
        html = env.get_template(name).render(page_context("candidate", nation, page_id, lang))
        check_page_html(html, lang)
        assert html != plain, "the override changes the page"
        assert 'class="hero' in html, "blocks that are not overridden still render"


def block_names(path: Path) -> set[str]:
    tree = Environment().parse(path.read_text(encoding="utf-8"))
    return {block.name for block in tree.find_all(nodes.Block)}


@pytest.mark.parametrize("path", override_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_override_blocks_exist_in_the_blueprint(path: Path) -> None:
    # A misspelt block name would silently change nothing.
    name = "/".join(path.relative_to(NATIONS).parts[2:])  # <slug>/overrides/<name>
    known = block_names(BLUEPRINTS / "candidate" / "templates" / name)
    known |= block_names(BASE / "templates" / "layout.html.j2")
    assert block_names(path) <= known
