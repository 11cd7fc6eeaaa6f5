"""Sandboxed, strict Jinja rendering with layered templates.

Two environments per blueprint (see environments.py), shared by every nation and
thread, so each template is compiled once. Names resolve through layers: the nation's
override, the blueprint, the shared base. A nation with overrides renders in the
sandbox, in its own namespace (`@nation/<slug>/...`) so that its overrides apply at
every level of the inheritance chain; nations without overrides run blueprint code
only, and share the blueprint environment's compiled templates outside the sandbox.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from jinja2.utils import internalcode

from provisioner.errors import TemplateError
from provisioner.render import amplifiers, budgets, speedups
from provisioner.render.blueprints import Blueprint
from provisioner.render.codenames import code_name
from provisioner.render.environments import (
    NATION_PREFIX,
    REMOVED_GLOBALS,
    BlueprintEnvironment,
    CampaignEnvironment,
    ForbiddenSyntax,
    TemplateRules,
)
from provisioner.render.sharing import SharedCode, shared_modules
from provisioner.render.strict import CampaignUndefined, make_strict

LAYER_MARK = "!"  # "@nation/<slug>/!X": the blueprint/base template X, in the nation's namespace
# What a faulty or hostile template can raise (RecursionError: a template including
# itself); each becomes a TemplateError of its nation instead of crashing the run.
RENDER_ERRORS: tuple[type[Exception], ...] = (jinja2.TemplateError, TypeError, ValueError)
RENDER_ERRORS += (AttributeError, ArithmeticError, RecursionError)


class LayeredLoader(jinja2.BaseLoader):
    """Finds templates in nation overrides, then the blueprint, then the shared base."""

    def __init__(self, blueprint: Blueprint, base_templates: Path, nations_dir: Path | None):
        self.layers = [blueprint.templates, base_templates]
        self.nations_dir = nations_dir  # None: blueprint templates only

    @internalcode
    def load(
        self,
        environment: jinja2.Environment,
        name: str,
        globals: MutableMapping[str, Any] | None = None,
    ) -> jinja2.Template:
        """`jinja2.BaseLoader.load`, but compiled (and cached) under `code_name(name)`:
        one compilation of a blueprint file serves every nation's namespace, and the
        template gets `name` when its module runs (codenames.py)."""
        source, filename, uptodate = self.get_source(environment, name)
        shared = code_name(name)
        cache = environment.bytecode_cache
        bucket = None if cache is None else cache.get_bucket(environment, shared, filename, source)
        code = None if bucket is None else bucket.code
        if code is None:
            code = environment.compile(source, shared, filename)
            if cache is not None and bucket is not None:
                bucket.code = code
                cache.set_bucket(bucket)
        template_class: Any = environment.template_class  # a FastTemplate (environments.py)
        known = {} if globals is None else globals
        return template_class.from_code(environment, code, known, uptodate, name=name)

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        if template.startswith(NATION_PREFIX):
            if self.nations_dir is None:
                raise jinja2.TemplateNotFound(template, "blueprint templates only here")
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
        assert self.nations_dir is not None
        override = self.nations_dir.joinpath(slug, "overrides", *parts)
        if not override.is_file():
            return self._layer_source(name)
        if not override.resolve().is_relative_to((self.nations_dir / slug).resolve()):
            # A symbolic link would let one nation render another's files, or any file.
            raise jinja2.exceptions.SecurityError(f"{override}: links out of the nation's folder")
        source, filename, uptodate = _read(override)
        # Same first line, so line numbers in errors match the candidate's file.
        parent = f"{NATION_PREFIX}{slug}/{LAYER_MARK}{name}"
        return f'{{% extends "{parent}" %}}' + source, filename, uptodate


def _read(path: Path) -> tuple[str, str, Callable[[], bool]]:
    mtime = path.stat().st_mtime
    relative = os.path.relpath(path)
    shown = str(path) if relative.startswith("..") else relative  # short when under the cwd
    return path.read_text(encoding="utf-8"), shown, lambda: path.stat().st_mtime == mtime


def _autoescaped(name: str | None) -> bool:
    return bool(name) and str(name).endswith(".html.j2")


def make_environment(
    blueprint: Blueprint,
    base_templates: Path,
    nations_dir: Path | None,
    trusted: bool = False,
    code: SharedCode | None = None,
) -> jinja2.Environment:
    """The sandboxed environment of a blueprint (candidate overrides take part), or with
    `trusted` the blueprint-only one, which never sees a nation's files."""
    kind: type[TemplateRules] = BlueprintEnvironment if trusted else CampaignEnvironment
    env = kind(
        loader=LayeredLoader(blueprint, base_templates, None if trusted else nations_dir),
        bytecode_cache=code,
        undefined=CampaignUndefined,
        autoescape=_autoescaped,
        cache_size=-1,  # never evict: every template is compiled once per run
        auto_reload=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    for unsafe in REMOVED_GLOBALS:
        env.globals.pop(unsafe, None)
    make_strict(env)
    amplifiers.bounded_filters(env)
    env.filters["urlencode"] = speedups.urlencode
    env.budget_tick = budgets.tick  # type: ignore[attr-defined]
    return env


class Renderer:
    """Renders one blueprint's templates for any nation."""

    def __init__(
        self,
        blueprint: Blueprint,
        base_templates: Path,
        nations_dir: Path,
        code: Mapping[bool, SharedCode] | None = None,
    ):
        self.blueprint = blueprint
        self.nations_dir = nations_dir
        code = code or {False: SharedCode(), True: SharedCode()}
        # Nations with overrides render (and are checked) here, in the sandbox.
        self.env = make_environment(blueprint, base_templates, nations_dir, False, code[False])
        # Nations without: only blueprint code runs, so no sandbox to pay for.
        self.blueprint_env = make_environment(blueprint, base_templates, None, True, code[True])

    def env_for(self, namespaced: bool) -> jinja2.Environment:
        """The sandbox when the nation's own templates take part, else the blueprint's."""
        return self.env if namespaced else self.blueprint_env

    def has_overrides(self, slug: str) -> bool:
        folder = self.nations_dir / slug / "overrides"
        return folder.is_dir() and any(p.is_file() for p in folder.rglob("*"))

    def render(self, slug: str, name: str, context: dict[str, Any], namespaced: bool) -> str:
        """Render template `name` for nation `slug`; raise TemplateError with file:line."""
        full_name = f"{NATION_PREFIX}{slug}/{name}" if namespaced else name
        try:
            template = self.env_for(namespaced).get_template(full_name)
            with shared_modules():
                return budgets.bounded_text(template.generate(context))
        except (budgets.RenderTimeout, budgets.RenderTooLarge) as exc:
            where = template_location(exc.__traceback__) or _template_file(template)
            raise budgets.BudgetError(str(exc), where) from None
        except ForbiddenSyntax as exc:
            location = f"{exc.filename or exc.name}:{exc.lineno}"
            raise TemplateError(f"forbidden in templates: {exc.message}", location) from exc
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
        except RENDER_ERRORS as exc:
            where = template_location(exc.__traceback__)
            raise TemplateError(f"template error: {exc}", where) from exc


def _template_file(template: jinja2.Template) -> str | None:
    return template.filename or template.name


def template_location(tb: TracebackType | None) -> str | None:
    """`file:line` of the innermost template frame of a traceback (Jinja rewrites them)."""
    location = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            location = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return location
