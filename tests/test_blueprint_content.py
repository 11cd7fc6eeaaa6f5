"""Content checks of blueprints/ and nations/*/overrides, rendered by the real engine.

Every page and email of every blueprint is rendered through `Builder.render_plan` for a
small network written as nations.yaml (full and bare nations of every kind), so these
checks see exactly the context and environment a deploy uses. Set
BLUEPRINT_PREVIEW=/some/dir to also write the rendered files there.
"""

from __future__ import annotations

import os
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import write_spec

from provisioner.render.blueprints import Catalog
from provisioner.render.build import Builder
from provisioner.render.renderplan import EMAIL, PAGE, Output
from provisioner.run.deploy import Project, load, make_builder
from provisioner.spec.network import Nation

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = ROOT / "blueprints"
BASE = BLUEPRINTS / "_base"
NATIONS = ROOT / "nations"
LANGS = ("fr", "nl", "de")
PAGE_IDS = ["home", "agir", "promesse", "evenements", "privacy", "messages"]
# Where intake sends people (issue 11): not in the navigation.
INTAKE_PAGE_IDS = ["merci", "confirmation", "desinscription"]
PAGE_PATHS = {
    "home": {"fr": "index.html", "nl": "index.html", "de": "index.html"},
    "agir": {"fr": "agir.html", "nl": "doe-mee.html", "de": "mitmachen.html"},
    "promesse": {"fr": "promesse.html", "nl": "belofte.html", "de": "wahlversprechen.html"},
    "evenements": {"fr": "evenements.html", "nl": "evenementen.html", "de": "termine.html"},
    "privacy": {"fr": "vie-privee.html", "nl": "privacy.html", "de": "datenschutz.html"},
    "messages": {"fr": "faire-passer.html", "nl": "doorgeven.html", "de": "weitersagen.html"},
    "merci": {"fr": "merci.html", "nl": "bedankt.html", "de": "danke.html"},
    "confirmation": {"fr": "confirmation.html", "nl": "bevestigd.html", "de": "bestaetigt.html"},
    "desinscription": {
        "fr": "desinscription.html",
        "nl": "uitgeschreven.html",
        "de": "abgemeldet.html",
    },
}
EMAILS = ["welcome", "pledge_thanks", "volunteer_ask", "event_reminder", "confirm"]
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
}


def blueprint_names() -> list[str]:
    return sorted(p.name for p in BLUEPRINTS.iterdir() if p.is_dir() and p.name[0] not in "_.")


@cache
def manifest(name: str) -> dict[str, Any]:
    return yaml.safe_load((BLUEPRINTS / name / "manifest.yaml").read_text(encoding="utf-8"))


def strings(folder: Path, lang: str) -> dict[str, Any]:
    path = folder / "i18n" / f"{lang}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}


