"""The candidate rules, enforced wherever a nation is rendered (deploy, preview, check).

A nation's own folder may not: override a block or template holding legal text, add
scripts, frames, forms or event handlers, name a block or template the blueprint does
not have, link outside itself, or publish an asset outside the allow-list (an SVG with
a script included). `Builder.build` raises `CandidateRuleError` listing every breach,
so a deploy fails that nation alone, with `file:line`, and its live release stays.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import jinja2

from provisioner.candidates.assets import asset_problems
from provisioner.candidates.overrides import check_override, override_names
from provisioner.candidates.problems import Problem, shown_path
from provisioner.errors import TemplateError


class CandidateRuleError(TemplateError):
    """A nation's own files (templates or assets) break a candidate rule; carries every
    problem found. Never transient: retrying cannot fix a file."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        first, rest = problems[0], problems[1:]
        where = f"{first.file}:{first.line}" if first.line else first.file
        more = "".join(f"; {problem}" for problem in rest)
        super().__init__(f"{first.message}{more}", where)

    def __reduce__(self) -> tuple[type, tuple[list[Problem]]]:  # type: ignore[override]
        return (type(self), (self.problems,))


def rule_problems(
    env: jinja2.Environment,
    nations_dir: Path,
    slug: str,
    context_names: Iterable[str] | None = None,
) -> list[Problem]:
    """Every breach of a candidate rule in `nations/<slug>/`, sorted by file and line;
    with `context_names`, also names no context defines (see `check_override`)."""
    folder = nations_dir / slug
    if not folder.is_dir():
        return []
    problems = link_problems(folder)
    names = frozenset(context_names) if context_names is not None else None
    for name in override_names(folder):
        problems += check_override(env, slug, name, names)
    problems += asset_problems(folder / "assets")
    unique = {(p.file, p.line, p.message): p for p in problems}
    return sorted(unique.values(), key=Problem.sort_key)


def link_problems(folder: Path) -> list[Problem]:
    """Symbolic links could publish or render files from outside the nation's folder."""
    return [
        Problem(shown_path(path), None, "symbolic links are not allowed; copy the file instead")
        for path in sorted(folder.rglob("*"))
        if path.is_symlink()
    ]
