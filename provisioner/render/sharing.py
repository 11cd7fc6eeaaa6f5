"""Work that renders can share without changing a byte of what they produce.

- Compiled code: every blueprint has its own environments (their loaders differ), but
  the shared base (layout, partials) is the same source under the same name in each.
  `SharedCode` hands the code compiled by one environment to the others of its kind, so
  each template is compiled once per run instead of once per blueprint.
- Imported modules: `{% import "partials/macros.html.j2" as ui with context %}` runs
  the partial's top level again at every import (Jinja caches only imports without
  context), and one email imports its partials seven times. `SharedModuleTemplate`
  reuses a module imported with the very same values (compared by identity) within
  one scope (`shared_modules()`, opened around a nation's build): same inputs, same
  module. Only blueprint environments use it; candidate templates run as before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import jinja2
from jinja2.environment import TemplateModule
from jinja2.utils import Namespace

_active = threading.local()  # the module cache of the scope this thread renders in


class SharedCode(jinja2.BytecodeCache):
    """Compiled templates kept in memory, shared by the environments of one kind.

    A key is the template's name and file; a hit also needs the same source checksum,
    so an override or an edited file is compiled anew. Environments of one kind have the
    same options and compile-time checks, so their code for one source is the same.
    """

    def __init__(self) -> None:
        self._code: dict[str, tuple[str, Any]] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        found = self._code.get(bucket.key)
        if found is not None and found[0] == bucket.checksum:
            bucket.code = found[1]

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
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


class SharedModuleTemplate(jinja2.Template):
    """A template whose `import ... with context` modules are shared within a scope."""

    def make_module(
        self,
        vars: dict[str, Any] | None = None,
        shared: bool = False,
        locals: Mapping[str, Any] | None = None,
    ) -> TemplateModule:
        cache: dict[tuple[Any, ...], tuple[list[Any], TemplateModule]] | None = getattr(
            _active, "modules", None
        )
        if cache is None or vars is None:
            return super().make_module(vars, shared, locals)
        values = [*(vars or {}).values(), *(locals or {}).values()]
        # Names and identities of every value the module can see; the values are kept
        # with the entry so that no identity is reused by another object meanwhile.
        key = (id(self), shared, *vars, *(locals or ()), *map(id, values))
        found = cache.get(key)
        if found is not None:
            return found[1]
        context = self.new_context(vars, shared, locals)
        module = TemplateModule(self, context)
        if _stateless(context):
            cache[key] = (values, module)
        return module


def _stateless(context: jinja2.runtime.Context) -> bool:
    """A module holding a namespace (exported or not) could carry state from one use to
    the next: its macros could change it."""
    return not any(isinstance(value, Namespace) for value in context.vars.values())
