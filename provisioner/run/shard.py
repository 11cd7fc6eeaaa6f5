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
RUN_ID_VARIABLE = "PROVISIONER_RUN_ID"


@dataclass(frozen=True)
class RunScope:
    """Which run a process belongs to: the shards of one run share `key` (and its lock)."""

    key: str
    shard_index: int = 0
    shard_count: int = 1
    command: str = "deploy"


def run_scope(
    shard: Shard | None, spec_text: bytes, run_id: str, environ: Mapping[str, str] = os.environ
) -> RunScope:
    """An unsharded run is its own; shards of one run agree on a key without talking.

    The key is PROVISIONER_RUN_ID when set (a CI pipeline id, say), else a digest of
    the spec and the shard count: machines deploying the same nations.yaml in N shards
    are one run, while a different spec, or another N, is another run and is refused.
    """
    if shard is None:
        return RunScope(environ.get(RUN_ID_VARIABLE) or run_id)
    key = environ.get(RUN_ID_VARIABLE) or (
        "spec-" + hashlib.sha256(spec_text + f"/{shard.count}".encode()).hexdigest()[:16]
    )
    return RunScope(key, shard.index, shard.count, f"deploy --shard {shard.index}/{shard.count}")


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
