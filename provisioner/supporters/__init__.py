"""Supporter lists of the network: ingestion, segmentation and private exports.

Issue 3. The build step calls, in order:

    ingestion = read_supporters(Path("data/supporters.csv"))   # bad rows -> quarantined
    ledger = read_ledger(Path("data/do-not-contact.csv"))
    index = build_index(owners, parents)                       # once per network
    segmentation = segment(ingestion.rows, index)              # one pass
    exports = render_exports(slug, nation.all_tags, manifest.segments, manifest.dialers,
                             segmentation.rows(slug), ledger)  # per nation, pure
    write_private_file(path, data)                             # local target: 0600 / 0700

The sample generator is `provisioner.supporters.generate` (imports Faker, so it is
not imported here).

Supporter data is political-opinion data (GDPR art. 9): none of it may reach public
output, and consent and the do-not-contact ledger are applied in every export.
"""

from .errors import SupporterConfigError, SupporterFileError
from .exports import DIALERS, SEGMENTS, Exports, render_exports
from .geography import Geography, load_geography
from .ingest import Ingestion, Quarantined, read_ledger, read_supporters
from .normalize import normalize_email, normalize_phone
from .private import render_quarantine, write_private_file
from .records import COLUMNS, LEVELS, Ledger, Supporter
from .segment import PostcodeIndex, Segmentation, build_index, segment

__all__ = [
    "COLUMNS",
    "DIALERS",
    "LEVELS",
    "SEGMENTS",
    "Exports",
    "Geography",
    "Ingestion",
    "Ledger",
    "PostcodeIndex",
    "Quarantined",
    "Segmentation",
    "Supporter",
    "SupporterConfigError",
    "SupporterFileError",
    "build_index",
    "load_geography",
    "normalize_email",
    "normalize_phone",
    "read_ledger",
    "read_supporters",
    "render_exports",
    "render_quarantine",
    "segment",
    "write_private_file",
]
