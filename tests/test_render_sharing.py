"""Cheaper rendering keeps every guarantee: the sandbox where a nation's own templates
take part, strictness everywhere, and modules shared only when their inputs are the same.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import jinja2
import pytest
from helpers import build_file_tree, mini_blueprints, nation, write_spec
from jinja2 import meta
from jinja2.environment import TemplateModule

from provisioner.errors import TemplateError
from provisioner.render.blueprints import Catalog
from provisioner.render.build import Builder
from provisioner.render.rendering import BlueprintEnvironment, make_environment
from provisioner.spec.load import load_network

# Renders only outside the sandbox: the sandbox's formatter refuses `__class__`.
FORMAT_CLASS = "{{ '{0.__class__}'.format(nation.name) }}"
PARTIAL = "partials/where.html.j2"


def make_builder(root: Path, nations: list[dict[str, Any]]) -> Builder:
    network = load_network(write_spec(root, nations))
    return Builder(network, Catalog(root / "blueprints"), root / "nations")


def home_with(content: str) -> dict[str, str]:
    page = '{% extends "layout.html.j2" %}{% block content %}' + content + "{% endblock %}\n"
    return {"pages/home.html.j2": page}


def test_a_nations_override_renders_in_the_sandbox_the_blueprint_outside(
    tmp_path: Path,
) -> None:
    mini_blueprints(tmp_path, home_with("{% block intro %}" + FORMAT_CLASS + "{% endblock %}"))
    intro = "{% block intro %}" + FORMAT_CLASS + "{% endblock %}"
    build_file_tree(tmp_path, {"nations/liege/overrides/pages/home.html.j2": intro})
    builder = make_builder(tmp_path, [nation("hq"), nation("liege", "hq")])
    hq = builder.build(builder.network.nations["hq"]).files["sites"]["fr/index.html"]
    assert b"&lt;class &#39;str&#39;&gt;" in hq  # blueprint code: reviewed, not sandboxed
    with pytest.raises(TemplateError, match="forbidden in templates") as refused:
        builder.build(builder.network.nations["liege"])
    assert "nations/liege/overrides/pages/home.html.j2:1" in str(refused.value.location)


def test_a_blueprint_template_may_not_change_shared_data(tmp_path: Path) -> None:
    mini_blueprints(tmp_path, home_with("{{ nation.tags.append('x') }}"))
    builder = make_builder(tmp_path, [nation("hq")])
    with pytest.raises(TemplateError, match="changes a value in place") as refused:
        builder.build(builder.network.nations["hq"])
    assert "pages/home.html.j2:1" in str(refused.value.location)


def test_the_blueprint_environment_cannot_load_a_nations_files(tmp_path: Path) -> None:
    mini_blueprints(tmp_path)
    build_file_tree(tmp_path, {"nations/hq/overrides/pages/home.html.j2": "mine"})
    catalog = Catalog(tmp_path / "blueprints")
    env = make_environment(catalog.get("section"), catalog.base / "templates", None, True)
    with pytest.raises(jinja2.TemplateNotFound):
        env.get_template("@nation/hq/pages/home.html.j2")


@pytest.mark.parametrize("trusted", [True, False], ids=["blueprint", "sandbox"])
def test_attribute_lookup_on_data_is_the_same_in_both_environments(
    tmp_path: Path, trusted: bool
) -> None:
    mini_blueprints(tmp_path)
    catalog = Catalog(tmp_path / "blueprints")
    env = make_environment(catalog.get("section"), catalog.base / "templates", None, trusted)
    assert isinstance(env, BlueprintEnvironment) is trusted
    template = env.from_string(
        "{{ d.get is callable }}|{{ d.name }}|{{ d.missing is defined }}|{{ d['items'] }}"
    )
    assert template.render(d={"get": 1, "name": "x", "items": 2}) == "True|x|False|2"
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ d.typo }}").render(d={})


@pytest.mark.parametrize("trusted", [True, False], ids=["blueprint", "sandbox"])
def test_calls_pass_what_jinja_passes_in_both_environments(tmp_path: Path, trusted: bool) -> None:
    """The blueprint environment's shortcut for calls (BlueprintContext) passes the
    context, the eval context and the arguments exactly as Jinja's own `call` does."""
    mini_blueprints(tmp_path)
    catalog = Catalog(tmp_path / "blueprints")
    env = make_environment(catalog.get("section"), catalog.base / "templates", None, trusted)

    @jinja2.pass_context
    def who(context: jinja2.runtime.Context, suffix: str) -> str:
        return str(context["name"]) + suffix

    @jinja2.pass_eval_context
    def escaping(eval_ctx: jinja2.nodes.EvalContext) -> str:
        return str(eval_ctx.autoescape)

    def plain(a: int, b: int = 0) -> int:
        return a + b

    def exhausted() -> None:
        raise StopIteration

    source = (
        "{% macro twice(x) %}{{ x }}{{ x }}{% endmacro %}"
        "{% for i in [1] %}{{ who('!') }}|{{ escaping() }}|{{ plain(1, b=i) }}"
        "|{{ twice('ab') }}|{{ 'a,b'.split(',') }}|{{ exhausted() is defined }}{% endfor %}"
    )
    template = env.from_string(source)
    values = {"who": who, "escaping": escaping, "plain": plain, "exhausted": exhausted}
    assert template.render(name="Liège", **values) == ("Liège!|False|2|abab|['a', 'b']|False")
    macros = (  # by position, defaults, keywords, a caller, extra arguments; escaped or not
        "{% macro pad(x, y='-') %}{{ y }}{{ x }}{% endmacro %}"
        "{% macro wrap() %}[{{ caller() }}]{% endmacro %}"
        "{% macro rest(a) %}{{ a }}{{ varargs|join }}{{ kwargs.k }}{% endmacro %}"
        "{{ pad('<', '>') }}{{ pad('<') }}{{ pad('<', y='&') }}{% call wrap() %}<i>{% endcall %}"
        "{{ rest(1, 2, k='<') }}"
    )
    for source in (macros, "{% autoescape true %}" + macros + "{% endautoescape %}"):
        assert env.from_string(source).render() == jinja2.Environment().from_string(source).render()


