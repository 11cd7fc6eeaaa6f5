"""`provisioner status`, `history`, `report` and `deploy --junit`, run in-process through main()."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from runs import VALIDATOR, Invoke, TwoRuns, invoker, small_network, two_runs

from provisioner.run.deploy import Project, deploy, rollback
from provisioner.run.engine import Options
from provisioner.run.shard import Shard


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    """Read-only tests share these runs; tests that write get `fresh_runs`."""
    return two_runs(tmp_path_factory.mktemp("net"))


@pytest.fixture
def fresh_runs(tmp_path: Path) -> TwoRuns:
    return two_runs(tmp_path)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Invoke:
    return invoker(capsys, monkeypatch)


def out_of(runs: TwoRuns) -> tuple[str, Path]:
    return ("--out", runs.project.out)


# -- status --------------------------------------------------------------------------------
def test_status_without_state_exits_2_and_says_what_to_do(run: Invoke, tmp_path: Path) -> None:
    empty = tmp_path / "nothing"
    code, out, err = run("status", "--out", empty)
    assert (code, out) == (2, "")
    assert err == (
        f"error: no state in {empty}: nothing was deployed there yet; "
        f"run `provisioner deploy --out {empty}` first\n"
    )
    assert not empty.exists()  # asking wrote nothing


def test_status_lists_every_nation_failures_first(run: Invoke, runs: TwoRuns) -> None:
    code, out, _ = run("status", *out_of(runs))
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == [
        "STATUS", "NATION", "PARENT", "BLUEPRINT", "LAST", "RUN", "TIME", "LIVE", "ERROR",
    ]  # fmt: skip
    assert [line.split()[:2] for line in lines[1:3]] == [["failed", "s1"], ["deployed", "s4"]]
    assert lines[1].endswith("TemplateError: undefined value: 'oops' is undefined")
    assert len(lines) == 1 + 9 + 1
    assert lines[-1] == "9 of 9 nations  deployed=1  unchanged=7  failed=1"
    assert "\x1b[" not in out  # not a terminal: plain text


def test_status_filters_by_status_parent_and_tag(run: Invoke, runs: TwoRuns) -> None:
    def slugs(*filters: str) -> list[str]:
        code, out, _ = run("status", *out_of(runs), *filters)
        assert code == 0
        return [line.split()[1] for line in out.splitlines()[1:-1]]

    assert slugs("--status", "failed") == ["s1"]
    assert slugs("--status", "failed", "--status", "deployed") == ["s1", "s4"]
    assert slugs("--parent", "wallonia") == ["s4", "s3", "s5"]
    assert slugs("--tag", "region:brussels") == ["s1", "brussels", "s0", "s2"]
    assert slugs("--tag", "region:brussels", "--status", "unchanged") == ["brussels", "s0", "s2"]
    code, out, _ = run("status", *out_of(runs), "--parent", "nobody")
    assert code == 0
    assert out.splitlines() == ["STATUS  NATION  PARENT  BLUEPRINT  LAST RUN  TIME  LIVE  ERROR",
                                "0 of 9 nations"]  # fmt: skip


def test_status_json_lists_every_nation(run: Invoke, runs: TwoRuns) -> None:
    code, out, _ = run("status", *out_of(runs), "--json")
    document = json.loads(out)
    assert code == 0
    assert document["summary"] == runs.second["summary"]
    nations = {n["slug"]: n for n in document["nations"]}
    assert sorted(nations) == sorted(n["slug"] for n in runs.first["nations"])
    s1 = nations["s1"]
    assert (s1["status"], s1["run_id"], s1["error"]["type"]) == (
        "failed",
        runs.second["run_id"],
        "TemplateError",
    )
    first_s1 = next(n for n in runs.first["nations"] if n["slug"] == "s1")
    assert s1["live_release"] == first_s1["release"]  # a failed nation keeps serving


# -- history -------------------------------------------------------------------------------
def test_history_lists_both_runs_newest_first(run: Invoke, runs: TwoRuns) -> None:
    code, out, _ = run("history", *out_of(runs))
    header, *rows = out.splitlines()
    assert code == 0
    assert header.split() == [
        "RUN", "COMMAND", "STARTED", "DURATION", "DEPLOYED", "UNCHANGED", "FAILED", "SKIPPED",
        "TOTAL",
    ]  # fmt: skip
    cells = [row.split() for row in rows]
    assert [c[0] for c in cells] == [runs.second["run_id"], runs.first["run_id"]]
    assert [c[-5:] for c in cells] == [["1", "7", "1", "0", "9"], ["9", "0", "0", "0", "9"]]
    assert all(c[1] == "deploy" and c[4].endswith("s") for c in cells)
    code, out, _ = run("history", *out_of(runs), "--json", "--limit", "1")
    (last,) = json.loads(out)["runs"]
    assert (last["run_id"], last["summary"]) == (runs.second["run_id"], runs.second["summary"])
    assert last["duration_s"] >= 0


# -- report --------------------------------------------------------------------------------
def test_report_regenerates_an_old_run_without_touching_latest(
    run: Invoke, fresh_runs: TwoRuns
) -> None:
    reports = fresh_runs.project.reports_dir
    first = fresh_runs.first["run_id"]
    for name in (f"{first}.json", f"{first}.html"):
        (reports / name).unlink()
    latest = (reports / "latest.html").read_bytes()
    code, out, _ = run("report", *out_of(fresh_runs), "--run", first)
    assert code == 0
    assert out.splitlines()[0] == f"RUN RECAP {first}  deploy to local"
    assert out.splitlines()[-1] == f"report: {reports / first}.json  {reports / first}.html"
    assert json.loads((reports / f"{first}.json").read_text("utf-8")) == fresh_runs.first
    assert (reports / f"{first}.html").is_file()
    assert (reports / "latest.html").read_bytes() == latest


def test_report_defaults_to_the_last_deploy_and_rewrites_latest(
    run: Invoke, fresh_runs: TwoRuns
) -> None:
    reports = fresh_runs.project.reports_dir
    (reports / "latest.html").unlink()
    code, out, _ = run("report", *out_of(fresh_runs))
    assert code == 0 and out.startswith(f"RUN RECAP {fresh_runs.second['run_id']}")
    assert (reports / "latest.html").is_file()


def test_report_of_an_unknown_run_exits_2(run: Invoke, runs: TwoRuns) -> None:
    code, _, err = run("report", *out_of(runs), "--run", "nope")
    state = runs.project.out / "state.db"
    assert code == 2
    assert err == (
        f"error: no deploy report for run 'nope' in {state}; `provisioner history` lists the runs\n"
    )


def test_recap_is_coloured_only_when_asked(
    run: Invoke, runs: TwoRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("FORCE_COLOR", "NO_COLOR"):
        monkeypatch.delenv(variable, raising=False)
    _, plain, _ = run("report", *out_of(runs), "--run", runs.first["run_id"])
    monkeypatch.setenv("FORCE_COLOR", "1")  # what a terminal gets
    _, coloured, _ = run("report", *out_of(runs), "--run", runs.first["run_id"])
    assert "\x1b[" not in plain and "\x1b[" in coloured


# -- deploy --junit ------------------------------------------------------------------------
def test_deploy_junit_has_one_case_per_nation_and_one_failure(
    run: Invoke, fresh_runs: TwoRuns
) -> None:
    project, junit = fresh_runs.project, fresh_runs.project.root / "ci" / "nations.xml"
    code, out, _ = run(
        "deploy", "--spec", project.spec, "--out", project.out, "--junit", junit, "--quiet"
    )
    assert code == 1
    assert out.splitlines()[-1] == f"junit: {junit}"
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert len(suite.findall("testcase")) == 9
    assert [c.get("name") for c in suite.findall("testcase") if c.find("failure") is not None] == [
        "s1"
    ]


def test_history_shows_a_rollback_without_deploy_counts(run: Invoke, fresh_runs: TwoRuns) -> None:
    rollback(fresh_runs.project, "s4")
    code, out, _ = run("history", *out_of(fresh_runs), "--limit", "1")
    (row,) = out.splitlines()[1:]
    assert code == 0
    assert row.split()[1:3] == ["rollback", "s4"]
    assert row.split()[-5:] == ["-", "-", "-", "-", "-"]


def test_report_merges_shard_reports_into_one_valid_report(run: Invoke, tmp_path: Path) -> None:
    project = small_network(tmp_path)
    shards = [
        deploy(Project(project.spec, tmp_path / f"shard{i}"), Options(), shard=Shard(i, 2))
        for i in range(2)
    ]
    files = [tmp_path / f"shard{i}" / "reports" / "latest.json" for i in range(2)]
    code, out, _ = run(
        "report", "--out", tmp_path / "all", "--merge", files[0], "--merge", files[1]
    )
    merged = json.loads((tmp_path / "all" / "reports" / "latest.json").read_text("utf-8"))
    assert code == 0 and out.startswith(f"RUN RECAP {merged['run_id']}")
    assert merged["summary"]["deployed"] == 9
    assert merged["merged_from"] == [s["run_id"] for s in shards]
    assert list(VALIDATOR.iter_errors(merged)) == []
    code, _, err = run("report", "--out", tmp_path, "--run", "x", "--merge", files[0])
    assert code == 2 and err.endswith("\nError: use either --run or --merge\n")
