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
from provisioner.intake.model import DoNotContact
from provisioner.intake.sqlite_store import read_snapshot
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
from provisioner.supporters.records import Supporter
from provisioner.supporters.web import from_submissions, reconcile, with_unsubscribes


class Audience:
    """Supporter lists of one network, for the builder and the report.

    With `intake` (the store `provisioner serve` writes), confirmed web sign-ups are
    merged into the central export and intake's unsubscribes join the ledger
    (supporters/web.py); they are read at once (a small table), so each nation's
    digest changes only when sign-ups in its own geography do.
    """

    def __init__(
        self, network: Network, supporters: Path, ledger: Path, intake: Path | None = None
    ):
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
        snapshot = read_snapshot(intake) if intake is not None else None
        self._web = from_submissions(snapshot.confirmed) if snapshot else []
        self._unsubscribed = snapshot.do_not_contact if snapshot else DoNotContact()
        self._web_digests = _web_digests(self._web, self._unsubscribed)
        self._ingestion: Ingestion | None = None
        self._ledger: Ledger | None = None
        self._segmentation: Segmentation | None = None
        self._lock = threading.Lock()

    def digest(self, nation: Nation) -> str:
        """Part of every nation's fingerprint: a new export rebuilds the private lists,
        and so does a web sign-up in the nation's geography or any unsubscribe."""
        parts = [self._web_digests["unsubscribed"]]
        parts += [self._web_digests.get(postcode, "") for postcode in nation.coverage]
        if not any(parts):  # no web sign-up here and no unsubscribe: as without intake
            return self._digest
        web = hashlib.sha256("|".join(parts).encode()).hexdigest()
        return hashlib.sha256(f"{self._digest}:{web}".encode()).hexdigest()

    def input_bytes(self) -> int:
        return self.supporters_path.stat().st_size

    def load(self) -> None:
        with self._lock:  # worker threads may ask at once; read the file only once
            self._load()

    def _load(self) -> None:
        if self._segmentation is not None:
            return
        self._ingestion = read_supporters(self.supporters_path)
        self._ledger = with_unsubscribes(read_ledger(self.ledger_path), self._unsubscribed)
        owners = {n.slug: n.geo.postcodes for n in self.network}
        parents = {n.slug: n.parent for n in self.network}
        rows = reconcile(self._ingestion.rows, self._web)
        self._segmentation = segment(rows, build_index(owners, parents))

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
            "web_signups": len(self._web),
            "web_unsubscribed": len(self._unsubscribed.emails) + len(self._unsubscribed.phones),
        }


def shared_tags(nation: Nation) -> list[str]:
    """Tags every supporter of the nation carries, own then inherited (NationBuilder-style).

    Postcode tags are left out: a province would stamp a hundred of them on every row,
    and each row already has its own `postcode` column.
    """
    return [tag for tag in nation.all_tags if not tag.startswith("postcode:")]


def _web_digests(web: list[Supporter], unsubscribed: DoNotContact) -> dict[str, str]:
    """Hash of the web sign-ups per postcode, and of the unsubscribes (key "unsubscribed")."""
    by_postcode: dict[str, list[str]] = {}
    for row in web:
        by_postcode.setdefault(row.postcode, []).append(repr(tuple(row)))
    digests = {
        pc: hashlib.sha256("\n".join(rows).encode()).hexdigest() for pc, rows in by_postcode.items()
    }
    contacts = sorted(unsubscribed.emails | unsubscribed.phones)
    digests["unsubscribed"] = (
        hashlib.sha256("\n".join(contacts).encode()).hexdigest() if contacts else ""
    )
    return digests


def _files_digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
