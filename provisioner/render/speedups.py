"""Exact stand-ins for two helpers Jinja calls hundreds of thousands of times a network.

Each returns what the original returns, for every input (tests/test_speedups.py
compares them on random text); only the cost differs.

- `escape`: every `{{ value }}` of an HTML template. MarkupSafe's own wraps the
  escaped text in `Markup(...)`, whose constructor first looks for `__html__` on a
  plain string (a failing `hasattr`); the text is already escaped, so the `Markup` is
  made directly, as `str.__new__(Markup, text)` (what `Markup.__new__` ends with).
- `urlencode`: the `|urlencode` filter (the share links of the messages page quote
  whole scripts). Jinja quotes byte by byte in Python (`urllib.parse.quote_from_bytes`);
  a string is quoted here by one `str.translate` over its UTF-8 bytes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, MutableMapping
from types import CodeType
from typing import Any

import jinja2
import markupsafe
from jinja2.filters import do_urlencode
from markupsafe import Markup

from provisioner.render.codenames import RUNTIME_NAME

_escape_inner = getattr(markupsafe, "_escape_inner", None)  # MarkupSafe 3: its C escape
_make = str.__new__
# urllib.parse's always-safe bytes; Jinja's `url_quote` adds "/" for strings.
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~/")
_QUOTED = {byte: f"%{byte:02X}" for byte in range(256) if byte not in _SAFE}


def escape(value: Any) -> Markup:
    """`markupsafe.escape(value)`."""
    if type(value) is str and _escape_inner is not None:
        return _make(Markup, _escape_inner(value))
    return markupsafe.escape(value)


def urlencode(value: Any) -> str:
    """`jinja2.filters.do_urlencode(value)`."""
    if type(value) is str:
        return _quoted(value)
    return do_urlencode(value)


@functools.lru_cache(maxsize=64)
def _quoted(text: str) -> str:
    """Kept for a while: each script of the messages page is quoted for two links."""
    return text.encode("utf-8").decode("latin-1").translate(_QUOTED)


class FastTemplate(jinja2.Template):
    """A template whose compiled code escapes with `escape` above: the code's module
    globals hold the `escape` its first line imports from jinja2.runtime. Its module
    also holds the template's name, which the code reads at run time (codenames.py)."""

    @classmethod
    def from_code(
        cls,
        environment: jinja2.Environment,
        code: CodeType,
        globals: MutableMapping[str, Any],
        uptodate: Callable[[], bool] | None = None,
        name: str | None = None,
    ) -> jinja2.Template:
        """`jinja2.Template.from_code`, the module given `name` (None: from a string)."""
        namespace = {"environment": environment, "__file__": code.co_filename}
        namespace[RUNTIME_NAME] = name
        exec(code, namespace)
        template = cls._from_namespace(environment, namespace, globals)
        template._uptodate = uptodate
        return template

    @classmethod
    def _from_namespace(
        cls,
        environment: jinja2.Environment,
        namespace: MutableMapping[str, Any],
        globals: MutableMapping[str, Any],
    ) -> jinja2.Template:
        if namespace.get("escape") is markupsafe.escape:
            namespace["escape"] = escape
        return super()._from_namespace(environment, namespace, globals)
