"""Calls that make a huge string from a small template: refused before they run.

A padding width (`'%900000000s'|format(x)`, `'{:>900000000}'.format(x)`,
`x|center(900000000)`, `x.ljust(...)`), a tab size or a replacement can ask for
gigabytes in one call, which no loop tick can interrupt and which would exhaust the
worker's memory before the file budget sees the result. Each is checked against the
nation's file budget (budgets.py) before it runs. `*` is bounded by the sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jinja2

from provisioner.render import budgets

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*?:([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


def check_percent(fmt: str, values: Any) -> None:
    """`fmt % values`: every width and precision, literal or `*`, within the budget."""
    for width, precision in _PERCENT_SPEC.findall(fmt):
        for number in (width, precision):
            if number == "*":
                _check_numbers(values if isinstance(values, tuple) else (values,))
            elif number:
                budgets.check_width(int(number))


def check_braces(fmt: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    """`fmt.format(...)`: widths in every format spec, and nested `{}` widths."""
    for spec in _BRACE_SPEC.findall(fmt):
        if "{" in spec:
            _check_numbers((*args, *kwargs.values()))
        for number in re.findall(r"\d+", spec):
            budgets.check_width(int(number))


def check_call(obj: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    """A str method called from a template, before it runs."""
    target = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format
    text = getattr(target, "__self__", None)
    if not isinstance(text, str):
        return
    name = getattr(target, "__name__", "")
    if name in _PADDING_METHODS:
        _check_numbers((*args[:1], kwargs.get("width", 0)))
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(size, int):
            budgets.check_width(len(text) + text.count("\t") * size)
    elif name == "replace" and len(args) >= 2:
        check_replace(text, args[0], args[1])
    elif name in ("format", "format_map"):
        mapping = args[0] if name == "format_map" and args else kwargs
        check_braces(text, args if name == "format" else (), mapping)


def check_replace(text: Any, old: Any, new: Any) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        grows = max(0, len(new) - len(old))
        budgets.check_width(len(text) + (text.count(old) if old else len(text) + 1) * grows)


def _check_numbers(values: Sequence[Any]) -> None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            budgets.check_width(value)


def bounded_filters(env: jinja2.Environment) -> None:
    """Replace the filters that pad or replace with checked versions."""
    filters = env.filters
    center, indent = filters["center"], filters["indent"]
    format_, replace = filters["format"], filters["replace"]

    # Results are returned as the filters made them: Markup stays Markup.
    def checked_center(value: Any, width: int = 80) -> Any:
        _check_numbers((width,))
        return center(value, width)

    def checked_indent(value: Any, width: int | str = 4, *args: Any, **kwargs: Any) -> Any:
        size = width if isinstance(width, int) else len(str(width))
        budgets.check_width(len(str(value)) * max(1, size))
        return indent(value, width, *args, **kwargs)

    def checked_format(value: Any, *args: Any, **kwargs: Any) -> Any:
        check_percent(str(value), kwargs or args)
        return format_(value, *args, **kwargs)

    def checked_replace(eval_ctx: Any, value: Any, old: Any, new: Any, count: Any = None) -> Any:
        check_replace(str(value), str(old), str(new))
        return replace(eval_ctx, value, old, new, count)

    checked_replace = jinja2.pass_eval_context(checked_replace)
    filters.update(
        center=checked_center, indent=checked_indent, format=checked_format,
        replace=checked_replace,
    )  # fmt: skip
