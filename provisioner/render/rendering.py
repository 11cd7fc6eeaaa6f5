"""Sandboxed, strict Jinja rendering with layered templates.

One environment per blueprint, shared by every nation and thread, so each template is
compiled once. Names resolve through layers: the nation's override, the blueprint, the
shared base. A nation with overrides renders in its own namespace (`@nation/<slug>/...`)
so that its overrides apply at every level of the inheritance chain; nations without
overrides share the blueprint's compiled templates.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from provisioner.errors import TemplateError
from provisioner.render import amplifiers, budgets
from provisioner.render.blueprints import Blueprint
from provisioner.render.sharing import SharedCode, SharedModuleTemplate, shared_modules
from provisioner.render.strict import CampaignUndefined, make_strict

NATION_PREFIX = "@nation/"
LAYER_MARK = "!"  # "@nation/<slug>/!X": the blueprint/base template X, in the nation's namespace
# Globals Jinja ships whose functions expose `__globals__`; removed from every environment.
REMOVED_GLOBALS = ("lipsum", "cycler", "joiner")
# Non-underscore attributes that still lead to Python internals (classes, frames, code).
UNSAFE_ATTRIBUTES = frozenset(
    {"mro", "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "f_globals"}
    | {"f_locals", "f_back", "f_builtins", "tb_frame", "tb_next", "func_globals", "im_func"}
)
# Filters and tests that look attributes up by a name given as a string.
ATTRIBUTE_FILTERS = frozenset(
    {"attr", "map", "select", "selectattr", "reject", "rejectattr", "sort", "groupby"}
    | {"sum", "unique", "min", "max", "dictsort"}
)
# Methods that change a list, dict, set or deque in place (those the immutable sandbox
# refuses on these types).
MUTATING_METHODS = frozenset(
    {"append", "appendleft", "extend", "extendleft", "insert", "remove", "reverse", "sort"}
    | {"pop", "popleft", "popitem", "clear", "setdefault", "update", "rotate", "add"}
    | {"discard", "difference_update", "intersection_update", "symmetric_difference_update"}
)
MAX_SEQUENCE = 100_000  # like the sandbox's MAX_RANGE: a template may not build huge values
MAX_EXPONENT = 1_000
# What a faulty or hostile template can raise (RecursionError: a template including
# itself); each becomes a TemplateError of its nation instead of crashing the run.
RENDER_ERRORS: tuple[type[Exception], ...] = (jinja2.TemplateError, TypeError, ValueError)
RENDER_ERRORS += (AttributeError, ArithmeticError, RecursionError)


class ForbiddenSyntax(jinja2.TemplateSyntaxError):
    """A template uses a construct that only serves to escape the sandbox."""


class LayeredLoader(jinja2.BaseLoader):
    """Finds templates in nation overrides, then the blueprint, then the shared base."""

    def __init__(self, blueprint: Blueprint, base_templates: Path, nations_dir: Path | None):
        self.layers = [blueprint.templates, base_templates]
        self.nations_dir = nations_dir  # None: blueprint templates only

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


class TemplateRules(jinja2.Environment):
    """What every environment enforces: a nation's templates stay inside its own
    namespace and away from other nations', and templates are checked when compiled:
    escape attempts fail with their line even in a branch a test render would not take.
    """

    def join_path(self, template: str, parent: str) -> str:
        if not parent.startswith(NATION_PREFIX):
            if template.startswith(NATION_PREFIX):
                raise jinja2.TemplateNotFound(template, "blueprints cannot include nation files")
            return template
        own = parent[: parent.index("/", len(NATION_PREFIX)) + 1]
        outside = "a nation may only use its own templates and the blueprint's"
        if template.startswith("/") or ".." in template.replace("\\", "/").split("/"):
            raise jinja2.exceptions.SecurityError(f"{template!r}: {outside}")
        if template.startswith((own, "@blueprint/", "@base/")):
            return template
        if template.startswith("@"):
            raise jinja2.exceptions.SecurityError(f"{template!r}: {outside}")
        return own + template

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Test)):
            reason = _forbidden(node)
            if reason:
                raise ForbiddenSyntax(reason, node.lineno, name, filename)
        for name_node in tree.find_all(nodes.Name):
            if name_node.name in REMOVED_GLOBALS:
                message = f"{name_node.name!r} is not available in templates"
                raise ForbiddenSyntax(message, name_node.lineno, name, filename)
        _tick_every_loop(tree, self)
        return tree


class CampaignEnvironment(TemplateRules, ImmutableSandboxedEnvironment):
    """Where candidate code runs: the runtime sandbox on top of the compile-time rules."""

    intercepted_binops = frozenset({"*", "**", "%"})  # also stops constant folding of 9**9**9

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise jinja2.exceptions.SecurityError(f"exponent {right} is too large")
        if operator == "*" and _repeat_length(left, right) > MAX_SEQUENCE:
            raise jinja2.exceptions.SecurityError("repeated value is too long")
        if operator == "%" and isinstance(left, str):
            amplifiers.check_percent(left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        amplifiers.check_call(__obj, args, kwargs)  # padding and replacing: bounded
        return super().call(__context, __obj, *args, **kwargs)


def _tick_every_loop(tree: nodes.Template, env: jinja2.Environment) -> None:
    """Start every loop, macro and call block body with `environment.budget_tick()`
    (budgets.tick): a render past its nation's deadline stops at that line, whatever
    it iterates or however it recurses (a macro calling itself twice needs no loop to
    run for ever). An environment attribute, so no template variable can shadow it."""
    bodies: Any = tree.find_all((nodes.For, nodes.Macro, nodes.CallBlock))
    for loop in bodies:
        call = nodes.Call(nodes.EnvironmentAttribute("budget_tick"), [], [], None, None)
        tick = nodes.ExprStmt(call)
        tick.set_lineno(loop.lineno)
        tick.set_environment(env)
        loop.body.insert(0, tick)


def _repeat_length(left: Any, right: Any) -> int:
    """Length of `left * right` when it repeats a string or list, else 0."""
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int):
            return len(seq) * times
    return 0


def _forbidden(node: nodes.Node) -> str | None:
    """Why `node` is refused at compile time, or None."""
    if isinstance(node, nodes.Getattr):
        if node.attr.startswith("_") or node.attr in UNSAFE_ATTRIBUTES:
            return f"attribute {node.attr!r} leads to Python internals"
    elif isinstance(node, nodes.Getitem):
        if isinstance(node.arg, nodes.Const) and str(node.arg.value).startswith("_"):
            return f"item {node.arg.value!r} leads to Python internals"
    elif isinstance(node, nodes.Filter | nodes.Test) and node.name in ATTRIBUTE_FILTERS:
        if node.name == "attr":
            return "the |attr filter is not allowed; write value.name"
        names = [*node.args, *(kw.value for kw in node.kwargs)]
        for arg in names:
            if isinstance(arg, nodes.Const) and str(arg.value).startswith("_"):
                return f"attribute {arg.value!r} leads to Python internals"
    return None


class BlueprintEnvironment(TemplateRules):
    """Where only blueprint and base templates run (central, reviewed code): the same
    compile-time rules, strictness, bounded filters and budgets, without the runtime
    sandbox's check of every attribute and call, whose cost only candidate code needs.

    It cannot load a nation's files at all (see `LayeredLoader`), and it refuses at
    compile time the methods that change a value in place, which the immutable sandbox
    refuses when it runs: data shared by every render stays as the spec made it.
    """

    template_class = SharedModuleTemplate

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
            attr = node.attr if isinstance(node, nodes.Getattr) else _const_item(node)
            if attr in MUTATING_METHODS:
                message = f"{attr!r} changes a value in place; build a new value instead"
                raise ForbiddenSyntax(message, node.lineno, name, filename)
        return tree


def _const_item(node: nodes.Node) -> str | None:
    arg = getattr(node, "arg", None)
    return str(arg.value) if isinstance(arg, nodes.Const) else None


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
