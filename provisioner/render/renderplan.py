"""The render plan: every file a nation's build produces, and what each is made from.

`Builder.render_plan(nation)` returns it; the build renders it, `check` renders each of
its templates to collect every problem, and the tests render it. So a page exists in
one list only, and whatever is enforced on the plan holds wherever a nation is rendered.
New kinds of output (a thank-you page, another language) plug in here as entries; how
rendered parts become files is `Builder`'s (`build.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.render.blueprints import Blueprint
from provisioner.render.context import Helpers, email_context, page_context

# An email is three templates; its outputs are the SES template (JSON) and two previews.
EMAIL_PARTS = {"subject": "subject.txt.j2", "text": "text.txt.j2", "html": "html.html.j2"}
PAGE, EMAIL, ASSET, MANIFEST = "page", "email", "asset", "manifest"


@dataclass(frozen=True)
class Output:
    """One planned output of a nation.

    `kind` says how it is made: a `page` renders `templates["html"]` to `path`; an
    `email` renders its three parts into `path`.json, .html and .txt; an `asset` is
    copied (`data` from the blueprint, or the nation's own file `source`); the
    `manifest` (nation.json) lists the others and is made last.
    """

    area: str  # "sites" or "emails"
    path: str
    kind: str
    templates: Mapping[str, str] = field(default_factory=dict)  # part -> template name
    context: Mapping[str, Any] = field(default_factory=dict)
    id: str = ""  # page or email id
    lang: str = ""
    data: bytes | None = None
    source: Path | None = None


@dataclass(frozen=True)
class RenderPlan:
    """Everything one nation's build renders and copies, in output order."""

    slug: str
    blueprint: str
    namespaced: bool  # the nation has overrides: render in its own template namespace
    base: Mapping[str, Any]  # nation, network and strings: shared by every context
    outputs: list[Output]

    def templated(self) -> list[Output]:
        """Outputs that render templates (pages and emails)."""
        return [o for o in self.outputs if o.templates]

    def context_names(self) -> frozenset[str]:
        """Every variable a template of this nation can see."""
        return frozenset(name for o in self.templated() for name in o.context)


def plan_outputs(
    blueprint: Blueprint,
    languages: tuple[str, ...],
    base: Mapping[str, Any],
    assets: Mapping[str, bytes],
    own_assets: Mapping[str, Path],
) -> list[Output]:
    """Pages in every language, the root index, assets, nation.json, then emails."""
    outputs = []
    helpers: dict[tuple[str, bool], Helpers] = {}
    for lang in languages:
        for page_id, page in blueprint.manifest.pages.items():
            context = page_context(base, blueprint, page_id, lang, False, helpers)
            path = f"{lang}/{blueprint.page_path(page_id, lang)}"
            outputs.append(_page(path, page.template, context, page_id, lang))
    home = blueprint.manifest.pages["home"].template
    root = page_context(base, blueprint, "home", languages[0], True, helpers)
    outputs.append(_page("index.html", home, root, "home", languages[0]))
    outputs += [Output("sites", path, ASSET, data=data) for path, data in assets.items()]
    outputs += [Output("sites", path, ASSET, source=src) for path, src in own_assets.items()]
    outputs.append(Output("sites", "nation.json", MANIFEST))
    for lang in languages:
        for email_id in blueprint.manifest.emails:
            templates = {part: f"emails/{email_id}/{name}" for part, name in EMAIL_PARTS.items()}
            context = email_context(base, email_id, lang)
            outputs.append(
                Output("emails", f"{lang}/{email_id}", EMAIL, templates, context, email_id, lang)
            )
    return outputs


def _page(path: str, template: str, context: dict[str, Any], page_id: str, lang: str) -> Output:
    return Output("sites", path, PAGE, {"html": template}, context, page_id, lang)


Render = Callable[[str, Mapping[str, Any]], str]  # (template name, context) -> text


def render_parts(output: Output, render: Render) -> dict[str, str]:
    """Each template of a templated output rendered with its context, by part name."""
    return {part: render(name, output.context) for part, name in output.templates.items()}
