"""Where a network's inputs and outputs live, and run ids: light, so the CLI and the
no-op shortcut (noop.py) can use them without importing the deploy machinery."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.targets import TargetChoice


@dataclass
class Project:
    """Where the inputs and outputs of a network live."""

    spec: Path = Path("nations.yaml")
    out: Path = Path("build")
    blueprints: Path | None = None
    nations_dir: Path | None = None
    supporters: Path | None = None  # the central supporter export; None: no private lists
    ledger: Path | None = None  # the do-not-contact ledger (default: beside supporters)
    intake: Path | None = None  # the intake store (`provisioner serve`); None: no web sign-ups
    target: TargetChoice = field(default_factory=TargetChoice)  # where it is published
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ledger_path(self) -> Path | None:
        if self.ledger is not None or self.supporters is None:
            return self.ledger
        return self.supporters.parent / "do-not-contact.csv"

    @property
    def erasures_path(self) -> Path | None:
        """The erasure ledger (hashes only), beside the central export."""
        return self.supporters.parent / "erased.csv" if self.supporters else None

    @property
    def root(self) -> Path:
        return self.spec.parent

    @property
    def blueprints_dir(self) -> Path:
        """`blueprints/` beside the spec, else in the nearest folder above it that has
        one (a sample such as examples/france/nations.yaml uses the project's)."""
        if self.blueprints is not None:
            return self.blueprints
        root = self.root.resolve()
        for folder in (root, *root.parents):
            if (folder / "blueprints").is_dir():
                return folder / "blueprints" if folder != root else self.root / "blueprints"
        return self.root / "blueprints"

    @property
    def overrides_dir(self) -> Path:
        return self.nations_dir or self.root / "nations"

    @property
    def intake_store(self) -> Path:
        """The intake store `provisioner serve` writes (default: data/ beside the spec)."""
        return self.intake or self.root / "data" / "intake.db"

    @property
    def reports_dir(self) -> Path:
        return self.out / "reports"

    @property
    def template_cache(self) -> Path:
        """Compiled templates a deploy keeps for the next (render/codecache.py)."""
        return self.out / ".cache" / "templates"

    @property
    def parsed_spec(self) -> Path:
        """nations.yaml as a deploy parsed it, kept for the next (spec/parsememo.py)."""
        return self.out / ".cache" / "spec.marshal"

    @property
    def language_tags(self) -> Path:
        """Language tags a deploy found valid, kept for the next (langtags.py)."""
        return self.out / ".cache" / "language-tags.json"


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
