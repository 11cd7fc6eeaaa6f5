"""Supporter lists through a real deploy of the whole sample network (issue 3).

Privacy invariants are checked on every file actually published: leaf lists stay in
their geography, no phone or email reaches a public file, the do-not-contact ledger
never reaches any export, and broken rows are quarantined and counted.
"""

from __future__ import annotations

import csv
import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import copy_sample_network, live_files, mini_blueprints, nation, write_spec

from provisioner.supporters import load_geography
from provisioner.supporters.generate import generate


def deploy_cli(spec: Path, out: Path, supporters: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provisioner", "deploy", "-q", "--spec", str(spec),
         "--out", str(out), "--supporters", str(supporters)],
        capture_output=True, text=True,
    )  # fmt: skip


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("network")
    copy_sample_network(root)
    generate(
        root / "data", load_geography(root / "nations.yaml").postcode_languages(), count=20_000
    )
    result = deploy_cli(root / "nations.yaml", root / "build", root / "data" / "supporters.csv")
    assert result.returncode == 0, result.stdout + result.stderr
    return root


@pytest.mark.slow
def test_privacy_invariants_on_the_whole_sample_network(deployed: Path) -> None:
    build = deployed / "build"
    spec = yaml.safe_load((deployed / "nations.yaml").read_text())
    parents = {n.get("parent") for n in spec["nations"]}
    report = json.loads((build / "reports" / "latest.json").read_text())
    counts = {n["slug"]: n["counts"] for n in report["nations"]}
    private_contacts: set[str] = set()
    for entry in spec["nations"]:
        slug = entry["slug"]
        folder = build / "private" / slug
        listed = rows(folder / "supporters.csv")
        assert counts[slug]["supporters"] == len(listed)
        coverage = set(json.loads((build / "sites" / slug / "nation.json").read_text())["coverage"])
        if slug not in parents:  # a leaf: only its own geography
            assert {row["postcode"] for row in listed} <= coverage, slug
        for file in folder.glob("*.csv"):
            for row in rows(file):
                private_contacts.update(v for k, v in row.items() if k in CONTACT_COLUMNS and v)
    assert len(private_contacts) > 1000
    public_tokens: set[str] = set()
    for path in (build / "sites").rglob("*"):
        if path.is_file():
            public_tokens.update(CONTACT_TOKEN.findall(path.read_text(errors="ignore")))
    leaked = private_contacts & public_tokens
    assert leaked <= {"+3222000000"}  # HQ's own published switchboard, not a supporter
    ledger = {row["contact"] for row in rows(deployed / "data" / "do-not-contact.csv")}
    assert not ledger & private_contacts


@pytest.mark.slow
def test_dialer_exports_follow_the_blueprint_and_files_are_private(deployed: Path) -> None:
    build = deployed / "build"
    spec = yaml.safe_load((deployed / "nations.yaml").read_text())
    for entry in spec["nations"]:
        manifest = yaml.safe_load(
            (deployed / "blueprints" / entry["blueprint"] / "manifest.yaml").read_text()
        )
        folder = build / "private" / entry["slug"]
        for dialer in ("callhub", "spoke", "thrutalk"):
            assert (folder / f"{dialer}.csv").is_file() == (dialer in manifest["dialers"])
            # and beside each export, its call script in each of the nation's languages
            suffix = "json" if dialer == "spoke" else "txt"
            for lang in json.loads((build / "sites" / entry["slug"] / "nation.json").read_text())[
                "languages"
            ]:
                script = folder / f"{dialer}-script.{lang}.{suffix}"
                assert script.is_file() == (dialer in manifest["dialers"]), script
    callhub = rows(build / "private" / "marie-dubois" / "callhub.csv")
    assert callhub and all(re.fullmatch(r"\+32\d{8,9}", r["contact"]) for r in callhub)
    assert "elections-2026" in callhub[0]["tags"]  # the nation's shared tag
    live = (build / "private" / "hq").resolve()
    assert stat.S_IMODE(live.stat().st_mode) == 0o700
    assert stat.S_IMODE((live / "supporters.csv").stat().st_mode) == 0o600


# Anything in a public file that looks like a phone number or an email address.
CONTACT_TOKEN = re.compile(r"\+\d{8,12}|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CONTACT_COLUMNS = {"phone", "email", "contact", "mobile", "cell", "phone_number"}


def test_broken_rows_are_quarantined_and_counted(tmp_path: Path) -> None:
    mini_blueprints(tmp_path)
    spec = write_spec(tmp_path, [nation("hq", geo={"postcodes": ["1000"]})])
    data = tmp_path / "data"
    generate(data, [("1000", "fr")], count=50)
    lines = (data / "supporters.csv").read_text(encoding="utf-8").splitlines()
    broken = [lines[1].replace(",1000,", ",99999,"), "HZ9,only,three"]
    (data / "supporters.csv").write_text("\n".join([*lines, *broken]) + "\n", encoding="utf-8")
    result = deploy_cli(spec, tmp_path / "build", data / "supporters.csv")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "build" / "reports" / "latest.json").read_text())
    assert report["supporters"]["quarantined"] == 2
    quarantine = rows(tmp_path / "build" / "private" / "_quarantine.csv")
    assert [int(r["line"]) for r in quarantine] == [52, 53]
    assert all(r["reason"] for r in quarantine)


