"""Erased means erased: `provisioner erase`, rollback, and per-nation fingerprints.

Real CLI runs on a slice of the sample network (a Brussels chain and a sibling) with a
generated export: files are read back from disk, byte for byte, everywhere under build/.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import build_file_tree, copy_sample_network, only_args

from provisioner.intake.model import ConsentProof, Submission, Tokens
from provisioner.intake.sqlite_store import SqliteStore
from provisioner.supporters import load_geography
from provisioner.supporters.generate import generate

CHAIN = ["eline-mertens", "anderlecht", "bruxelles-capitale", "hq"]  # postcode 1070
SIBLING = "ixelles"  # postcode 1050, also under bruxelles-capitale
NOW = "2027-01-01T00:00:00.000+00:00"


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "provisioner", *args, "--spec", str(root / "nations.yaml")]
    return subprocess.run(
        [*command, "--out", str(root / "build")], capture_output=True, text=True, cwd=root
    )


def deploy(root: Path) -> dict[str, str]:
    only = only_args([*CHAIN, SIBLING])
    done = cli(root, "deploy", "-q", *only)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((root / "build" / "reports" / "latest.json").read_text())
    return {
        n["slug"]: n["status"] + ("+rebuilt" if n.get("rebuilt") else "") for n in report["nations"]
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("template")
    copy_sample_network(root)
    generate(
        root / "data", load_geography(root / "nations.yaml").postcode_languages(), count=12_000
    )
    deploy(root)
    return root


@pytest.fixture
def root(template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "net"
    shutil.copytree(template, copy, symlinks=True)
    return copy


def reachable_supporter(root: Path, slug: str) -> dict[str, str]:
    with (root / "build" / "private" / slug / "supporters.csv").open(newline="") as handle:
        return next(r for r in csv.DictReader(handle) if r["email"] and r["phone"])


def files_naming(root: Path, *needles: str) -> list[str]:
    """Every file under build/ and data/ whose bytes contain any needle."""
    found = []
    for folder in ("build", "data"):
        for path in (root / folder).rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                if any(n.encode() in data for n in needles):
                    found.append(str(path.relative_to(root)))
    return found


def test_erase_then_rollback_leaves_the_person_in_no_file_under_build(root: Path) -> None:
    person = reachable_supporter(root, "eline-mertens")
    intro = '{% block intro %}<p class="lead">Toujours plus près de vous.</p>{% endblock %}'
    build_file_tree(root, {"nations/eline-mertens/overrides/pages/home.html.j2": intro})
    assert deploy(root)["eline-mertens"] == "deployed"  # a second release to roll back to
    before = files_naming(root, person["email"], person["phone"])
    assert any(f.startswith("build/private/.live/eline-mertens/") for f in before)

    erased = cli(root, "erase", "--email", person["email"].upper())
    assert erased.returncode == 0, erased.stderr
    for slug in CHAIN:
        assert f"private/{slug}/supporters.csv" in erased.stdout
    assert SIBLING not in erased.stdout and person["email"] not in erased.stdout
    # The email's rows are gone with the phone they carried; only the export has them.
    assert files_naming(root, person["email"], person["phone"]) == ["data/supporters.csv"]

    rolled = cli(root, "rollback", "eline-mertens")
    assert rolled.returncode == 0, rolled.stderr
    assert files_naming(root, person["email"], person["phone"]) == ["data/supporters.csv"]
    assert not any((root / "build" / "private" / ".releases").rglob("*.csv"))

    statuses = deploy(root)  # the export still has them: the ledger keeps them out
    assert statuses["eline-mertens"] == "deployed"  # its current pages are back
    assert files_naming(root, person["email"], person["phone"]) == ["data/supporters.csv"]
    ledger = (root / "data" / "erased.csv").read_text()
    assert ledger.startswith("kind,sha256,erased_at\nemail,") and "@" not in ledger


def test_erase_by_id_and_by_phone_report_where_the_person_was(root: Path) -> None:
    person = reachable_supporter(root, SIBLING)
    by_id = cli(root, "erase", "--id", person["id"])
    assert by_id.returncode == 0, by_id.stderr
    assert f"private/{SIBLING}/supporters.csv" in by_id.stdout
    assert "private/eline-mertens" not in by_id.stdout
    again = cli(root, "erase", "--id", person["id"])
    assert ": 0 new in" in again.stdout and "found in no private file" in again.stdout
    bad = cli(root, "erase", "--phone", "12")
    assert bad.returncode == 2 and "erase --phone" in bad.stderr
    both = cli(root, "erase", "--id", "x", "--email", "a@b.be")
    assert both.returncode == 2 and "exactly one of" in both.stderr


def test_one_added_row_redeploys_only_its_postcodes_chain(root: Path) -> None:
    export = root / "data" / "supporters.csv"
    lines = export.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    row = next(r for r in csv.DictReader(lines) if r["postcode"] == "1070")
    row.update(id="added-1", email="nouvelle.sympathisante@example.be", phone="")
    with export.open("a", encoding="utf-8", newline="") as handle:
        csv.DictWriter(handle, header, lineterminator="\n").writerow(row)
    statuses = deploy(root)
    assert {s for s, status in statuses.items() if status == "deployed"} == set(CHAIN)
    assert statuses[SIBLING] == "unchanged"  # not even rebuilt: its rows did not change
    assert deploy(root) == dict.fromkeys([*CHAIN, SIBLING], "unchanged")
    report = json.loads((root / "build" / "reports" / "latest.json").read_text())
    assert report["supporters"]["loaded"] is False  # the no-op parsed nothing


def test_erase_also_removes_the_persons_web_submissions(root: Path) -> None:
    person = reachable_supporter(root, "eline-mertens")
    store = SqliteStore(root / "data" / "intake.db")
    consent = ConsentProof("email", "J'accepte", "p" * 64, "site:eline-mertens/promesse", NOW)
    for n, email in enumerate((person["email"], "someone.else@example.be")):
        store.add(
            Submission(
                id=f"s{n}", kind="pledge", nation="eline-mertens", routed_to="eline-mertens",
                lang="fr", source="site:eline-mertens/promesse", first_name="A", last_name="",
                email=email, phone="", postcode="1070", tags=(), message="",
                consents=(consent,), client_hash="h", created_at=NOW,
            ),
            Tokens(f"c{n}", f"u{n}", "2030-01-01T00:00:00.000+00:00"),
        )  # fmt: skip
    store.close()
    erased = cli(root, "erase", "--phone", person["phone"])  # found by phone, erased by email
    assert erased.returncode == 0, erased.stderr
    assert "removed 1 submission(s)" in erased.stdout
    store = SqliteStore(root / "data" / "intake.db")
    try:
        assert [s.email for s in store.submissions()] == ["someone.else@example.be"]
    finally:
        store.close()
