"""Message scripts and call scripts: filled per nation, overridable in the sandbox.

The whole sample network's messages pages are checked in test_end_to_end.py (on its
deploy), the call scripts beside every dialer export in test_supporters_deploy.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import build_file_tree, copy_sample_network, only_args

from provisioner.errors import BlueprintError
from provisioner.render.blueprints import Catalog
from provisioner.render.messages import MessageBook, format_date
from provisioner.render.rendering import make_environment
from provisioner.supporters.generate import generate

SUBSET = ["hq", "prov-hainaut", "gent", "anderlecht", "liege", "marie-dubois", "jan-peeters"]
ELEMENT = re.compile(
    r'<article class="message" id="msg-([\w-]+)" data-message-kind="([a-z-]+)"'
    r'.*?<div class="message-text"[^>]*>(.*?)</div>',
    re.S,
)


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provisioner", *map(str, args)], capture_output=True, text=True
    )


def deploy(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    only = only_args(SUBSET)
    spec, out = root / "nations.yaml", root / "build"
    return cli("deploy", "-q", "--spec", spec, "--out", out, *only, *extra)


def messages(page: Path) -> dict[str, tuple[str, str]]:
    """id -> (kind, text) of every script element of a messages page."""
    return {m[1]: (m[2], m[3]) for m in ELEMENT.finditer(page.read_text(encoding="utf-8"))}


OVERRIDE = """\
{% block club %}
{% call say.own(scripts.club, title="Les copains du RFC") %}
Salut [prénom] ! Dimanche au stade, on parle de {{ fill.place }} ? Je vote {{ fill.candidate }}.
{% endcall %}
{% endblock %}
{% block extra_variants %}
{% call say.extra("variant", "marche", "Au marché") %}
Bonjour [prénom] ! On se croise au marché de {{ fill.place }} : {{ fill.links.promesse }}
{% endcall %}
{% endblock %}
"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A subset of the sample network deployed with supporters, one candidate overriding
    a variant and adding one."""
    root = tmp_path_factory.mktemp("messages")
    copy_sample_network(root)
    build_file_tree(root, {"nations/marie-dubois/overrides/pages/messages.html.j2": OVERRIDE})
    generate(root / "data", [("4000", "fr"), ("9000", "nl"), ("1070", "fr")], count=60)
    result = deploy(root, "--supporters", root / "data" / "supporters.csv")
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_section_page_names_its_municipality_and_fills_every_placeholder(sample: Path) -> None:
    scripts = messages(sample / "build" / "sites" / "gent" / "nl" / "doorgeven.html")
    assert [kind for kind, _ in scripts.values()].count("variant") >= 2
    assert [kind for kind, _ in scripts.values()].count("follow-up") >= 2
    first = scripts["first"][1]
    assert "in Gent" in first and "11 oktober 2026" in first
    assert "https://gent.horizon.example/nl/belofte.html" in first
    for _, text in scripts.values():
        assert re.findall(r"\[([^\]]+)\]", text) in ([], ["voornaam"]), text  # only fill-ins
        assert "{{" not in text and "[commune]" not in text


def test_scripts_speak_of_the_nation_at_every_level(sample: Path) -> None:
    sites = sample / "build" / "sites"
    hainaut = messages(sites / "prov-hainaut" / "fr" / "faire-passer.html")["first"][1]
    assert "dans la Province du Hainaut" in hainaut
    hq = messages(sites / "hq" / "nl" / "doorgeven.html")["first"][1]
    assert "bij jou in de buurt" in hq and "[" in hq  # HQ: no place, still the fill-in
    jan = messages(sites / "jan-peeters" / "nl" / "doorgeven.html")["first"][1]
    assert "Jan Peeters" in jan  # a candidate's volunteers name the candidate


def test_candidate_overrides_a_variant_and_adds_one(sample: Path) -> None:
    page = sample / "build" / "sites" / "marie-dubois" / "fr" / "faire-passer.html"
    scripts = messages(page)
    kind, club = scripts["club"]
    assert kind == "variant"
    assert "Dimanche au stade, on parle de Liège ? Je vote Marie Dubois." in club
    assert "Les copains du RFC" in page.read_text(encoding="utf-8")
    assert scripts["extra-marche"][0] == "variant"
    assert "https://marie-dubois.horizon.example/fr/promesse.html" in scripts["extra-marche"][1]
    # The other scripts still follow the blueprint.
    assert "vestiaire" not in club and "extrême droite" in scripts["solidarite"][1]
    checked = cli("check", "marie-dubois", "--spec", sample / "nations.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_call_scripts_beside_the_dialer_exports(sample: Path) -> None:
    private = sample / "build" / "private" / "marie-dubois"
    text = (private / "callhub-script.fr.txt").read_text(encoding="utf-8")
    assert text.startswith("Script d'appel · Marie Dubois (callhub, fr)")
    for part in ("Se présenter", "La promesse de vote", "Proposer d'aider", "[do_not_call]"):
        assert part in text
    assert "« Le vote est secret. »" in text and "à Liège" in text
    spoke = json.loads((private / "spoke-script.fr.json").read_text(encoding="utf-8"))
    root = spoke["interactionSteps"][0]
    assert root["scriptOptions"][0].startswith("Bonjour, je parle bien à {firstName} ?")
    assert "{texterFirstName}" in root["scriptOptions"][0]
    answers = [step["answerOption"] for step in root["interactionSteps"]]
    assert answers == ["Oui", "Peut-être", "Non"]
    assert {step["parentInteractionId"] for step in root["interactionSteps"]} == {"pledge"}
    assert len(spoke["cannedResponses"]) == 4
    assert (private / "thrutalk-script.fr.txt").is_file()
    gent = sample / "build" / "private" / "gent"
    assert "in Gent" in (gent / "callhub-script.nl.txt").read_text(encoding="utf-8")
    assert not (gent / "spoke-script.nl.json").exists()  # sections use CallHub only


def test_hostile_override_fails_alone_with_its_line(tmp_path: Path) -> None:
    copy_sample_network(tmp_path)
    hostile = "{% block club %}\n{{ fill.__class__.__mro__ }}\n{% endblock %}\n"
    build_file_tree(tmp_path, {"nations/marie-dubois/overrides/pages/messages.html.j2": hostile})
    result = deploy(tmp_path, "--no-supporters")
    assert result.returncode == 1
    report = json.loads((tmp_path / "build" / "reports" / "latest.json").read_text())
    status = {n["slug"]: (n["status"], n["error"]) for n in report["nations"]}
    assert status["marie-dubois"][0] == "failed"
    error = status["marie-dubois"][1]
    assert error["location"].endswith("nations/marie-dubois/overrides/pages/messages.html.j2:2")
    assert "leads to Python internals" in error["message"]
    assert {s for slug, (s, _) in status.items() if slug != "marie-dubois"} == {"deployed"}
    checked = cli("check", "marie-dubois", "--spec", tmp_path / "nations.yaml")
    assert checked.returncode == 1 and "messages.html.j2:2" in checked.stdout + checked.stderr


def book_for(root: Path) -> MessageBook:
    catalog = Catalog(root / "blueprints")
    blueprint = catalog.get("section")
    env = make_environment(blueprint, catalog.base / "templates", root / "nations")
    return MessageBook(blueprint, catalog.base, env)


NATION = {
    "name": "Horizon Namur",
    "kind": "section",
    "url": "https://namur.horizon.example/",
    "geo": {"municipality": "Namur"},
    "candidate": None,
}


def test_a_placeholder_left_unfilled_stops_the_build(tmp_path: Path) -> None:
    copy_sample_network(tmp_path)
    path = tmp_path / "blueprints" / "section" / "messages" / "fr.yaml"
    build_file_tree(tmp_path, {str(path): "scripts:\n  club:\n    text: 'On vote à [commune] !'\n"})
    with pytest.raises(BlueprintError) as caught:
        book_for(tmp_path).page_data(NATION, {"name": "Horizon"}, "fr")
    assert str(caught.value) == (
        f"{path}: scripts.club.text leaves [commune] unfilled; use a placeholder such as "
        "{{ place }} or declare it in fill_ins"
    )


def test_a_declared_script_without_text_names_the_file_and_key(tmp_path: Path) -> None:
    copy_sample_network(tmp_path)
    path = tmp_path / "blueprints" / "_base" / "messages" / "nl.yaml"
    text = path.read_text(encoding="utf-8").replace("  indecis:", "  unused:")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BlueprintError, match=r"nl\.yaml: no text for message 'indecis'"):
        book_for(tmp_path).page_data(NATION, {"name": "Horizon"}, "nl")


def test_election_day_is_written_in_each_language() -> None:
    assert format_date("2026-10-11", "fr") == "11 octobre 2026"
    assert format_date("2026-03-01", "nl") == "1 maart 2026"
    assert format_date("2026-12-24", "de") == "24. Dezember 2026"
    # A language a network adds gets its own month names (CLDR), not French ones.
    assert format_date("2026-10-11", "it") == "11 ottobre 2026"
    assert format_date("2026-10-11", "lb") == "11. Oktober 2026"
    assert format_date("2026-10-11", "qaa") == "2026-10-11"  # private-use tag: no CLDR data


def test_german_scripts_for_a_german_speaking_section() -> None:
    book = book_for(Path(__file__).resolve().parent.parent)
    eupen = {**NATION, "name": "Horizon Eupen", "geo": {"municipality": "Eupen"}}
    data = book.page_data(eupen, {"name": "Horizon", "election_date": "2026-10-11"}, "de")
    first = data["by_id"]["first"]["text"]
    assert first.startswith("Hallo [Vorname]!") and "Am 11. Oktober 2026 wird in Eupen" in first
    assert data["fill_ins"] == ["Vorname"]
    assert len([s for s in data["scripts"] if s["kind"] == "follow-up"]) == 3


# --- the page in headless Chromium ------------------------------------------------------

CODE_IN_LINK = "Abc123_-xyZ9"  # the shape of a referral code (12 URL-safe characters)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from test_dashboard import CHROMIUM, CHROMIUM_ARGS

    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser: Any, url: str, javascript: bool = True) -> tuple[Any, list[str]]:
    context = browser.new_context(java_script_enabled=javascript)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url)
    return page, requests


def test_without_javascript_every_script_is_readable_text(chromium: Any, sample: Path) -> None:
    path = sample / "build" / "sites" / "gent" / "nl" / "doorgeven.html"
    page, _ = open_page(chromium, path.as_uri(), javascript=False)
    assert page.locator("button.copy-button:visible").count() == 0
    texts = page.locator(".message-text")
    assert texts.count() == 9
    assert "in Gent" in texts.first.inner_text()
    assert page.locator(".no-js-hint").is_visible()
    page.context.close()


def test_copy_button_copies_the_message(chromium: Any, sample: Path) -> None:
    path = sample / "build" / "sites" / "gent" / "nl" / "doorgeven.html"
    page, requests = open_page(chromium, path.as_uri())
    assert page.locator("button.copy-button:visible").count() == 9
    page.click("#msg-club button.copy-button")
    page.wait_for_function("document.querySelector('.copy-status').textContent !== ''")
    assert page.inner_text(".copy-status") == "Bericht gekopieerd: plak het in je app."
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.inner_text("#msg-club-text") and copied.startswith("Hey [voornaam]!")
    assert all(url.startswith("file://") for url in requests)  # nothing fetched elsewhere
    page.context.close()


def test_referral_code_in_the_address_reaches_every_link(chromium: Any, sample: Path) -> None:
    path = sample / "build" / "sites" / "gent" / "nl" / "doorgeven.html"
    page, _ = open_page(chromium, f"{path.as_uri()}?ref={CODE_IN_LINK}")
    first = page.inner_text("#msg-first-text")
    assert f"https://gent.horizon.example/nl/belofte.html?ref={CODE_IN_LINK}" in first
    whatsapp = page.get_attribute("#msg-first a.share-link", "href") or ""
    assert f"belofte.html%3Fref%3D{CODE_IN_LINK}" in whatsapp
    assert CODE_IN_LINK in (page.get_attribute("a.share-page", "href") or "")
    page.context.close()
    pledge = sample / "build" / "sites" / "gent" / "nl" / "belofte.html"
    page, _ = open_page(chromium, f"{pledge.as_uri()}?ref={CODE_IN_LINK}")
    assert page.input_value('form input[name="ref"]') == CODE_IN_LINK
    page.context.close()


def test_thank_you_page_shows_a_new_hunters_own_link(chromium: Any, sample: Path) -> None:
    thanks = sample / "build" / "sites" / "gent" / "nl" / "bedankt.html"
    page, _ = open_page(chromium, thanks.as_uri())
    assert not page.locator("[data-hunter-link]").is_visible()  # no code, no box
    page.context.close()
    page, _ = open_page(chromium, f"{thanks.as_uri()}?ref={CODE_IN_LINK}")
    box = page.locator("[data-hunter-link]")
    assert box.is_visible()
    own = f"https://gent.horizon.example/nl/doorgeven.html?ref={CODE_IN_LINK}"
    assert box.locator("a.share-own").inner_text() == own
    page.context.close()
