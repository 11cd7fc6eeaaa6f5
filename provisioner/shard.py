"""Split a network across machines: `deploy --shard I/N`.

Rendezvous (highest-random-weight) hashing on the slug: every nation belongs to exactly
one shard, the split is stable across runs and machines, and changing N moves only
about 1/N of the nations, so batch workers keep most of their incremental state.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass

from provisioner.errors import InputError

# Batch engines that run N copies of one job and tell each its index.
INDEX_VARIABLES = ("JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX")


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def owns(self, slug: str) -> bool:
        return shard_of(slug, self.count) == self.index


def shard_of(slug: str, count: int) -> int:
    def weight(index: int) -> bytes:
        return hashlib.blake2b(f"{index}:{slug}".encode(), digest_size=8).digest()

    return max(range(count), key=weight)


def parse_shard(value: str, environ: Mapping[str, str] = os.environ) -> Shard:
    """`"2/8"`, or `"*/8"` to take the index from the batch engine's environment."""
    index_text, _, count_text = value.partition("/")
    if index_text == "*":
        index_text = next((environ[v] for v in INDEX_VARIABLES if environ.get(v)), "")
        if not index_text:
            raise InputError(
                f"--shard {value}: set one of {', '.join(INDEX_VARIABLES)} or give the index"
            )
    try:
        shard = Shard(int(index_text), int(count_text))
    except ValueError:
        raise InputError(f"--shard {value!r}: use INDEX/COUNT such as 0/4 (index from 0)") from None
    if not 0 <= shard.index < shard.count:
        raise InputError(f"--shard {value}: the index must be between 0 and {shard.count - 1}")
    return shard
