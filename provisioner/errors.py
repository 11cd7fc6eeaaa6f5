"""Every error the tool reports to a user derives from ProvisionerError.

Messages are ready to show as they are: they say what is wrong, where (file:line or a
YAML path) and how to fix it. The CLI maps them to exit codes and never adds a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# `plan --detailed-exitcode`: 0 nothing to do, 3 changes pending (2 stays "invalid input").
# Here rather than in run/plan.py so that the CLI can name it without importing the engine.
EXIT_CHANGES_PENDING = 3


class ProvisionerError(Exception):
    """Root of every user-facing error. `exit_code` is what the CLI exits with."""

    exit_code = 2


class InputError(ProvisionerError):
    """Bad input or usage: nothing was deployed and nothing was written (exit 2)."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file, with its place and a fix."""

    file: str
    line: int | None
    path: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        path = f" {self.path}:" if self.path else ""
        fix = f"; {self.fix}" if self.fix else ""
        return f"{where}:{path} {self.message}{fix}"


class SpecError(InputError):
    """nations.yaml (or a blueprint manifest) is invalid; carries every problem found."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, p.path))
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} found:"
        super().__init__("\n".join([header, *(f"  {p}" for p in self.problems)]))


class BlueprintError(InputError):
    """A blueprint is missing, or its manifest or templates are broken."""


class NationError(ProvisionerError):
    """One nation failed to build or publish; the others carry on (exit 1).

    `transient` errors (I/O, network) are worth retrying; template and data errors are not.
    `location` is `file:line` when known.
    """

    exit_code = 1
    transient = False

    def __init__(self, message: str, location: str | None = None):
        self.location = location
        self.detail = message
        super().__init__(f"{location}: {message}" if location else message)

    def __reduce__(self) -> tuple[type, tuple[str, str | None]]:
        # Builds run in worker processes: keep the location when the error is pickled back.
        return (type(self), (self.detail, self.location))


class TemplateError(NationError):
    """A template of the nation (blueprint or override) failed to render."""


class PublishError(NationError):
    """Writing a nation to its target failed; usually worth a retry."""

    transient = True


class LockError(ProvisionerError):
    """Another deploy holds the target's lock."""

    exit_code = 1
