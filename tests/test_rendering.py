"""Rendering: strict and sandboxed Jinja, layered overrides, errors with file:line."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from helpers import build_file_tree, mini_blueprints, nation, write_spec

from provisioner.errors import TemplateError
from provisioner.render.blueprints import Catalog
from provisioner.render.build import Builder
from provisioner.spec.load import load_network

HOME = "nations/liege/overrides/pages/home.html.j2"


def make_builder(root: Path, nations: list[dict]) -> Builder:
    network = load_network(write_spec(root, nations))
    return Builder(network, Catalog(root / "blueprints"), root / "nations")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    mini_blueprints(tmp_path)
    return tmp_path


def test_site_has_every_page_per_language_assets_and_public_manifest(root: Path) -> None:
    builder = make_builder(
        root, [nation("hq", languages=["fr", "nl"], geo={"postcodes": ["1000"]})]
    )
    files = builder.build(builder.network.nations["hq"]).files["sites"]
    assert {"index.html", "fr/index.html", "fr/agir.html", "nl/doe-mee.html"} <= set(files)
    assert b"Bonjour Hq" in files["index.html"] and b"Hallo Hq" in files["nl/index.html"]
    assert b'href="fr/agir.html"' in files["index.html"]  # root page links into fr/
    assert b'href="../fr/agir.html"' in files["fr/index.html"]
    assert "assets/style.css" in files
    assert b'"postcode:1000"' in files["nation.json"]


def test_emails_keep_recipient_placeholders_for_send_time(root: Path) -> None:
    builder = make_builder(root, [nation("hq")])
    emails = builder.build(builder.network.nations["hq"]).files["emails"]
    assert b'"SubjectPart": "Bonjour {{first_name}}"' in emails["fr/welcome.json"]
    assert emails["fr/welcome.txt"] == b"Bonjour {{first_name}} - Hq\n"


def test_override_replaces_only_its_block(root: Path) -> None:
    build_file_tree(
        root,
        {HOME: "{% block intro %}<p>mine</p>{% endblock %}"},
    )
    builder = make_builder(root, [nation("hq"), nation("liege", "hq")])
    liege = builder.build(builder.network.nations["liege"]).files["sites"]["fr/index.html"]
    hq = builder.build(builder.network.nations["hq"]).files["sites"]["fr/index.html"]
    assert b"<p>mine</p>" in liege and b"intro from blueprint" not in liege
    assert b"<h1>Bonjour Liege</h1>" in liege  # the non-overridden part follows the blueprint
    assert b"intro from blueprint" in hq


def test_override_of_the_layout_applies_to_every_page(root: Path) -> None:
    build_file_tree(
        root, {"nations/liege/overrides/layout.html.j2": "{% block title %}Custom{% endblock %}"}
    )
    builder = make_builder(root, [nation("hq"), nation("liege", "hq")])
    files = builder.build(builder.network.nations["liege"]).files["sites"]
    assert b"<title>Custom</title>" in files["fr/agir.html"]


def test_undefined_variable_is_an_error_with_file_and_line(root: Path) -> None:
    build_file_tree(
        root,
        {HOME: "{% block intro %}\n{{ nation.slogan }}\n{% endblock %}"},
    )
    builder = make_builder(root, [nation("hq"), nation("liege", "hq")])
    with pytest.raises(TemplateError) as caught:
        builder.build(builder.network.nations["liege"])
    assert caught.value.location == "nations/liege/overrides/pages/home.html.j2:2" or str(
        caught.value.location
    ).endswith("nations/liege/overrides/pages/home.html.j2:2")
    assert "slogan" in str(caught.value)


def test_syntax_error_names_the_line(root: Path) -> None:
    build_file_tree(
        root, {"nations/liege/overrides/pages/home.html.j2": "\n\n{% block intro %}{% if %}"}
    )
    builder = make_builder(root, [nation("hq"), nation("liege", "hq")])
    with pytest.raises(TemplateError, match=r"home\.html\.j2:3: template syntax error"):
        builder.build(builder.network.nations["liege"])


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ range.__self__ }}",
        "{{ self._TemplateReference__context }}",
        "{% include '../../etc/passwd' %}",
        "{% include '@nation/hq/pages/home.html.j2' %}",
        "{{ lipsum.__globals__ }}",
    ],
)
def test_sandbox_refuses_escapes(root: Path, payload: str) -> None:
    build_file_tree(
        root,
        {
            "nations/liege/overrides/pages/home.html.j2": "{% block intro %}"
            + payload
            + "{% endblock %}"
        },
    )
    builder = make_builder(root, [nation("hq"), nation("liege", "hq")])
    with pytest.raises(TemplateError):
        builder.build(builder.network.nations["liege"])


def test_templates_are_compiled_once_per_blueprint(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builder = make_builder(root, [nation("hq"), nation("a", "hq"), nation("b", "hq")])
    env = builder.renderers["section"].blueprint_env  # no overrides: no sandbox needed
    compiled: Counter[str] = Counter()
    compile_source = env.compile

    def counting(source: str, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        compiled[name or ""] += 1
        return compile_source(source, name, *args, **kwargs)

    monkeypatch.setattr(env, "compile", counting)
    for slug in ("hq", "a", "b", "hq"):
        builder.build(builder.network.nations[slug])
    assert compiled["pages/home.html.j2"] == 1 and compiled["layout.html.j2"] == 1
    assert set(compiled.values()) == {1}, compiled


def test_fingerprint_changes_with_inputs(root: Path) -> None:
    builder = make_builder(root, [nation("hq"), nation("a", "hq")])
    a = builder.network.nations["a"]
    before = builder.fingerprint(a)
    assert builder.fingerprint(a) == before
    build_file_tree(
        root, {"nations/a/overrides/pages/home.html.j2": "{% block intro %}x{% endblock %}"}
    )
    assert builder.fingerprint(a) != before
