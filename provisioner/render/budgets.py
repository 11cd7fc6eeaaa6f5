"""Budgets per nation: how large its files may be and how long its templates may run.

One override line can publish a 50 MB page or loop for hours; without a bound, one
candidate would stop the deploy of the whole network and every kept release would
keep a copy. So each nation has budgets (`budgets:` in nations.yaml, network-wide
under `network:` and per nation; defaults in `models.Budgets`), enforced wherever a
nation is rendered (deploy, `check`, `preview`), since all of them render through
`Builder` and `Renderer`:

- render time: every loop iteration of a template calls `tick()` (the sandbox adds
  the call when it compiles a `for`), which stops the render once the nation's
  deadline has passed, with the file and line of the loop. A build worker that is
  still busy well past the deadline (stuck in one long call) is killed and replaced
  by the pool (buildpool.py);
- size of one file: a page is rendered as a stream and stopped as soon as it is over
  the budget, so a runaway page never sits whole in memory; every file (pages,
  emails, assets) is measured again in the finished build;
- size of a nation: its public files and emails together. Private supporter lists
  are not counted: their size follows the supporter export, not a candidate's edit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice

import jinja2

from provisioner.errors import NationError
from provisioner.spec.models import Budgets

MB = 1_000_000
COUNTED_AREAS = ("sites", "emails")


class BudgetError(NationError):
    """A nation's build is over one of its budgets; not worth a retry."""


class RenderTimeout(jinja2.exceptions.TemplateRuntimeError):
    """Raised inside a template (so its traceback has the template's file and line)."""


class RenderTooLarge(jinja2.exceptions.TemplateRuntimeError):
    """A rendered file grew past its budget while it was being rendered."""


@dataclass(frozen=True)
class _Scope:
    deadline: float
    seconds: float
    file_bytes: int


_active = threading.local()  # the scope of the nation this thread is rendering


@contextmanager
def rendering(budgets: Budgets) -> Iterator[None]:
    """Templates rendered inside obey `budgets`; a nested scope keeps the outer one, so
    the deadline counts for the whole nation, not for each of its templates."""
    if getattr(_active, "scope", None) is not None:
        yield
        return
    seconds = budgets.render_seconds
    _active.scope = _Scope(time.monotonic() + seconds, seconds, int(budgets.file_mb * MB))
    try:
        yield
    finally:
        _active.scope = None


def tick() -> None:
    """Called at every loop iteration of every template: stop past the deadline."""
    scope: _Scope | None = getattr(_active, "scope", None)
    if scope is not None and time.monotonic() > scope.deadline:
        raise RenderTimeout(
            f"rendering took more than the nation's budget of {scope.seconds:g} s "
            "(`budgets.render_seconds` in nations.yaml); this loop runs too long"
        )


def check_width(characters: int) -> None:
    """Refuse a call that would make a string longer than one file may be."""
    scope: _Scope | None = getattr(_active, "scope", None)
    limit = scope.file_bytes if scope is not None else int(Budgets().file_mb * MB)
    if characters > limit:
        raise RenderTooLarge(
            f"this would make a text of {characters:,} characters, over the budget of "
            f"{limit / MB:g} MB per file (`budgets.file_mb` in nations.yaml)"
        )


def bounded_text(chunks: Iterable[str]) -> str:
    """Join a template's output stream, stopping once it is over the file budget."""
    scope: _Scope | None = getattr(_active, "scope", None)
    if scope is None:
        return "".join(chunks)
    parts, size, stream = [], 0, iter(chunks)
    # Joined in batches (C speed): a page yields thousands of small chunks.
    while block := list(islice(stream, _BATCH)):  # not a joined string: chunks may be ""
        batch = "".join(block)
        size += len(batch)  # characters: never more than the UTF-8 bytes
        if size > scope.file_bytes:
            raise RenderTooLarge(
                f"the rendered file is over the budget of {scope.file_bytes / MB:g} MB "
                "per file (`budgets.file_mb` in nations.yaml)"
            )
        parts.append(batch)
    return "".join(parts)


_BATCH = 256


def check_sizes(slug: str, files: Mapping[str, Mapping[str, bytes]], budgets: Budgets) -> None:
    """Raise BudgetError when a file, or the nation's files together, are over budget."""
    sizes = {
        f"{area}/{path}": len(data) for area in COUNTED_AREAS for path, data in files[area].items()
    }
    if not sizes:
        return
    largest = max(sizes, key=sizes.__getitem__)
    if sizes[largest] > budgets.file_mb * MB:
        raise BudgetError(
            f"{largest} of {slug} is {_mb(sizes[largest])}, over the budget of "
            f"{budgets.file_mb:g} MB per file (`budgets.file_mb` in nations.yaml)"
        )
    total = sum(sizes.values())
    if total > budgets.nation_mb * MB:
        raise BudgetError(
            f"the public files and emails of {slug} total {_mb(total)}, over its budget of "
            f"{budgets.nation_mb:g} MB (`budgets.nation_mb` in nations.yaml); the largest "
            f"is {largest} ({_mb(sizes[largest])})"
        )


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB"
