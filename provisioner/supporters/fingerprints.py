"""Per-nation digests of supporter rows: a change to the export rebuilds only its chain.

A nation's lists depend on its own rows and its descendants' (its covered postcodes),
and on which of them the do-not-contact ledger blocks. Each postcode bucket is hashed
once; a nation's digest combines its covered buckets' digests, so adding one supporter
in one postcode changes the digests of that postcode's nation and its ancestors only.
"""

from __future__ import annotations

import hashlib

from .records import Ledger
from .segment import Segmentation

DIGEST_FORMAT = "rows-v1"  # bump when what a bucket digest covers changes


def bucket_digests(segmentation: Segmentation, ledger: Ledger) -> dict[str, str]:
    """postcode -> sha256 of its rows (in input order) and of whether the ledger blocks each."""
    digests = {}
    for postcode, rows in segmentation.buckets.items():
        digest = hashlib.sha256(DIGEST_FORMAT.encode())
        for row in rows:
            digest.update(repr(row).encode())
            digest.update(b"\x01" if ledger.blocks(row) else b"\x00")
        digests[postcode] = digest.hexdigest()
    return digests


def nation_digests(segmentation: Segmentation, ledger: Ledger) -> dict[str, str]:
    """slug -> digest of the rows its lists are made of, for every nation of the index."""
    buckets = bucket_digests(segmentation, ledger)
    digests = {}
    for slug in segmentation.index.slugs:
        digest = hashlib.sha256(DIGEST_FORMAT.encode())
        for postcode in segmentation.index.coverage.get(slug, ()):
            digest.update(f"{postcode}={buckets[postcode]};".encode())
        digests[slug] = digest.hexdigest()
    return digests
