"""What a nation's files are, by content: `area/path` -> sha256, and the one diff of two.

A build carries the manifest of what it would publish; a target says what it serves
now as a manifest (the S3 target keeps one object per release, the local target hashes
its live tree); `plan`, `deploy` and both targets compare the two with `diff`, so that
"what changed" has one meaning everywhere. (Not a blueprint's manifest.yaml, which is
`blueprints.Manifest`.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field


@dataclass
class Changes:
    """Entries (`area/path`) a publish adds, rewrites or deletes, in manifest order."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed)


class Manifest(Mapping[str, str]):
    """An immutable mapping `area/path` -> sha256 hex digest of the file's bytes."""

    __slots__ = ("_entries",)

    def __init__(self, entries: Mapping[str, str] | Iterable[tuple[str, str]] = ()):
        self._entries: dict[str, str] = dict(entries)

    @classmethod
    def of_files(cls, files: Mapping[str, Mapping[str, bytes]]) -> Manifest:
        """The manifest of files given by area, then path (paths sorted within an area)."""
        return cls(
            (f"{area}/{path}", sha256(data))
            for area, by_path in files.items()
            for path, data in sorted(by_path.items())
        )

    @classmethod
    def from_json(cls, data: bytes | str) -> Manifest:
        loaded = json.loads(data)
        if not isinstance(loaded, dict):
            raise ValueError("a manifest is a JSON object of `area/path`: sha256")
        return cls(loaded)

    def to_json(self) -> bytes:
        return json.dumps(self._entries, sort_keys=True).encode()

    def __getitem__(self, entry: str) -> str:
        return self._entries[entry]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __reduce__(self) -> tuple[type[Manifest], tuple[dict[str, str]]]:
        return (Manifest, (self._entries,))  # builds cross process boundaries

    def __repr__(self) -> str:
        return f"Manifest({len(self._entries)} entries)"

    def diff(self, new: Mapping[str, str]) -> Changes:
        """What publishing `new` over this (live) manifest changes."""
        old = self._entries
        return Changes(
            added=[e for e in new if e not in old],
            changed=[e for e in new if e in old and old[e] != new[e]],
            removed=[e for e in old if e not in new],
        )

    def same(self, new: Mapping[str, str]) -> set[str]:
        """Entries whose content is identical in both: a publish may reuse them."""
        return {e for e, digest in new.items() if self._entries.get(e) == digest}

    def areas(self, names: Iterable[str]) -> Manifest:
        """Only the entries of these areas (such as the versioned ones)."""
        prefixes = tuple(f"{name}/" for name in names)
        return Manifest((e, d) for e, d in self._entries.items() if e.startswith(prefixes))

    def area(self, name: str) -> dict[str, str]:
        """path -> sha256 within one area."""
        prefix = f"{name}/"
        return {e[len(prefix) :]: d for e, d in self._entries.items() if e.startswith(prefix)}

    def with_entries(self, entries: Mapping[str, str]) -> Manifest:
        """A copy with these entries added or replaced."""
        return Manifest({**self._entries, **entries})

    @property
    def digest(self) -> str:
        """One digest of the whole manifest (a release id carries its first characters)."""
        return hashlib.sha256(self.to_json()).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