def test_a_shared_partial_still_sees_each_pages_own_values(tmp_path: Path) -> None:
    partial = "{% set here = page.id %}{% macro where() %}[{{ here }}]{% endmacro %}"
    page = (
        '{% extends "layout.html.j2" %}{% import "' + PARTIAL + '" as w with context %}'
        "{% block content %}{{ w.where() }}{% endblock %}\n"
    )
    layout = (
        '{% import "' + PARTIAL + '" as w with context %}<title>{{ w.where() }}</title>'
        "{% block content %}{% endblock %}\n"
    )
    templates = {PARTIAL: partial, "pages/home.html.j2": page, "pages/agir.html.j2": page}
    mini_blueprints(tmp_path, templates)
    build_file_tree(tmp_path, {"blueprints/_base/templates/layout.html.j2": layout})
    builder = make_builder(tmp_path, [nation("hq")])
    files = builder.build(builder.network.nations["hq"]).files["sites"]
    assert files["fr/index.html"] == b"<title>[home]</title>[home]"
    assert files["fr/agir.html"] == b"<title>[agir]</title>[agir]"


def test_a_partial_with_a_namespace_is_not_shared(tmp_path: Path) -> None:
    # Each import gets its own counter, as Jinja gives it: sharing would count on.
    partial = (
        "{% set ns = namespace(n=0) %}"
        "{% macro bump() %}{% set ns.n = ns.n + 1 %}{{ ns.n }}{% endmacro %}"
    )
    importing = '{% import "' + PARTIAL + '" as c with context %}{{ c.bump() }}'
    mini_blueprints(tmp_path, {PARTIAL: partial, **home_with(importing + importing)})
    builder = make_builder(tmp_path, [nation("hq")])
    files = builder.build(builder.network.nations["hq"]).files["sites"]
    assert b"11" in files["fr/index.html"]


def test_a_partial_imported_by_every_email_part_is_built_once_per_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    partial = (
        "{% set sender = t.hello ~ ' ' ~ nation.name %}"
        "{% macro sign() %}-- {{ sender }}{% endmacro %}"
    )
    part = '{% import "' + PARTIAL + '" as mail with context %}{{ mail.sign() }}\n'
    emails = {f"emails/welcome/{name}": part for name in ("subject.txt.j2", "text.txt.j2")}
    mini_blueprints(tmp_path, {PARTIAL: partial, **emails, "emails/welcome/html.html.j2": part})
    builder = make_builder(tmp_path, [nation("hq", languages=["fr", "nl"]), nation("a", "hq")])
    built: Counter[tuple[str, str]] = Counter()
    original = TemplateModule.__init__

    def counting(self: TemplateModule, template: jinja2.Template, context: Any) -> None:
        built[(str(template.name), context["nation"]["slug"])] += 1
        original(self, template, context)

    monkeypatch.setattr(TemplateModule, "__init__", counting)
    for slug in ("hq", "a"):
        emails_of = builder.build(builder.network.nations[slug]).files["emails"]
        assert emails_of["fr/welcome.txt"] == f"-- Bonjour {slug.title()}\n".encode()
    # Once per language (fr, nl; `a` takes its parent's), not once per part (3 each).
    assert built[(PARTIAL, "hq")] == 2 and built[(PARTIAL, "a")] == 2


