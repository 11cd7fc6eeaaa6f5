"""Sandboxed, strict Jinja rendering with layered templates.

One environment per blueprint, shared by every nation and thread, so each template is
compiled once. Names resolve through layers: the nation's override, the blueprint, the
shared base. A nation with overrides renders in its own namespace (`@nation/<slug>/...`)
so that its overrides apply at every level of the inheritance chain; nations without
overrides share the blueprint's compiled templates.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from provisioner.blueprints import Blueprint
from provisioner.errors import TemplateError

NATION_PREFIX = "@nation/"
LAYER_MARK = "!"  # "@nation/<slug>/!X": the blueprint/base template X, in the nation's namespace


class LayeredLoader(jinja2.BaseLoader):
    """Finds templates in nation overrides, then the blueprint, then the shared base."""

    def __init__(self, blueprint: Blueprint, base_templates: Path, nations_dir: Path):
        self.layers = [blueprint.templates, base_templates]
        self.nations_dir = nations_dir

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        if template.startswith(NATION_PREFIX):
            slug, _, name = template[len(NATION_PREFIX) :].partition("/")
            return self._nation_source(slug, name)
        for prefix, layer in (("@blueprint/", self.layers[0]), ("@base/", self.layers[1])):
            if template.startswith(prefix):
                return self._layer_source(template[len(prefix) :], [layer])
        if template.startswith("@"):
            raise jinja2.TemplateNotFound(template)
        return self._layer_source(template)

    def _layer_source(
        self, name: str, layers: list[Path] | None = None
    ) -> tuple[str, str, Callable[[], bool]]:
        parts = jinja2.loaders.split_template_path(name)  # rejects ".." and absolute paths
        for layer in layers or self.layers:
            path = layer.joinpath(*parts)
            if path.is_file():
                return _read(path)
        raise jinja2.TemplateNotFound(name)

    def _nation_source(self, slug: str, name: str) -> tuple[str, str, Callable[[], bool]]:
        if name.startswith(LAYER_MARK):
            return self._layer_source(name[len(LAYER_MARK) :])
        parts = jinja2.loaders.split_template_path(name)
        override = self.nations_dir.joinpath(slug, "overrides", *parts)
        if not override.is_file():
            return self._layer_source(name)
        source, filename, uptodate = _read(override)
        # Same first line, so line numbers in errors match the candidate's file.
        parent = f"{NATION_PREFIX}{slug}/{LAYER_MARK}{name}"
        return f'{{% extends "{parent}" %}}' + source, filename, uptodate


def _read(path: Path) -> tuple[str, str, Callable[[], bool]]:
    mtime = path.stat().st_mtime
    relative = os.path.relpath(path)
    shown = str(path) if relative.startswith("..") else relative  # short when under the cwd
    return path.read_text(encoding="utf-8"), shown, lambda: path.stat().st_mtime == mtime


class CampaignEnvironment(ImmutableSandboxedEnvironment):
    """Keeps a nation's templates inside its own namespace and away from other nations'."""

    def join_path(self, template: str, parent: str) -> str:
        if not parent.startswith(NATION_PREFIX):
            if template.startswith(NATION_PREFIX):
                raise jinja2.TemplateNotFound(template, "blueprints cannot include nation files")
            return template
        own = parent[: parent.index("/", len(NATION_PREFIX)) + 1]
        if template.startswith((own, "@blueprint/", "@base/")):
            return template
        if template.startswith("@"):
            raise jinja2.TemplateNotFound(template, "a nation may only use its own templates")
        return own + template


def make_environment(
    blueprint: Blueprint, base_templates: Path, nations_dir: Path
) -> jinja2.Environment:
    env = CampaignEnvironment(
        loader=LayeredLoader(blueprint, base_templates, nations_dir),
        undefined=jinja2.StrictUndefined,
        autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
        cache_size=-1,  # never evict: every template is compiled once per run
        auto_reload=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    for unsafe in ("lipsum", "cycler", "joiner"):
        env.globals.pop(unsafe, None)
    return env


class Renderer:
    """Renders one blueprint's templates for any nation."""

    def __init__(self, blueprint: Blueprint, base_templates: Path, nations_dir: Path):
        self.blueprint = blueprint
        self.nations_dir = nations_dir
        self.env = make_environment(blueprint, base_templates, nations_dir)

    def has_overrides(self, slug: str) -> bool:
        folder = self.nations_dir / slug / "overrides"
        return folder.is_dir() and any(p.is_file() for p in folder.rglob("*"))

    def render(self, slug: str, name: str, context: dict[str, Any], namespaced: bool) -> str:
        """Render template `name` for nation `slug`; raise TemplateError with file:line."""
        full_name = f"{NATION_PREFIX}{slug}/{name}" if namespaced else name
        try:
            return self.env.get_template(full_name).render(context)
        except jinja2.TemplateSyntaxError as exc:
            location = f"{exc.filename or exc.name}:{exc.lineno}"
            raise TemplateError(f"template syntax error: {exc.message}", location) from exc
        except jinja2.TemplateNotFound as exc:
            where = template_location(exc.__traceback__)
            raise TemplateError(f"template not found: {exc.message or exc.name}", where) from exc
        except jinja2.exceptions.SecurityError as exc:
            where = template_location(exc.__traceback__)
            raise TemplateError(f"forbidden in templates: {exc}", where) from exc
        except jinja2.UndefinedError as exc:
            where = template_location(exc.__traceback__)
            raise TemplateError(f"undefined value: {exc.message}", where) from exc
        except (jinja2.TemplateError, TypeError, ValueError, AttributeError) as exc:
            where = template_location(exc.__traceback__)
            raise TemplateError(f"template error: {exc}", where) from exc


def template_location(tb: TracebackType | None) -> str | None:
    """`file:line` of the innermost template frame of a traceback (Jinja rewrites them)."""
    location = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            location = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return location