def shape(value: Any) -> Any:
    """Keys (and list lengths) of a strings tree, without the texts."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


LIEGE = {
    "region": "Région wallonne",
    "province": "Province de Liège",
    "municipality": "Liège",
    "postcodes": ["4000", "4020"],
}
FULL_CONTENT = {
    "slogan": "Liège <d'abord> & ensemble",
    "bio": "Première ligne.\n\nDeuxième paragraphe.",
    "photo": "photo.jpg",
    "photo_alt": "Portrait",
    "colors": {"primary": "#0b5394", "accent": "#f1c232"},
    "social": {"instagram": "https://instagram.example/m", "facebook": "https://fb.example/m"},
}


def sample_slug(blueprint: str, kind: str, full: bool, languages: list[str]) -> str:
    return f"{blueprint}-{kind}-{'full' if full else 'bare'}-{'-'.join(languages)}"


def sample_entry(
    blueprint: str, kind: str, full: bool, languages: list[str], parent: str | None
) -> dict[str, Any]:
    """A nations.yaml entry: `full` sets every optional field, else only what is required."""
    slug = sample_slug(blueprint, kind, full, languages)
    entry: dict[str, Any] = {"slug": slug, "name": f"Horizon {kind.title()}"}
    entry |= {"blueprint": blueprint, "kind": kind, "languages": languages}
    if parent:
        entry["parent"] = parent
    entry["contact"] = {"email": f"{slug}@horizon.example"}
    if blueprint == "candidate" or kind == "candidate":
        entry["candidate"] = {"first_name": "Marie", "last_name": "Dubois"}
    if full:
        entry["geo"] = LIEGE
        entry["contact"] |= {"phone": "+32 4 200 00 00", "address": "Place du Marché 1, 4000 Liège"}
        entry["content"] = FULL_CONTENT
        if "candidate" in entry:
            entry["candidate"] |= {"list_name": "Horizon Liège", "list_position": 1}
            entry["candidate"]["role"] = "Tête de liste"
    return entry


def sample_languages(full: bool) -> list[list[str]]:
    return [list(LANGS)] if full else [[lang] for lang in LANGS]


def sample_builder(root: Path) -> Builder:
    """The real blueprints over a network of every sample: the national one at the top,
    the full ones in one branch below it (they share Liège's postcodes), the bare ones
    beside it; so each has a parent and most have children."""
    national = next(s for s in SAMPLES if s[1] == "national")
    top = sample_slug(*national, ["fr"])
    entries = [sample_entry(*national, ["fr"], None)]
    parent = top
    for blueprint, kind, full in SAMPLES:
        for languages in sample_languages(full):
            slug = sample_slug(blueprint, kind, full, languages)
            if slug != top:
                entries.append(sample_entry(blueprint, kind, full, languages, parent))
                parent = slug if full else parent
    spec = write_spec(root, entries, network=NETWORK)
    project = Project(spec=spec, blueprints=BLUEPRINTS, nations_dir=root / "nations")
    return make_builder(project, load(project))


@pytest.fixture(scope="module")
def builder(tmp_path_factory: pytest.TempPathFactory) -> Builder:
    return sample_builder(tmp_path_factory.mktemp("samples"))


def sample_nation(builder: Builder, blueprint: str, kind: str, full: bool, lang: str) -> Nation:
    languages = list(LANGS) if full else [lang]
    return builder.network.nations[sample_slug(blueprint, kind, full, languages)]


def rendered(builder: Builder, nation: Nation, kind: str) -> list[tuple[Output, dict[str, str]]]:
    """Every planned output of `kind` with its rendered parts, as deploy renders them."""
    plan = builder.render_plan(nation)
    return [(o, builder.render(plan, o)) for o in plan.outputs if o.kind == kind]


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
    assert list(data["pages"]) == PAGE_IDS + INTAKE_PAGE_IDS
    for page_id, page in data["pages"].items():
        expected = {"template": f"pages/{page_id}.html.j2", "path": PAGE_PATHS[page_id]}
        if page_id in INTAKE_PAGE_IDS:
            expected["nav"] = False
        assert page == expected
    assert data["emails"] == EMAILS


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_listed_template_exists(name: str) -> None:
    # A template comes from the blueprint or, failing that, from the shared base.
    folders = (BLUEPRINTS / name / "templates", BASE / "templates")
    data = manifest(name)
    for page in data["pages"].values():
        assert any((f / page["template"]).is_file() for f in folders), page["template"]
    for email_id in data["emails"]:
        for part in EMAIL_PARTS:
            path = f"emails/{email_id}/{part}"
            assert any((f / path).is_file() for f in folders), path


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
def test_template_parses(builder: Builder, path: Path) -> None:
    # The engine's environment: its compile-time sandbox checks apply to every branch.
    builder.renderers["candidate"].env.parse(path.read_text(encoding="utf-8"))


# --- rendering -------------------------------------------------------------------------


def preview(path: str, text: str) -> None:
    folder = os.environ.get("BLUEPRINT_PREVIEW")
    if folder:
        target = Path(folder) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(("blueprint", "kind", "full"), SAMPLES)
@pytest.mark.parametrize("lang", LANGS)
def test_pages_render(builder: Builder, blueprint: str, kind: str, full: bool, lang: str) -> None:
    nation = sample_nation(builder, blueprint, kind, full, lang)
    pages = [(o, parts["html"]) for o, parts in rendered(builder, nation, PAGE) if o.lang == lang]
    assert {o.id for o, _ in pages} == set(PAGE_IDS + INTAKE_PAGE_IDS)
    for output, html in pages:
        check_page_html(html, lang)
        assert "&lt;d&#39;abord&gt;" in html or not full, "nation text must be escaped"
        if output.id == "home" and full:
            assert "Statbel" in html and "CC BY 4.0" in html
        if output.id in ("agir", "promesse", "home"):
            # Host-relative: the same page posts to serve locally and to the domain live.
            assert 'action="/api/' in html and 'name="website"' in html
            assert 'name="consent"' in html and "required" in html
        preview(f"{nation.slug}/{output.path}", html)


@pytest.mark.parametrize(("blueprint", "kind", "full"), SAMPLES)
@pytest.mark.parametrize("lang", LANGS)
def test_emails_render(builder: Builder, blueprint: str, kind: str, full: bool, lang: str) -> None:
    nation = sample_nation(builder, blueprint, kind, full, lang)
    emails = [(o, parts) for o, parts in rendered(builder, nation, EMAIL) if o.lang == lang]
    assert [o.id for o, _ in emails] == EMAILS
    for output, parts in emails:
        subject, text, html = parts["subject"], parts["text"], parts["html"]
        assert subject.strip() and "\n" not in subject.strip()
        assert "{{first_name}}" in text and "{{first_name}}" in html
        assert "{{unsubscribe_url}}" in text and "{{unsubscribe_url}}" in html
        assert html.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in html
        assert NETWORK["controller"]["name"] in html
        assert "{%" not in text + html
        if output.id == "event_reminder":
            for name in ("event_name", "event_date", "event_place"):
                assert "{{" + name + "}}" in text + html
        for part, text_of_part in parts.items():
            preview(f"{nation.slug}/emails/{output.path}.{part}", text_of_part)


# --- the sample candidates' overrides --------------------------------------------------


@cache
def sample_network() -> tuple[Builder, Builder]:
    """The repo's own network: with its nations' folders, and without any."""
    project = Project(spec=ROOT / "nations.yaml")
    network = load(project)
    bare = Builder(network, Catalog(BLUEPRINTS), ROOT / "no-nation-folders")
    return make_builder(project, network), bare


def overriding_nations() -> list[str]:
    return sorted({path.relative_to(NATIONS).parts[0] for path in override_files()})


def override_files() -> list[Path]:
    return sorted(NATIONS.glob("*/overrides/**/*.j2"))


@pytest.mark.parametrize("slug", overriding_nations())
def test_sample_overrides_keep_every_candidate_rule(slug: str) -> None:
    # Known blocks only, nothing locked, only blocks, no script: what deploy enforces.
    with_folders, _ = sample_network()
    nation = with_folders.network.nations[slug]
    plan = with_folders.render_plan(nation)
    assert with_folders.rule_problems(nation, plan) == []


@pytest.mark.parametrize("slug", overriding_nations())
def test_sample_override_changes_its_page_and_keeps_the_rest(slug: str) -> None:
    with_folders, bare = sample_network()
    nation = with_folders.network.nations[slug]
    own = {o.path: parts["html"] for o, parts in rendered(with_folders, nation, PAGE)}
    plain = {o.path: parts["html"] for o, parts in rendered(bare, nation, PAGE)}
    assert own.keys() == plain.keys()
    changed = {path for path in own if own[path] != plain[path]}
    assert changed and all(path.endswith("index.html") for path in changed), changed
    for path in changed:
        lang = nation.languages[0] if path == "index.html" else path.split("/")[0]
        check_page_html(own[path], lang)
        assert 'class="hero' in own[path], "blocks that are not overridden still render"
