"""The no-op shortcut (run/noop.py) and the CLI's lazy imports (issue 18).

A deploy whose inputs did not change replays the last good run without loading the
spec. These tests hold it to the full path's report, and check that every kind of
change still reaches the sites and lists afterwards: an override, an edit whose
timestamp was put back, a new supporter row, a rollback, a failed nation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import build_file_tree, mini_blueprints, nation, write_spec
from runs import Invoke, invoker

from provisioner.run import deploy as deploy_module
from provisioner.run import noop
from provisioner.run.deploy import Project, deploy
from provisioner.run.engine import Options
from provisioner.run.state import State
from provisioner.supporters.generate import generate

TIMING = ("duration_s", "started_s", "finished_s")
PER_RUN = ("run_id", "started_at", "finished_at", "duration_s", "nations_per_s")


RACY_S = 0.2  # the tests' racy window (noop.RACY_NS): shorter, so that they wait less


def backdate(root: Path, seconds: float = 60) -> None:
    """Age every input file, as if written a minute ago: a fresh file is "racy" (its
    stat cannot prove it unchanged), and the shortcut would rightly not be taken.
    Setting a time changes the files' ctime too: wait out the racy window after it."""
    when = time.time() - seconds
    for folder, _, files in os.walk(root):
        if "build" in Path(folder).relative_to(root).parts:
            continue
        for name in files:
            os.utime(Path(folder, name), (when, when))
    time.sleep(RACY_S * 1.25)


@pytest.fixture(autouse=True)
def short_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(noop, "RACY_NS", int(RACY_S * 1e9))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    mini_blueprints(tmp_path)
    spec = write_spec(
        tmp_path,
        [
            nation("hq"),
            nation("s1", "hq", geo={"postcodes": ["1000"]}),
            nation("s2", "hq", geo={"postcodes": ["4000"]}),
        ],
    )
    generate(tmp_path / "data", [("1000", "fr"), ("4000", "fr")], count=40)
    backdate(tmp_path)
    return Project(
        spec=spec, out=tmp_path / "build", supporters=tmp_path / "data" / "supporters.csv"
    )


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Invoke:
    return invoker(capsys, monkeypatch)


