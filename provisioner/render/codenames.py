"""One compilation of a template for every nation whose namespace renders it.

A nation with overrides renders in its own namespace (`@nation/<slug>/...`), so each of
its templates is a template of its own: the layout, every page, partial and email, not
only the files it overrides. Jinja writes a template's name into its compiled code (the
module's `name`, and the parent argument of every `extends`, `include` and `import`, by
which relative names resolve), so each nation compiled the whole chain again: 37
templates per nation with overrides, 0.25 s each nation on a 2-core VM.

Here the code reads the name at run time instead, from a global of its module
(`RUNTIME_NAME`), and is compiled under `code_name(name)`, the name with the nation left
out. Code compiled from the same source and file is then the same for every nation; it
is cached under that key, and each template made from it gets its own name (so its
own namespace) when its module runs (`speedups.FastTemplate.from_code`).
"""

from __future__ import annotations

NATION_PREFIX = "@nation/"
RUNTIME_NAME = "template_name__"  # no template variable compiles to it (Jinja writes l_0_x)
ANY_NATION = "*"  # never a slug (a-z, 0-9, -)


class RuntimeName(str):
    """A template's name that compiled code spells as the global `RUNTIME_NAME`."""

    def __repr__(self) -> str:
        return RUNTIME_NAME


def code_name(name: str) -> str:
    """`name` with the nation's slug left out: the name its code is compiled under."""
    if not name.startswith(NATION_PREFIX):
        return name
    _, _, rest = name[len(NATION_PREFIX) :].partition("/")
    return f"{NATION_PREFIX}{ANY_NATION}/{rest}"
