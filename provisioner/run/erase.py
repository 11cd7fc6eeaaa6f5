"""`provisioner erase`: remove one person from everything the provisioner keeps.

1. The erasure ledger (hashes only) gets the person, so every later deploy drops them
   as the central export is read, even while the CRM still sends them.
2. Every live private file of every nation (and the quarantine of bad rows) is
   rewritten without the rows naming them; kept releases hold no private rows
   (targets/base.py), so nothing else on the target has them.
3. Every intake store given (the forms' SQLite or DynamoDB store) erases them too.

The report says where they were found; it never repeats the contact point itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from provisioner.errors import InputError
from provisioner.run.deploy import Project, new_run_id
from provisioner.run.engine import now_iso
from provisioner.run.lock import deploy_lock
from provisioner.run.state import State
from provisioner.supporters import Supporter, read_supporters
from provisioner.supporters.erasure import (
    KINDS,
    Person,
    append_erasure,
    normalize,
    same_person,
    scrub_csv,
)
from provisioner.targets import open_target
from provisioner.targets.base import Target


class ErasableStore(Protocol):
    """An intake store (SqliteStore, DynamoStore): forgets a person's submissions."""

    def erase(self, email: str = "", phone: str = "") -> int:
        """Remove every submission with this normalised email or phone; return how many."""
        ...


@dataclass
class Erasure:
    kinds: list[str]  # every contact point erased: the one given and those on its records
    newly_added: int  # how many of them were not in the ledger yet
    found: dict[str, int] = field(default_factory=dict)  # "<slug>/<path>" -> rows removed
    intake: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "kinds": self.kinds,
            "newly_added": self.newly_added,
            "found": dict(sorted(self.found.items())),
            "rows_removed": sum(self.found.values()),
            "intake_records_removed": self.intake,
        }


def person_from(kind: str, value: str) -> Person:
    """The normalised contact point; InputError (exit 2) saying how to write it."""
    if kind not in KINDS:
        raise InputError(f"erase: unknown kind {kind!r}; use --email, --phone or --id")
    try:
        return Person(kind, normalize(kind, value))
    except ValueError as exc:
        raise InputError(f"erase --{kind}: {exc}") from exc


def erase(
    project: Project,
    person: Person,
    target: Target | None = None,
    stores: Sequence[ErasableStore] = (),
) -> Erasure:
    """Ledger first (so a deploy racing us cannot bring them back), then files and stores."""
    ledger = project.erasures_path
    if ledger is None:
        raise InputError("erase: no supporter data configured; pass --supporters PATH")
    if target is None:
        target = open_target(project.target, project.out)
        try:
            return erase(project, person, target, stores)
        finally:
            target.close()
    with deploy_lock(project.out / ".deploy.lock", "erase"):
        people = same_person(person, _export_rows(project))
        added = sum(append_erasure(ledger, p.kind, p.value) for p in people)
        result = Erasure([p.kind for p in people], added)
        result.found = target.scrub_private(lambda path, data: _scrub(path, data, people))
        contacts = [{p.kind: p.value} for p in people if p.kind in ("email", "phone")]
        for store in stores:  # submissions carry no central id: email and phone
            result.intake += sum(store.erase(**contact) for contact in contacts)
        _record(project, target, result)
    return result


def _export_rows(project: Project) -> list[Supporter]:
    """The central export's rows, to find the person's other contact points."""
    if project.supporters is None or not project.supporters.is_file():
        return []
    return read_supporters(project.supporters).rows


def _scrub(path: str, data: bytes, people: Sequence[Person]) -> tuple[bytes, int]:
    if not path.endswith(".csv"):
        return data, 0  # every private file with rows is CSV; others hold no one
    return scrub_csv(data, people)


def _record(project: Project, target: Target, result: Erasure) -> None:
    """A run in the history (hash and places only), like any other change to the target."""
    state = State(project.out / "state.db")
    try:
        run_id = new_run_id()
        state.start_run(run_id, "erase", target.name, now_iso())
        summary = {"files": len(result.found), "rows_removed": sum(result.found.values())}
        state.finish_run(run_id, now_iso(), summary, result.as_dict())
    finally:
        state.close()
