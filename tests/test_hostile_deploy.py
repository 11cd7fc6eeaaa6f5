"""A hostile central export and a hostile override through the real CLI, end to end.

The export carries formula-shaped emails (valid addresses, so they reach the lists),
formula-shaped names and sources (refused, so they reach the quarantine), invisible
characters and one byte that is not UTF-8 at a known line; one candidate's override
loops for ever. The deploy must exit 1 with that candidate failed alone within its
budget, every other nation deployed, the report and the recap saying why, the lock
free, and no CSV the tool wrote holding a cell a spreadsheet would run.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from csvscan import EMAILS, FORMULAS, every_csv, live_cells
from helpers import build_file_tree, copy_sample_network, only_args

from provisioner.supporters.generate import generate

HOSTILE = "eline-mertens"  # a candidate of Anderlecht (postcode 1070)
LOOPS = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
NOT_UTF8_LINE = 777


def hostile_export(data: Path) -> None:
    """Rewrite the generated export as an attacker would, with a plain csv writer."""
    path = data / "supporters.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    col = {name: header.index(name) for name in header}

    def set_row(index: int, **values: str) -> None:
        rows[index][col["postcode"]] = "1070"
        for name, value in values.items():
            rows[index][col[name]] = value

    consent = {"email_consent": "yes", "email_consent_date": "2024-01-01"}
    for i, email in enumerate(EMAILS):  # valid addresses: they reach every list
        set_row(10 + i, email=email, email_consent_source="form", **consent)
    for i, name in enumerate(FORMULAS):  # refused at the door: quarantined
        set_row(100 + i, first_name=name)
    set_row(200, last_name="Mer\u202etens")
    set_row(201, email_consent_source='=HYPERLINK("http://evil.example")', **consent)
    with path.open("w", encoding="utf-8", newline="") as handle:  # as Excel saves it
        csv.writer(handle, lineterminator="\r\n").writerows([header, *rows])
    lines = path.read_bytes().split(b"\n")
    lines[NOT_UTF8_LINE - 1] = lines[NOT_UTF8_LINE - 1].replace(b",", b",\xe9", 1)
    path.write_bytes(b"\n".join(lines))


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("hostile")
    spec_path = copy_sample_network(root)
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    for entry in spec["nations"]:
        if entry["slug"] == HOSTILE:
            entry["budgets"] = {"render_seconds": 3}
    spec_path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False))
    build_file_tree(
        root, {f"nations/{HOSTILE}/overrides/pages/home.html.j2": "{% block intro %}\n" + LOOPS
               + "\n{% endblock %}\n"},
    )  # fmt: skip
    generate(root / "data", [("1070", "fr"), ("1000", "fr"), ("4000", "fr")], count=3_000)
    hostile_export(root / "data")
    # Our own small ledger: the generated one is not what this test is about.
    (root / "data" / "do-not-contact.csv").write_text("contact\n+32470000000\n")
    # Enough nations for the build to run in worker processes, as a real deploy does.
    slugs = [entry["slug"] for entry in spec["nations"][:24]]
    return root, slugs


def deploy(root: Path, slugs: list[str]) -> subprocess.CompletedProcess[str]:
    only = only_args(slugs)
    return subprocess.run(
        [sys.executable, "-m", "provisioner", "deploy", "-q", "--spec", str(root / "nations.yaml"),
         "--out", str(root / "build"), "--supporters", str(root / "data" / "supporters.csv"),
         *only],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def deployed(network: tuple[Path, list[str]]) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root, slugs = network
    return root, deploy(root, slugs)


def test_the_hostile_nation_fails_alone_and_the_rest_deploys(deployed) -> None:
    root, result = deployed
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads((root / "build" / "reports" / "latest.json").read_text())
    status = {n["slug"]: n["status"] for n in report["nations"]}
    assert status.pop(HOSTILE) == "failed"
    assert set(status.values()) == {"deployed"} and len(status) == 23
    failed = next(n for n in report["nations"] if n["slug"] == HOSTILE)
    assert "budget of 3 s" in failed["error"]["message"]
    assert failed["error"]["location"].endswith(f"{HOSTILE}/overrides/pages/home.html.j2:2")
    assert failed["duration_s"] < 30
    assert HOSTILE in result.stdout and "budget of 3 s" in result.stdout


def test_the_recap_shows_quarantined_and_unassigned_and_the_quarantine_path(deployed) -> None:
    root, result = deployed
    report = json.loads((root / "build" / "reports" / "latest.json").read_text())
    read = report["supporters"]
    quarantine = root / "build" / "private" / "_quarantine.csv"
    assert read["quarantine_file"] == str(quarantine)
    # Every formula-shaped name, the bidi override, the formula source, the broken byte.
    assert read["quarantined"] >= len(FORMULAS) + 3
    line = next(x for x in result.stdout.splitlines() if "quarantined" in x)
    assert f"{read['quarantined']:,} quarantined ({quarantine})" in line
    assert f"{read['unassigned']:,} unassigned" in line
    with quarantine.open(encoding="utf-8", newline="") as handle:
        lines = {int(r["line"]): r for r in csv.DictReader(handle)}
    assert "not UTF-8" in lines[NOT_UTF8_LINE]["reason"]
    assert "\\xe9" in lines[NOT_UTF8_LINE]["raw"]


def test_no_csv_the_tool_wrote_holds_a_live_formula(deployed) -> None:
    root, _ = deployed
    written = every_csv(root / "build")
    names = {path.name for path in written}
    assert {"supporters.csv", "callhub.csv", "spoke.csv", "thrutalk.csv", "to_call.csv"} <= names
    assert "_quarantine.csv" in names
    assert {str(path): cells for path in written if (cells := live_cells(path))} == {}
    # The scan itself finds the attacker's export (the input) full of live cells.
    assert len(live_cells(root / "data" / "supporters.csv", errors="replace")) >= 20


def test_the_hostile_emails_reached_the_lists_neutralised(deployed) -> None:
    root, _ = deployed
    with (root / "build" / "private" / "anderlecht" / "supporters.csv").open(
        encoding="utf-8", newline=""
    ) as handle:
        emails = {row["email"] for row in csv.DictReader(handle)}
    neutralised = {email for email in emails if email.startswith("'")}
    assert len(neutralised) >= 5  # valid addresses that a spreadsheet would have run
    assert {email[1:] for email in neutralised} <= {e.strip() for e in EMAILS}


def test_the_lock_is_free_and_a_second_run_converges(deployed, network) -> None:
    root, slugs = network
    again = deploy(root, slugs)
    assert again.returncode == 1, again.stdout + again.stderr
    report = json.loads((root / "build" / "reports" / "latest.json").read_text())
    status = {n["slug"]: n["status"] for n in report["nations"]}
    assert status.pop(HOSTILE) == "failed"
    assert set(status.values()) == {"unchanged"}
