"""Work that renders can share without changing a byte of what they produce.

- Compiled code: every blueprint has its own environments (their loaders differ), but
  the shared base (layout, partials) is the same source under the same name in each.
  `SharedCode` hands the code compiled by one environment to the others of its kind, so
  each template is compiled once per run instead of once per blueprint.
- Imported modules: `{% import "partials/macros.html.j2" as ui with context %}` runs
  the partial's top level again at every import (Jinja caches only imports without
  context), and one email imports its partials seven times. `SharedModuleTemplate`
  reuses a module imported with the very same values (compared by identity) of every
  name it can read, within one scope (`shared_modules()`, opened around a nation's
  build): same inputs, same module. Only blueprint environments use it; candidate
  templates run as before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.environment import TemplateModule
from jinja2.utils import Namespace, missing

from provisioner.render.codecache import DiskCode
from provisioner.render.speedups import FastTemplate

_UNKNOWN: tuple[str, ...] = ("?",)  # context names not looked for yet
_NAMES = "_names_by_template"  # an environment's attribute: see remember_names
_active = threading.local()  # the module cache of the scope this thread renders in


class SharedCode(jinja2.BytecodeCache):
    """Compiled templates kept in memory, shared by the environments of one kind.

    A key is the template's name and file; a hit also needs the same source checksum,
    so an override or an edited file is compiled anew. Environments of one kind have the
    same options and compile-time checks, so their code for one source is the same.
    """

    def __init__(self, disk: DiskCode | None = None) -> None:
        self._code: dict[str, tuple[str, Any]] = {}
        self._lock = threading.Lock()
        self._disk = disk  # code kept between runs (codecache.py), when a deploy has one

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        found = self._code.get(bucket.key)
        if found is not None and found[0] == bucket.checksum:
            bucket.code = found[1]
        elif self._disk is not None:
            self._disk.load(bucket)
            if bucket.code is not None:
                self._keep(bucket)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._keep(bucket)
        if self._disk is not None:
            self._disk.dump(bucket)

    def _keep(self, bucket: jinja2.bccache.Bucket) -> None:
        with self._lock:
            self._code[bucket.key] = (bucket.checksum, bucket.code)


@contextmanager
def shared_modules() -> Iterator[None]:
    """Within, a module imported twice with the same values is built once; a nested
    scope keeps the outer one (a nation's build shares across its pages and emails)."""
    if getattr(_active, "modules", None) is not None:
        yield
        return
    _active.modules = {}
    try:
        yield
    finally:
        _active.modules = None


class SharedModuleTemplate(FastTemplate):
    """A template whose `import ... with context` modules are shared within a scope.

    A module is a function of the values its template (and the templates it imports or
    includes) reads from the context; the key holds the identity of each of those, so
    `macros.html.j2` imported by the layout, the page and a partial is built once, and
    `email.j2` once for all of a nation's emails in one language.
    """

    def make_module(
        self,
        vars: dict[str, Any] | None = None,
        shared: bool = False,
        locals: Mapping[str, Any] | None = None,
    ) -> TemplateModule:
        cache: dict[tuple[Any, ...], tuple[list[Any], TemplateModule]] | None = getattr(
            _active, "modules", None
        )
        names = context_names(self) if cache is not None and vars is not None else None
        if cache is None or names is None:
            return super().make_module(vars, shared, locals)
        values = [_lookup(name, vars or {}, locals or {}) for name in names]
        # The values are kept with the entry, so no identity is reused meanwhile.
        key = (id(self), shared, *map(id, values))
        found = cache.get(key)
        if found is not None:
            return found[1]
        context = self.new_context(vars, shared, locals)
        module = TemplateModule(self, context)
        if _stateless(context):
            cache[key] = (values, module)
        return module


def _lookup(name: str, vars: Mapping[str, Any], locals: Mapping[str, Any]) -> Any:
    """What `name` is in a context made of `vars` and `locals` (see jinja2's new_context)."""
    value = locals.get(name, missing)
    return vars.get(name, missing) if value is missing else value


def _stateless(context: jinja2.runtime.Context) -> bool:
    """A module holding a namespace (exported or not) could carry state from one use to
    the next: its macros could change it."""
    return not any(isinstance(value, Namespace) for value in context.vars.values())


def context_names(template: jinja2.Template) -> tuple[str, ...] | None:
    """Every name `template` can read from its context, with those of the templates it
    imports, includes or extends; None when one of them is named by a variable."""
    names: tuple[str, ...] | None = template.__dict__.get("_context_names", _UNKNOWN)
    if names is _UNKNOWN:
        found = _free_names(template, set())
        names = tuple(sorted(found)) if found is not None else None
        template.__dict__["_context_names"] = names
    return names


def remember_names(
    env: jinja2.Environment, name: str, names: Iterable[str], references: tuple[str | None, ...]
) -> None:
    """What compiling template `name` found: the names it reads from its context and
    the templates it references (None: one named by a variable)."""
    env.__dict__.setdefault(_NAMES, {})[name] = (frozenset(names), references)


def _names_and_references(
    template: jinja2.Template,
) -> tuple[frozenset[str], tuple[str | None, ...]]:
    """Those of `remember_names` when this environment compiled the template, else
    found from its source (its code came from a cache)."""
    env, name = template.environment, template.name
    known = env.__dict__.get(_NAMES, {}).get(name)
    if known is not None:
        return known
    assert env.loader is not None and name is not None
    source = env.loader.get_source(env, name)[0]
    tree = env.parse(source, name, template.filename)
    names = frozenset(meta.find_undeclared_variables(tree))
    return names, tuple(meta.find_referenced_templates(tree))


def _free_names(template: jinja2.Template, seen: set[str]) -> set[str] | None:
    env, name = template.environment, template.name
    if name is None or env.loader is None:
        return None
    if name in seen:
        return set()
    seen.add(name)
    found, references = _names_and_references(template)
    names = set(found)
    for referenced in references:
        if referenced is None:
            return None
        inner = _free_names(env.get_template(env.join_path(referenced, name)), seen)
        if inner is None:
            return None
        names |= inner
    return names