def test_missing_supporter_file_is_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    mini_blueprints(tmp_path)
    spec = write_spec(tmp_path, [nation("hq")])
    result = deploy_cli(spec, tmp_path / "build", tmp_path / "absent.csv")
    assert result.returncode == 2
    assert "absent.csv: supporter file not found" in result.stderr
    assert not (tmp_path / "build").exists()


def small_network(tmp_path: Path) -> tuple[Path, Path]:
    mini_blueprints(tmp_path)
    geo = {"postcodes": ["1000"]}
    spec = write_spec(tmp_path, [nation("hq"), nation("a", "hq", geo=geo), nation("b", "hq")])
    generate(tmp_path / "data", [("1000", "fr")], count=40)
    return spec, tmp_path / "data" / "supporters.csv"


def report_of(out: Path) -> dict:
    return json.loads((out / "reports" / "latest.json").read_text())


def test_page_only_change_reuses_live_lists_without_reading_supporters(tmp_path: Path) -> None:
    spec, supporters = small_network(tmp_path)
    out = tmp_path / "build"
    assert deploy_cli(spec, out, supporters).returncode == 0
    before = (out / "private" / "a" / "supporters.csv").read_bytes()
    override = tmp_path / "nations" / "a" / "overrides" / "pages" / "home.html.j2"
    override.parent.mkdir(parents=True)
    override.write_text("{% block intro %}new intro{% endblock %}")
    assert deploy_cli(spec, out, supporters).returncode == 0
    report = report_of(out)
    assert report["supporters"]["loaded"] is False  # 0 rows parsed for a page edit
    entry = next(n for n in report["nations"] if n["slug"] == "a")
    assert entry["status"] == "deployed" and entry["counts"]["supporters"] == 40
    assert (out / "private" / "a" / "supporters.csv").read_bytes() == before


def test_lists_are_never_reused_after_a_failed_rebuild(tmp_path: Path) -> None:
    spec, supporters = small_network(tmp_path)
    out = tmp_path / "build"
    assert deploy_cli(spec, out, supporters).returncode == 0
    lines = supporters.read_text(encoding="utf-8").splitlines()
    supporters.write_text("\n".join(lines[:-10]) + "\n", encoding="utf-8")  # 10 removed
    override = tmp_path / "nations" / "a" / "overrides" / "pages" / "home.html.j2"
    override.parent.mkdir(parents=True)
    override.write_text("{% block intro %}{{ broken }}{% endblock %}")
    assert deploy_cli(spec, out, supporters).returncode == 1  # a fails, keeps old lists
    override.write_text("{% block intro %}fixed{% endblock %}")
    assert deploy_cli(spec, out, supporters).returncode == 0
    listed = rows(out / "private" / "a" / "supporters.csv")
    assert len(listed) == 30  # regenerated from the new export, not the stale live lists


def test_lists_are_the_same_with_pages_rendered_ahead_in_workers_or_in_one_process(
    tmp_path: Path,
) -> None:
    """With workers, pages are rendered ahead while the export is read (renderahead.py);
    without, everything happens in turn: the lists and the sites are the same bytes."""
    from provisioner.run import engine
    from provisioner.run.deploy import Project, deploy

    mini_blueprints(tmp_path)
    sections = [nation(f"s{i}", "hq", geo={"postcodes": [code]}) for i, code in enumerate(CODES)]
    spec = write_spec(tmp_path, [nation("hq"), *sections])
    generate(tmp_path / "data", [(code, "fr") for code in CODES], count=400)
    supporters = tmp_path / "data" / "supporters.csv"

    for name, processes in (("workers", 2), ("alone", 1)):
        project = Project(spec=spec, out=tmp_path / name, supporters=supporters)
        report = deploy(project, engine.Options(processes=processes))
        assert report["summary"]["deployed"] == 21
    for area in ("private", "sites"):
        assert live_files(tmp_path / "workers", [area]) == live_files(tmp_path / "alone", [area])
    lists = live_files(tmp_path / "workers", ["private"])
    assert len([name for name in lists if name.endswith(".csv")]) >= 21


# 20 Belgian postcodes: enough sections for the engine to fork its worker processes.
CODES = [
    "1000",
    "1020",
    "1030",
    "1040",
    "1050",
    "1060",
    "1070",
    "1080",
    "1090",
    "1120",
    "1130",
    "1140",
    "1150",
    "1160",
    "1170",
    "1180",
    "1190",
    "1200",
    "1210",
    "4000",
]