def test_the_base_is_compiled_once_for_every_blueprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mini_blueprints(tmp_path)
    section = tmp_path / "blueprints" / "section"
    other = tmp_path / "blueprints" / "other"
    build_file_tree(tmp_path, {})
    other.mkdir()
    for path in section.rglob("*"):
        target = other / path.relative_to(section)
        if path.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            text = path.read_text(encoding="utf-8").replace("name: section", "name: other")
            target.write_text(text, encoding="utf-8")
    builder = make_builder(tmp_path, [nation("hq"), nation("a", "hq", blueprint="other")])
    compiled: Counter[str] = Counter()
    for renderer in builder.renderers.values():
        env, compile_source = renderer.blueprint_env, renderer.blueprint_env.compile

        def counting(source: str, name: str | None = None, *a: Any, _c: Any = compile_source,
                     **k: Any) -> Any:  # fmt: skip
            compiled[name or ""] += 1
            return _c(source, name, *a, **k)

        monkeypatch.setattr(env, "compile", counting)
    for slug in ("hq", "a"):
        builder.build(builder.network.nations[slug])
    assert compiled["layout.html.j2"] == 1  # shared by both blueprints
    assert compiled["pages/home.html.j2"] == 2  # one per blueprint: two files


def test_a_partial_reading_links_is_built_once_for_every_page_in_a_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of one language see the same link() (and emails the same recipient), so
    a partial imported with context is built once for them, and still links right."""
    partial = "{% macro home() %}{{ link('home') }}{% endmacro %}"
    page = '{% import "' + PARTIAL + '" as ui with context %}{{ page.id }}:{{ ui.home() }}\n'
    pages = {"pages/home.html.j2": page, "pages/agir.html.j2": page}
    mini_blueprints(tmp_path, {PARTIAL: partial, **pages})
    builder = make_builder(tmp_path, [nation("hq", languages=["fr", "nl"])])
    built: Counter[str] = Counter()
    original = TemplateModule.__init__

    def counting(self: TemplateModule, template: jinja2.Template, context: Any) -> None:
        built[f"{template.name}:{context['lang']}"] += 1
        original(self, template, context)

    monkeypatch.setattr(TemplateModule, "__init__", counting)
    sites = builder.build(builder.network.nations["hq"]).files["sites"]
    assert sites["nl/doe-mee.html"] == b"agir:../nl/index.html\n"
    assert sites["index.html"] == b"home:fr/index.html\n"  # the root page: its own links
    # Two pages per language share one module; the root page (other links) has its own.
    assert built == {f"{PARTIAL}:fr": 2, f"{PARTIAL}:nl": 1}


def test_the_names_noted_when_compiling_are_those_found_in_the_source() -> None:
    """sharing.py keys modules on the names a template reads; the compiler notes them
    (environments.py) instead of a second parse, and must find what jinja2.meta finds."""
    repo = Path(__file__).resolve().parent.parent
    catalog = Catalog(repo / "blueprints")
    base = repo / "blueprints" / "_base" / "templates"
    for trusted in (True, False):
        env = make_environment(catalog.get("candidate"), base, repo / "nations", trusted)
        folders = (base, repo / "blueprints" / "candidate" / "templates")
        names = sorted({p.relative_to(f).as_posix() for f in folders for p in f.rglob("*.j2")})
        assert "layout.html.j2" in names and "pages/home.html.j2" in names
        for name in names:
            template = env.get_template(name)
            noted = env.__dict__["_names_by_template"][name]
            tree = env.parse(env.loader.get_source(env, name)[0], name)  # type: ignore[union-attr]
            found = (meta.find_undeclared_variables(tree), meta.find_referenced_templates(tree))
            assert noted == (frozenset(found[0]), tuple(found[1])), template.name


def test_nations_with_overrides_share_compiled_code_and_keep_their_own_files(
    tmp_path: Path, compiles: list[str]
) -> None:
    """The blueprint's templates are compiled once for every nation's namespace, and the
    shared code still resolves each nation's names in its own namespace (codenames.py)."""
    where = "{% block where %}X{% endblock %}"
    home = home_with('{% include "' + PARTIAL + '" %}')
    mini_blueprints(tmp_path, {**home, PARTIAL: where.replace("X", "bp")})
    own = {f"nations/{s}/overrides/{PARTIAL}": where.replace("X", f"{s}'s own") for s in "ab"}
    build_file_tree(tmp_path, own)
    builder = make_builder(tmp_path, [nation("hq"), nation("a", "hq"), nation("b", "hq")])
    pages = {
        slug: builder.build(builder.network.nations[slug]).files["sites"]["fr/index.html"]
        for slug in ("hq", "a", "b")
    }
    assert [b"bp" in pages["hq"], b"a's own" in pages["a"], b"b's own" in pages["b"]] == [True] * 3
    assert b"b's" not in pages["a"] and b"a's" not in pages["b"]
    namespaced = Counter(name for name in compiles if name.startswith("@nation/"))
    assert namespaced["@nation/*/layout.html.j2"] == 1  # once for both nations
    assert namespaced[f"@nation/*/{PARTIAL}"] == 2  # each nation's own file