@pytest.fixture
def full_runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Counts the deploys that took the full path (the shortcut never calls `deploy`)."""
    calls: list[Any] = []

    def counted(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(args)
        return deploy(*args, **kwargs)

    monkeypatch.setattr(deploy_module, "deploy", counted)
    yield calls


def run(cli: Invoke, project: Project, *extra: str) -> dict[str, Any]:
    args = ["deploy", "-q", "--spec", project.spec, "--out", project.out]
    code, out, err = cli(*args, "--supporters", project.supporters, *extra)
    assert code in (0, 1), out + err
    return json.loads((project.out / "reports" / "latest.json").read_text("utf-8"))


def by_slug(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["slug"]: n for n in report["nations"]}


def test_a_no_op_replays_what_the_full_path_reports(
    cli: Invoke, project: Project, full_runs: list[Any]
) -> None:
    run(cli, project)  # the first deploy builds everything and remembers its inputs
    full = deploy(project, Options())  # a no-op the long way, for comparison
    replayed = run(cli, project)
    assert len(full_runs) == 1  # the last one was the shortcut
    assert replayed["summary"] == full["summary"] == {
        "deployed": 0, "unchanged": 3, "failed": 0, "skipped": 0, "total": 3,
    }  # fmt: skip
    assert {k: v for k, v in replayed.items() if k not in (*PER_RUN, "nations")} == {
        k: v for k, v in full.items() if k not in (*PER_RUN, "nations")
    }

    def timeless(report: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in n.items() if k not in TIMING} for n in report["nations"]]

    assert timeless(replayed) == timeless(full)
    state = State(project.out / "state.db")
    try:  # recorded like any run: history, per-nation outcomes, the regenerable report
        assert state.last_run_id("deploy") == replayed["run_id"]
        assert state.run_report(replayed["run_id"]) == replayed
        assert [r["status"] for r in state.nation_statuses()] == ["unchanged"] * 3
    finally:
        state.close()
    assert replayed["run_id"] in (project.out / "reports" / "latest.html").read_text("utf-8")
    assert (project.out / "reports" / "network.html").is_file()


def test_a_changed_override_is_deployed_after_a_shortcut(
    cli: Invoke, project: Project, full_runs: list[Any]
) -> None:
    run(cli, project)
    run(cli, project)
    assert len(full_runs) == 1
    build_file_tree(project.root, {"nations/s1/overrides/pages/home.html.j2": CHANGED})
    report = run(cli, project)
    assert len(full_runs) == 2
    assert by_slug(report)["s1"]["status"] == "deployed"
    assert "brand new intro" in (project.out / "sites" / "s1" / "index.html").read_text("utf-8")


def test_an_edit_whose_timestamp_was_put_back_is_still_seen(
    cli: Invoke, project: Project, full_runs: list[Any]
) -> None:
    override = project.root / "nations" / "s1" / "overrides" / "pages" / "home.html.j2"
    build_file_tree(project.root, {"nations/s1/overrides/pages/home.html.j2": CHANGED})
    backdate(project.root)
    run(cli, project)
    before = override.stat()
    override.write_text(CHANGED.replace("brand", "other"), encoding="utf-8")  # same size
    os.utime(override, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime as it was
    report = run(cli, project)
    assert len(full_runs) == 2  # the change time (ctime) gave it away
    assert by_slug(report)["s1"]["status"] == "deployed"
    assert "other new intro" in (project.out / "sites" / "s1" / "index.html").read_text("utf-8")


def test_a_new_supporter_row_reaches_the_lists_after_a_shortcut(
    cli: Invoke, project: Project, full_runs: list[Any]
) -> None:
    run(cli, project)
    counts = by_slug(run(cli, project))["s1"]["counts"]["supporters"]
    assert len(full_runs) == 1
    export = project.supporters
    assert export is not None
    header = export.read_text("utf-8").splitlines()[0].split(",")
    row = dict.fromkeys(header, "")
    row |= {"id": "HZ9999999", "first_name": "Nina", "last_name": "Nouvelle"}
    row |= {"email": "nina.nouvelle@example.org", "postcode": "1000", "language": "fr"}
    row |= {"level": "supporter", "email_consent": "yes", "email_consent_date": "2026-01-02"}
    row |= {"email_consent_source": "website-form", "created_at": "2026-01-02"}
    with export.open("a", encoding="utf-8") as handle:
        handle.write(",".join(row[column] for column in header) + "\n")
    report = run(cli, project)
    assert len(full_runs) == 2
    assert by_slug(report)["s1"]["counts"]["supporters"] == counts + 1
    lists = (project.out / "private" / "s1" / "supporters.csv").read_text("utf-8")
    assert "nina.nouvelle@example.org" in lists


def test_a_rollback_is_not_replayed_over(
    cli: Invoke, project: Project, full_runs: list[Any]
) -> None:
    run(cli, project)
    build_file_tree(project.root, {"nations/s1/overrides/pages/home.html.j2": CHANGED})
    backdate(project.root)
    run(cli, project)
    code, out, err = cli("rollback", "--spec", project.spec, "--out", project.out, "s1")
    assert code == 0, out + err
    assert "brand new intro" not in (project.out / "sites" / "s1" / "index.html").read_text()
    report = run(cli, project)
    assert len(full_runs) == 3  # the rollback cleared the remembered inputs
    assert by_slug(report)["s1"]["status"] == "deployed"
    assert "brand new intro" in (project.out / "sites" / "s1" / "index.html").read_text()


def test_a_failed_nation_is_retried_not_replayed(
    cli: Invoke, project: Project, full_runs: list[Any]
) -> None:
    build_file_tree(project.root, {"nations/s2/overrides/pages/home.html.j2": BROKEN})
    backdate(project.root)
    assert by_slug(run(cli, project))["s2"]["status"] == "failed"
    assert by_slug(run(cli, project))["s2"]["status"] == "failed"
    assert len(full_runs) == 2  # no shortcut after a run that left a nation failed


def test_an_input_written_just_before_a_deploy_is_not_trusted(
    cli: Invoke, project: Project, full_runs: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(noop, "RACY_NS", 1_000_000_000)  # the real window
    build_file_tree(project.root, {"nations/s1/overrides/pages/home.html.j2": CHANGED})
    run(cli, project)  # began within a second of the write: its inputs are not remembered
    state = State(project.out / "state.db")
    try:
        assert state.noop() is None
    finally:
        state.close()
    run(cli, project)
    assert len(full_runs) == 2


def test_a_site_removed_by_hand_is_published_again(
    cli: Invoke, project: Project, full_runs: list[Any]
) -> None:
    run(cli, project)
    (project.out / "sites" / "s2").unlink()
    report = run(cli, project)
    assert len(full_runs) == 2
    assert by_slug(report)["s2"]["status"] == "deployed"
    assert (project.out / "sites" / "s2" / "index.html").is_file()


def test_force_and_other_selections_take_the_full_path(
    cli: Invoke, project: Project, full_runs: list[Any]
) -> None:
    run(cli, project)
    assert by_slug(run(cli, project, "--force"))["s1"]["status"] == "unchanged"
    only = run(cli, project, "--only", "s1")  # a selection of its own: not the last run's
    assert len(full_runs) == 3 and [n["slug"] for n in only["nations"]] == ["s1"]


CHANGED = "{% block intro %}<p>brand new intro</p>{% endblock %}"
BROKEN = "{% block intro %}{{ oops }}{% endblock %}"
HEAVY = ("boto3", "botocore", "starlette", "pydantic", "jinja2", "phonenumbers", "langcodes")


def loaded_after(code: str) -> set[str]:
    """Top-level packages in sys.modules after running `code` in a fresh interpreter."""
    probe = f"{code}\nimport sys; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_the_cli_starts_without_its_heavy_dependencies() -> None:
    assert loaded_after("import provisioner.cli") & set(HEAVY) == set()


def test_a_no_op_deploy_imports_neither_models_nor_templates_nor_clients(
    cli: Invoke, project: Project
) -> None:
    time.sleep(1.0)  # the child has the real racy window (a second), not the tests' one
    run(cli, project)
    argv = ["provisioner", "deploy", "-q", "--spec", str(project.spec), "--out",
            str(project.out), "--supporters", str(project.supporters)]  # fmt: skip
    code = f"import sys\nsys.argv = {argv!r}\nfrom provisioner.cli import main\ntry:\n"
    code += "    main()\nexcept SystemExit as stop:\n    assert not stop.code, stop.code"
    loaded = loaded_after(code)
    # jinja2 draws the network view (reports/network.html), as after any deploy.
    assert loaded & set(HEAVY) == {"jinja2"}
    report = json.loads((project.out / "reports" / "latest.json").read_text("utf-8"))
    assert report["summary"]["unchanged"] == 3


def test_a_page_edit_reuses_the_lists_without_loading_the_row_libraries(
    cli: Invoke, project: Project
) -> None:
    """A deploy whose lists are all live and unchanged reads no rows: neither Arrow
    (reading) nor numpy (composing) is imported, ~0.2 s of a one-page deploy."""
    run(cli, project)
    build_file_tree(project.root, {"nations/s1/overrides/pages/home.html.j2": CHANGED})
    argv = ["provisioner", "deploy", "-q", "--spec", str(project.spec), "--out",
            str(project.out), "--supporters", str(project.supporters)]  # fmt: skip
    code = f"import sys\nsys.argv = {argv!r}\nfrom provisioner.cli import main\ntry:\n"
    code += "    main()\nexcept SystemExit as stop:\n    assert not stop.code, stop.code"
    assert loaded_after(code) & {"numpy", "pyarrow"} == set()
    report = json.loads((project.out / "reports" / "latest.json").read_text("utf-8"))
    assert by_slug(report)["s1"]["status"] == "deployed"


def test_lazily_imported_commands_still_work(cli: Invoke, tmp_path: Path) -> None:
    code, out, err = cli("intake", "pull", "--intake", tmp_path / "intake.db")
    assert code == 2 and "table" in err.lower(), out + err  # its module loaded, then asked
    code, out, _ = cli("intake", "stats", "--intake", tmp_path / "missing.db")
    assert code == 2
    code, out, _ = cli("plan", "--help")
    assert code == 0 and "3 when changes are pending" in " ".join(out.split())
