"""The run report: JSON schema, file layout, console recap, JUnit XML, safe embedding."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from runs import SCHEMA, VALIDATOR, TwoRuns, two_runs

from provisioner.report.dashboard import script_json, site_links
from provisioner.report.junit import junit_xml
from provisioner.report.recap import error_summary, recap_lines
from provisioner.report.report import build_report, report_json
from provisioner.run.engine import NationResult

LOCATION = "nations/liege/overrides/pages/home.html.j2:1"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    return two_runs(tmp_path_factory.mktemp("net"))


def schema_errors(report: dict[str, Any]) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in VALIDATOR.iter_errors(report)]


def result(slug: str, status: str, duration: float, **extra: Any) -> NationResult:
    return NationResult(
        slug=slug,
        name=slug.title(),
        parent=extra.pop("parent", "hq"),
        blueprint="section",
        status=status,
        url=f"https://{slug}.horizon.example/",
        duration_s=duration,
        attempts=0 if status == "skipped" else 1,
        **extra,
    )


def synthetic(results: list[NationResult], duration: float = 2.0) -> dict[str, Any]:
    stamp = "2026-05-01T10:00:00.000+00:00"
    return build_report("run-1", "deploy", "local", stamp, stamp, duration, results)


def template_error(message: str = "undefined value: 'oops' is undefined") -> dict[str, Any]:
    return {"type": "TemplateError", "message": message, "location": LOCATION}


# -- JSON ----------------------------------------------------------------------------------
def test_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_both_runs_match_the_schema(runs: TwoRuns) -> None:
    assert schema_errors(runs.first) == []
    assert schema_errors(runs.second) == []


def test_latest_json_is_the_last_report_with_one_nation_per_line(runs: TwoRuns) -> None:
    text = (runs.project.reports_dir / "latest.json").read_text("utf-8")
    assert json.loads(text) == runs.second
    nation_lines = [line for line in text.splitlines() if line.startswith('    {"slug": ')]
    assert len(nation_lines) == 9
    assert json.loads(report_json(runs.first)) == runs.first
    first_file = runs.project.reports_dir / f"{runs.first['run_id']}.json"
    assert json.loads(first_file.read_text("utf-8")) == runs.first


def test_failed_nation_entry_says_what_and_where(runs: TwoRuns) -> None:
    failed = [n for n in runs.second["nations"] if n["status"] == "failed"]
    assert [n["slug"] for n in failed] == ["s1"]
    entry = failed[0]
    assert entry["error"]["type"] == "TemplateError"
    assert entry["error"]["message"] == "undefined value: 'oops' is undefined"
    assert entry["error"]["location"].endswith("nations/s1/overrides/pages/home.html.j2:1")
    assert (entry["parent"], entry["blueprint"], entry["attempts"]) == ("brussels", "section", 1)


def test_changed_nation_entry_counts_its_files(runs: TwoRuns) -> None:
    entry = next(n for n in runs.second["nations"] if n["slug"] == "s4")
    assert entry["status"] == "deployed"
    assert entry["files"] == {"added": 0, "changed": 2, "removed": 0}
    assert sorted(entry["tags"]) == ["national", "region:wallonia"]  # inherited down the tree
    assert 0 <= entry["started_s"] <= entry["finished_s"] <= runs.second["duration_s"]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda r: r["nations"][0].update(status="done"), "'done' is not one of"),
        (lambda r: r["summary"].pop("failed"), "'failed' is a required property"),
        (lambda r: r["nations"][0].update(status="failed", error=None), "is not of type 'object'"),
        (lambda r: r["nations"][0]["files"].pop("removed"), "'removed' is a required property"),
        (lambda r: r.pop("run_id"), "'run_id' is a required property"),
    ],
)
def test_schema_rejects_broken_reports(runs: TwoRuns, change: Any, complaint: str) -> None:
    report = json.loads(json.dumps(runs.first))
    change(report)
    assert any(complaint in error for error in schema_errors(report)), schema_errors(report)


# -- console recap -------------------------------------------------------------------------
def test_recap_failures_first_then_slowest_then_throughput() -> None:
    report = synthetic(
        [
            result("hq", "deployed", 0.5, parent=None),
            result("liege", "failed", 1.25, error=template_error()),
            result("namur", "unchanged", 0.01),
            result("mons", "skipped", 0.0),
        ]
    )
    assert recap_lines(report) == [
        "RUN RECAP run-1  deploy to local",
        "  deployed=1  unchanged=1  failed=1  skipped=1  total=4",
        "FAILED (1)",
        f"  liege  TemplateError: undefined value: 'oops' is undefined  ({LOCATION})",
        "SLOWEST",
        "  liege    1.25s  failed",
        "  hq       0.50s  deployed",
        "  namur    0.01s  unchanged",
        "4 nations in 2.00s, 2.0 nations/s",
    ]


def test_recap_groups_many_failures_by_reason() -> None:
    missing = template_error("template not found: emails/welcome/subject.txt.j2")
    reset = {"type": "PublishError", "message": "connection reset", "location": None}
    failures = [result(f"s{i}", "failed", 0.0, error=missing) for i in range(11)]
    report = synthetic([*failures, result("s11", "failed", 0.0, error=reset)])
    assert recap_lines(report, max_failures=10)[2:7] == [
        "FAILED (12, 2 reasons)",
        "    11 x TemplateError: template not found: emails/welcome/subject.txt.j2",
        "         s0, s1, s2 and 8 more",
        "     1 x PublishError: connection reset",
        "         s11",
    ]


def test_error_summary_keeps_one_line() -> None:
    error = {"type": "SpecError", "message": "2 problems found:\n  a\n  b", "location": None}
    assert error_summary(error) == "SpecError: 2 problems found: ..."
    assert error_summary(None) == ""


# -- JUnit ---------------------------------------------------------------------------------
def test_junit_has_one_case_per_nation_and_one_failure(runs: TwoRuns) -> None:
    root = ET.fromstring(junit_xml(runs.second))
    cases = root.findall("./testsuite/testcase")
    assert sorted(c.get("name") or "" for c in cases) == sorted(
        n["slug"] for n in runs.second["nations"]
    )
    assert root.get("tests") == "9" and root.get("failures") == "1"
    failures = root.findall("./testsuite/testcase/failure")
    assert len(failures) == 1
    failed_case = next(c for c in cases if c.find("failure") is not None)
    assert (failed_case.get("classname"), failed_case.get("name")) == ("nations.brussels", "s1")
    assert failures[0].get("type") == "TemplateError"
    assert failures[0].get("message") == "undefined value: 'oops' is undefined"
    assert (failures[0].text or "").splitlines()[0].endswith("s1/overrides/pages/home.html.j2:1")


def test_junit_marks_skipped_nations_and_survives_control_characters() -> None:
    error = {"type": "PublishError", "message": "bad byte \x00\x1b here", "location": None}
    report = synthetic([result("a", "failed", 0.1, error=error), result("b", "skipped", 0.0)])
    root = ET.fromstring(junit_xml(report))  # would raise on an unescaped control character
    assert root.find("./testsuite/testcase/failure").get("message") == "bad byte ?? here"  # type: ignore[union-attr]
    skipped = root.find("./testsuite/testcase/skipped")
    # The words a CI user reads, spelled here: compared with junit's own constant, any
    # message (an empty one too) would pass.
    assert skipped is not None and skipped.get("message") == (
        "not started: the failure budget or a failed canary stopped the run"
    )


# -- embedding in HTML ---------------------------------------------------------------------
def test_script_json_cannot_close_its_script_element() -> None:
    data = {"name": "</script><script>alert(1)</script><!-- & \u2028"}
    embedded = script_json(data)
    assert "<" not in embedded and ">" not in embedded and "&" not in embedded
    assert json.loads(embedded) == data


def test_site_links_are_relative_for_local_files_only(tmp_path: Path) -> None:
    local = (tmp_path / "build" / "sites" / "hq" / "index.html").as_uri()
    report = {"nations": [{"slug": "hq", "url": local}, {"slug": "s3", "url": "https://s3/"}]}
    links = site_links(report, tmp_path / "build" / "reports")
    assert links == {"hq": "../sites/hq/index.html", "s3": "https://s3/"}
