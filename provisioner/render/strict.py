"""Strict undefined everywhere: no filter or container can turn a typo into text.

Jinja's StrictUndefined refuses `str()`, iteration and comparison, but three doors
stay open, and each published a blank or `[Undefined]` on a live page:
- `repr()`: a list, tuple or dict holding an undefined value prints through repr, as
  in `{{ items|map(attribute='typo')|list }}`, `{{ [nation.typo] }}`, `|pprint` and
  `'%r'|format(...)`;
- `|items` returns nothing for an undefined mapping;
- `|xmlattr` drops attributes whose value is undefined;
- `|tojson` reports a JSON type error instead of the undefined name.
CampaignUndefined closes the first, the filters and JSON policy below the others. Intended
fallbacks (`|default`, `is defined`) keep working.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import jinja2
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext


class CampaignUndefined(jinja2.StrictUndefined):
    """StrictUndefined whose repr fails too, so no container can print it."""

    __slots__ = ()
    __repr__ = jinja2.StrictUndefined._fail_with_undefined_error


def strict_items(value: Mapping[Any, Any] | jinja2.Undefined) -> Iterator[tuple[Any, Any]]:
    """`|items`, failing on an undefined value instead of yielding nothing."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    yield from jinja2.filters.do_items(value)


@pass_eval_context
def strict_xmlattr(eval_ctx: EvalContext, d: Mapping[str, Any], autospace: bool = True) -> str:
    """`|xmlattr`, failing on an undefined attribute value instead of dropping it."""
    for value in d.values():
        if isinstance(value, jinja2.Undefined):
            value._fail_with_undefined_error()
    return jinja2.filters.do_xmlattr(eval_ctx, d, autospace)  # Markup when autoescaping


def _json_default(value: object) -> object:
    """`|tojson` of an undefined value: the undefined error, not a JSON type error."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    raise TypeError(f"{type(value).__name__} values cannot be written as JSON")


def make_strict(env: jinja2.Environment) -> None:
    """Install the strict undefined and the strict filters in `env`."""
    env.undefined = CampaignUndefined
    env.filters["items"] = strict_items
    env.filters["xmlattr"] = strict_xmlattr
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "default": _json_default}
