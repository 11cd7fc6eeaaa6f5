"""A network's supporters: read once, segmented once, exported per nation.

Loading is lazy: a no-op deploy only hashes the two files (to notice a new export) and
never parses 200,000 rows. The first run that builds anything loads and segments
everything in one pass, before the build processes are forked, so they share it.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from provisioner.blueprints import Blueprint
from provisioner.errors import InputError
from provisioner.network import Nation, Network
from provisioner.supporters import (
    Ingestion,
    Ledger,
    Segmentation,
    build_index,
    read_ledger,
    read_supporters,
    render_exports,
    render_quarantine,
    segment,
)


class Audience:
    """Supporter lists of one network, for the builder and the report."""

    def __init__(self, network: Network, supporters: Path, ledger: Path):
        for path, option in ((supporters, "--supporters"), (ledger, "--do-not-contact")):
            if not path.is_file():
                raise InputError(
                    f"{path}: supporter file not found; pass {option} PATH, or run "
                    "`make deploy` once to generate the sample data"
                )
        self.network = network
        self.supporters_path = supporters
        self.ledger_path = ledger
        self._digest = _files_digest([supporters, ledger])
        self._ingestion: Ingestion | None = None
        self._ledger: Ledger | None = None
        self._segmentation: Segmentation | None = None
        self._lock = threading.Lock()

    def digest(self, nation: Nation) -> str:
        """Part of every nation's fingerprint: a new export rebuilds the private lists."""
        return self._digest

    def input_bytes(self) -> int:
        return self.supporters_path.stat().st_size

    def load(self) -> None:
        with self._lock:  # worker threads may ask at once; read the file only once
            self._load()

    def _load(self) -> None:
        if self._segmentation is not None:
            return
        geography = self.network.geography
        self._ingestion = read_supporters(self.supporters_path, geography)
        self._ledger = read_ledger(self.ledger_path, self.network.info.country)
        owners = {n.slug: n.geo.postcodes for n in self.network}
        areas = {n.slug: n.geo.areas for n in self.network if n.geo.areas}
        parents = {n.slug: n.parent for n in self.network}
        index = build_index(owners, parents, areas, geography)
        self._segmentation = segment(self._ingestion.rows, index)

    def private_files(
        self, nation: Nation, blueprint: Blueprint
    ) -> tuple[dict[str, bytes], dict[str, int]]:
        self.load()
        assert self._segmentation is not None and self._ledger is not None
        exports = render_exports(
            nation.slug,
            shared_tags(nation),
            blueprint.manifest.segments,
            blueprint.manifest.dialers,
            self._segmentation.rows(nation.slug),
            self._ledger,
        )
        return exports.files, exports.counts

    @property
    def loaded(self) -> bool:
        return self._segmentation is not None

    def quarantine_csv(self) -> bytes | None:
        return render_quarantine(self._ingestion.quarantined) if self._ingestion else None

    def summary(self) -> dict[str, Any]:
        """For the run report: what was read, set aside and left without a nation."""
        if self._ingestion is None or self._segmentation is None:
            return {"file": str(self.supporters_path), "loaded": False}
        return {
            "file": str(self.supporters_path),
            "loaded": True,
            "rows": self._ingestion.total,
            "accepted": len(self._ingestion.rows),
            "quarantined": len(self._ingestion.quarantined),
            "unassigned": self._segmentation.unassigned,
            "ambiguous": self._segmentation.ambiguous,
        }


def shared_tags(nation: Nation) -> list[str]:
    """Tags every supporter of the nation carries, own then inherited (NationBuilder-style).

    Postcode tags are left out: a province would stamp a hundred of them on every row,
    and each row already has its own `postcode` column.
    """
    return [tag for tag in nation.all_tags if not tag.startswith("postcode:")]


def _files_digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
