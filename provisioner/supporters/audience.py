"""A network's supporters: read once, segmented once, exported per nation.

Loading is lazy: a no-op deploy only stats the files (and hashes them, to notice a new
export, when their stat changed: filestat.py) and never parses 200,000 rows. The first
run that builds anything loads and segments everything in one pass, before the build
processes are forked, so they share it.

Each nation's fingerprint holds the digest of its own rows only (supporters/
fingerprints.py), so a new export rebuilds only the nations whose rows changed. Those
digests need a parse; they are cached in the state, keyed by the files' digest, so a
no-op deploy still parses nothing. Erased people (the erasure ledger of hashes) are
dropped as the rows are read: no list, count or digest ever contains them.

With an intake store (what `provisioner serve` writes), its confirmed web sign-ups are
merged into the central rows and its unsubscribes join the ledger (supporters/web.py).
The store is small and read at once; its digest joins the files' digest, so a new
sign-up or unsubscribe re-digests every nation and rebuilds only those it changed.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from provisioner.errors import InputError
from provisioner.filestat import DigestMemo, file_digest
from provisioner.intake.model import DoNotContact
from provisioner.intake.sqlite_store import read_snapshot
from provisioner.render.blueprints import Blueprint
from provisioner.spec.network import Nation, Network
from provisioner.supporters import (
    Ingestion,
    Ledger,
    PostcodeIndex,
    Segmentation,
    build_index,
    read_ledger,
    read_supporters,
    render_quarantine,
    segment,
)
from provisioner.supporters.erasure import is_erased, raw_is_erased, read_erasures
from provisioner.supporters.fingerprints import nation_digests
from provisioner.supporters.records import Supporter
from provisioner.supporters.web import from_submissions, reconcile, with_unsubscribes

if TYPE_CHECKING:  # imported when the lists are made: numpy is not needed before
    from provisioner.supporters.encoded import NetworkLists


class DigestCache(DigestMemo, Protocol):
    """Where per-nation digests are kept between runs (the state database), and the
    input files' digests with the stat they were taken at (filestat.py): a deploy whose
    export did not change reads none of its bytes."""

    def cached_digests(self, key: str) -> dict[str, str] | None: ...

    def cache_digests(self, key: str, digests: dict[str, str]) -> None: ...


class Audience:
    """Supporter lists of one network, for the builder and the report."""

    def __init__(
        self,
        network: Network,
        supporters: Path,
        ledger: Path,
        erasures: Path | None = None,
        intake: Path | None = None,
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
        self.erasures_path = erasures
        self._inputs = [
            supporters,
            ledger,
            *([erasures] if erasures and erasures.is_file() else []),
        ]
        snapshot = read_snapshot(intake) if intake is not None else None
        self._web = from_submissions(snapshot.confirmed) if snapshot else []
        self._unsubscribed = snapshot.do_not_contact if snapshot else DoNotContact()
        self._web_key = ""
        if self._web or self._unsubscribed.emails or self._unsubscribed.phones:
            self._web_key = ":" + _web_digest(self._web, self._unsubscribed)
        self._ingestion: Ingestion | None = None
        self._ledger: Ledger | None = None
        self._segmentation: Segmentation | None = None
        self._lists: NetworkLists | None = None
        self._accepted: int | None = None  # rows accepted, once the rows are let go
        self._erased: frozenset[str] = frozenset()
        self._digests: dict[str, str] | None = None
        self._digests_key: str | None = None
        self.cache: DigestCache | None = None  # also keeps the input files' digests
        self._lock = threading.Lock()

    def digest(self, nation: Nation) -> str:
        """Part of the nation's fingerprint: the digest of its own (and descendants') rows."""
        with self._lock:
            if self._digests is None:
                self._digests = self._cached_or_computed()
        return self._digests.get(nation.slug, "")

    def _cached_or_computed(self) -> dict[str, str]:
        cached = self._cached()
        if cached is not None:
            return cached
        self._load()
        assert self._segmentation is not None and self._ledger is not None
        digests = nation_digests(self._segmentation, self._ledger)
        if self.cache:
            self.cache.cache_digests(self._key(), digests)
        return digests

    def _cached(self) -> dict[str, str] | None:
        return self.cache.cached_digests(self._key()) if self.cache else None

    def _key(self) -> str:
        """What the per-nation digests depend on: the files, the web's sign-ups and
        unsubscribes, and who covers which postcode."""
        if self._digests_key is None:
            files = [file_digest(path, self.cache) for path in self._inputs]
            self._digests_key = f"{':'.join(files)}{self._web_key}:{_network_key(self.network)}"
        return self._digests_key

    def digests_known(self) -> bool:
        """Whether the per-nation digests come without reading the rows (the state has
        them for these files and this network, or they were made already)."""
        with self._lock:
            if self._digests is None:
                self._digests = self._cached()
            return self._digests is not None

    def load(self) -> None:
        """Read and segment the rows, and encode each of them once for every list."""
        with self._lock:  # worker threads may ask at once; read the file only once
            self._load()
            if self._lists is None:
                assert self._segmentation is not None and self._ledger is not None
                if self._digests is None:  # they hash the rows, which are let go below
                    self._digests = self._cached_or_computed()
                # Encoded, the rows are not needed any more: a million of them are
                # ~0.4 GB that would otherwise stay beside their encoded lines.
                assert self._ingestion is not None
                self._accepted = len(self._ingestion.rows)
                self._ingestion.rows = []
                from provisioner.supporters.encoded import NetworkLists

                self._lists = NetworkLists(self._segmentation, self._ledger, release=True)

    def _load(self) -> None:
        if self._segmentation is not None:
            return
        geography = self.network.geography
        self._ingestion = read_supporters(self.supporters_path, geography)
        self._ingestion.rows = reconcile(self._ingestion.rows, self._web)
        ledger = read_ledger(self.ledger_path, self.network.info.country)
        self._ledger = with_unsubscribes(ledger, self._unsubscribed)
        self._erased = erased = read_erasures(self.erasures_path)
        if erased:  # erased means erased: gone before anything counts or lists them
            ingestion = self._ingestion
            ingestion.rows = [r for r in ingestion.rows if not is_erased(r, erased)]
            ingestion.quarantined = [
                q for q in ingestion.quarantined if not raw_is_erased(q.raw, erased)
            ]
        owners = {n.slug: n.geo.postcodes for n in self.network}
        areas = {n.slug: n.geo.areas for n in self.network if n.geo.areas}
        parents = {n.slug: n.parent for n in self.network}
        index = build_index(owners, parents, areas, geography)
        _route_strays_to_root(index, self._web, [n.slug for n in self.network if not n.parent])
        self._segmentation = segment(self._ingestion.rows, index)

    def private_files(
        self, nation: Nation, blueprint: Blueprint
    ) -> tuple[dict[str, bytes], dict[str, int]]:
        self.load()
        assert self._lists is not None
        exports = self._lists.exports(
            nation.slug,
            shared_tags(nation),
            blueprint.manifest.segments,
            blueprint.manifest.dialers,
        )
        return exports.files, exports.counts

    @property
    def loaded(self) -> bool:
        return self._segmentation is not None

    def _accepted_rows(self) -> int:
        assert self._ingestion is not None
        return len(self._ingestion.rows) if self._accepted is None else self._accepted

    def quarantine_csv(self) -> bytes | None:
        return render_quarantine(self._ingestion.quarantined) if self._ingestion else None

    def summary(self) -> dict[str, Any]:
        """For the run report: what was read, set aside and left without a nation."""
        if self._ingestion is None or self._segmentation is None:
            return {"file": str(self.supporters_path), "loaded": False}
        return {
            "file": str(self.supporters_path),
            "loaded": True,
            "rows": self._accepted_rows() + len(self._ingestion.quarantined),
            "accepted": self._accepted_rows(),
            "quarantined": len(self._ingestion.quarantined),
            "unassigned": self._segmentation.unassigned,
            "ambiguous": self._segmentation.ambiguous,
            "web_signups": len(self._web),
            "web_unsubscribed": len(self._unsubscribed.emails) + len(self._unsubscribed.phones),
        }


def shared_tags(nation: Nation) -> list[str]:
    """Tags every supporter of the nation carries, own then inherited (NationBuilder-style).

    Postcode tags are left out: a province would stamp a hundred of them on every row,
    and each row already has its own `postcode` column.
    """
    return [tag for tag in nation.all_tags if not tag.startswith("postcode:")]


def _network_key(network: Network) -> str:
    """What the per-nation digests depend on besides the files: who covers which postcode."""
    shape = sorted((n.slug, n.parent or "", ",".join(sorted(n.geo.postcodes))) for n in network)
    return hashlib.sha256(repr(shape).encode()).hexdigest()


def _route_strays_to_root(index: PostcodeIndex, web: list[Supporter], roots: list[str]) -> None:
    """A web sign-up whose postcode no nation covers goes to the network's root (the HQ):
    someone who signed on a site is never left out of every list. (A central row with
    such a postcode stays unassigned, as before, unless a sign-up shares it.)"""
    strays = sorted({row.postcode for row in web if row.postcode not in index.chains})
    if not strays or len(roots) != 1:
        return
    (root,) = roots
    for postcode in strays:
        index.chains[postcode] = (root,)
    index.coverage[root] = (*index.coverage.get(root, ()), *strays)


def _web_digest(web: list[Supporter], unsubscribed: DoNotContact) -> str:
    rows = sorted(repr(tuple(row)) for row in web)
    contacts = sorted(unsubscribed.emails | unsubscribed.phones)
    return hashlib.sha256("\n".join([*rows, "--", *contacts]).encode()).hexdigest()
