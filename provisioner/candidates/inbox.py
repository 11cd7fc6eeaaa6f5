"""Candidates' inbox: what a candidate uploads is checked, then becomes their nation folder.

Candidates' cloud roles cannot write a live release or the `_current` pointer (infra/
policies.py); they upload their folder (`site.yaml`, `overrides/`, `assets/`) under
`inbox/<slug>/` of the private bucket. `provisioner inbox` takes each upload, lays it
over a copy of `nations/<slug>/`, runs the same checks as `provisioner check` (the
candidate rules `deploy` enforces, over the same render plan), and only when there is
no problem copies it into `nations/<slug>/` and clears the inbox; the deploy that
follows publishes it. A rejected upload stays in the inbox with its problems reported.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from provisioner.candidates.check import check_nation
from provisioner.candidates.problems import Problem
from provisioner.run.deploy import Project

PREFIX = "inbox"
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_FILES = 500
# A relative path of plain names: no dot segments, no hidden files, no backslashes.
SAFE_PATH = re.compile(r"(?:[A-Za-z0-9_][A-Za-z0-9_.-]*/)*[A-Za-z0-9_][A-Za-z0-9_.-]*")
TOP_LEVEL = ("site.yaml", "overrides/", "assets/")


class Inbox(Protocol):
    """Where candidates' uploads wait: the private bucket on S3."""

    def uploads(self) -> dict[str, dict[str, bytes]]:
        """slug -> path -> content, for every nation with something in its inbox."""
        ...

    def clear(self, slug: str, paths: Iterable[str]) -> None: ...


@dataclass
class Outcome:
    slug: str
    accepted: bool
    files: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def path_problems(slug: str, files: dict[str, bytes]) -> list[Problem]:
    """Hostile or misplaced uploads, before anything touches a disk."""
    where = f"{PREFIX}/{slug}"
    problems = []
    if len(files) > MAX_FILES:
        problems.append(Problem(where, None, f"{len(files)} files; at most {MAX_FILES}"))
    for path, data in sorted(files.items()):
        if not SAFE_PATH.fullmatch(path) or ".." in path.split("/"):
            problems.append(Problem(f"{where}/{path}", None, "not a plain relative path"))
        elif not (path == TOP_LEVEL[0] or path.startswith(TOP_LEVEL[1:])):
            problems.append(
                Problem(f"{where}/{path}", None, "upload site.yaml, overrides/ or assets/ only")
            )
        elif len(data) > MAX_FILE_BYTES:
            problems.append(Problem(f"{where}/{path}", None, "larger than 5 MB"))
    return problems


def take_inbox(project: Project, inbox: Inbox, candidates: set[str]) -> list[Outcome]:
    """Check every upload; move the good ones into `nations/<slug>/`."""
    outcomes = []
    for slug, files in sorted(inbox.uploads().items()):
        outcome = Outcome(slug, False, sorted(files))
        if slug not in candidates:
            outcome.problems = [Problem(f"{PREFIX}/{slug}", None, "not a nation of the spec")]
        else:
            outcome.problems = path_problems(slug, files) or _checked(project, slug, files)
        if not outcome.problems:
            _apply(project.overrides_dir / slug, files)
            inbox.clear(slug, files)
            outcome.accepted = True
        outcomes.append(outcome)
    return outcomes


def _checked(project: Project, slug: str, files: dict[str, bytes]) -> list[Problem]:
    """`provisioner check` over the nation's folder with the upload laid over it."""
    with tempfile.TemporaryDirectory(prefix="inbox-") as scratch:
        nations = Path(scratch) / "nations"
        current = project.overrides_dir / slug
        if current.is_dir():
            shutil.copytree(current, nations / slug)
        _apply(nations / slug, files)
        return check_nation(replace(project, nations_dir=nations), slug)


def _apply(folder: Path, files: dict[str, bytes]) -> None:
    for path, data in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


class S3Inbox:
    """`inbox/<slug>/<path>` objects of the private bucket."""

    def __init__(self, s3: object, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def uploads(self) -> dict[str, dict[str, bytes]]:
        found: dict[str, dict[str, bytes]] = {}
        pages = self.s3.get_paginator("list_objects_v2")  # type: ignore[attr-defined]
        for page in pages.paginate(Bucket=self.bucket, Prefix=f"{PREFIX}/"):
            for obj in page.get("Contents", []):
                slug, _, path = obj["Key"].removeprefix(f"{PREFIX}/").partition("/")
                if obj["Size"] > MAX_FILE_BYTES:
                    data = b"\0" * (MAX_FILE_BYTES + 1)  # never downloaded: reported as too big
                else:
                    data = self._read(obj["Key"])
                found.setdefault(slug, {})[path] = data
        return found

    def _read(self, key: str) -> bytes:
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]  # type: ignore[attr-defined]
        data: bytes = body.read()
        return data

    def clear(self, slug: str, paths: Iterable[str]) -> None:
        keys = [{"Key": f"{PREFIX}/{slug}/{path}"} for path in paths]
        for start in range(0, len(keys), 1000):
            self.s3.delete_objects(  # type: ignore[attr-defined]
                Bucket=self.bucket, Delete={"Objects": keys[start : start + 1000], "Quiet": True}
            )
