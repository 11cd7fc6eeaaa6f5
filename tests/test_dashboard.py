"""The HTML dashboard, opened from disk in headless Chromium (Debian's `chromium`).

One page load per module: the page is checked against the JSON it was made from, then
driven (filters, sort, detail) the way ops use it.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from helpers import build_file_tree, copy_sample_network, only_args
from runs import BROKEN, HOSTILE_NAME, TwoRuns, invoker, two_runs

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
Capture = pytest.CaptureFixture[str]
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # A fresh profile per launch (playwright's default) keeps runs independent.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Dashboard:
    """A loaded dashboard page, with every request and script error it caused."""

    def __init__(self, browser: Any, html: Path):
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(html.as_uri())

    def count(self, status: str) -> int:
        return int(self.page.inner_text(f'#counts [data-status="{status}"] .count'))

    def visible_slugs(self) -> list[str]:
        rows = self.page.query_selector_all("#nation-table tr.nation:not([hidden])")
        return [row.get_attribute("data-slug") or "" for row in rows]

    def shown(self) -> int:
        return int(self.page.inner_text("#shown"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    return two_runs(tmp_path_factory.mktemp("net"))


@pytest.fixture(scope="module")
def dashboard(browser: Any, runs: TwoRuns) -> Iterator[Dashboard]:
    page = Dashboard(browser, runs.project.reports_dir / "latest.html")
    yield page
    page.page.close()


@pytest.fixture
def reset(dashboard: Dashboard) -> Dashboard:
    dashboard.page.click("#filter-reset")
    return dashboard


def test_counts_match_the_json(dashboard: Dashboard, runs: TwoRuns) -> None:
    summary = json.loads((runs.project.reports_dir / "latest.json").read_text("utf-8"))["summary"]
    shown = {s: dashboard.count(s) for s in ("total", "deployed", "unchanged", "failed", "skipped")}
    assert (
        shown
        == summary
        == {
            "deployed": 1,
            "unchanged": 7,
            "failed": 1,
            "skipped": 0,
            "total": 9,
        }
    )
    assert dashboard.page.inner_text("#verdict") == "1 failed"


def test_failed_nation_comes_first_with_its_reason(reset: Dashboard) -> None:
    first = reset.page.locator("#nation-table tr.nation").first
    assert first.get_attribute("data-slug") == "s1"
    assert first.locator("td.error").inner_text() == (
        "TemplateError: undefined value: 'oops' is undefined"
    )
    assert reset.page.inner_text("#reasons li") == (
        "1\nTemplateError: undefined value: 'oops' is undefined\ns1"
    )


def test_filters_narrow_the_table(reset: Dashboard) -> None:
    page = reset.page
    assert reset.shown() == 9 and len(reset.visible_slugs()) == 9
    page.select_option("#filter-status", "failed")
    assert reset.visible_slugs() == ["s1"] and reset.shown() == 1
    page.click("#filter-reset")
    page.fill("#filter-parent", "wallonia")
    assert sorted(reset.visible_slugs()) == ["s3", "s4", "s5"]
    page.fill("#filter-parent", "")
    page.fill("#filter-tag", "region:brussels")
    assert sorted(reset.visible_slugs()) == ["brussels", "s0", "s1", "s2"]
    page.fill("#filter-text", "oops")
    assert reset.visible_slugs() == ["s1"]
    page.fill("#filter-text", "no such nation")
    assert reset.shown() == 0 and page.is_visible("#empty")
    assert "tag=region%3Abrussels" in page.evaluate("location.hash")  # shareable filters


def test_status_card_filters_and_timeline_dims_the_others(reset: Dashboard) -> None:
    reset.page.click('#counts [data-status="deployed"]')
    assert reset.visible_slugs() == ["s4"]
    bars = reset.page.query_selector_all("#timeline rect.bar")
    assert len(bars) == 9  # one bar per nation
    lit = [b.get_attribute("data-slug") for b in bars if "dim" not in b.get_attribute("class")]
    assert lit == ["s4"]


def test_sort_by_duration(reset: Dashboard, runs: TwoRuns) -> None:
    reset.page.click('#nation-table th[data-sort="duration"]')
    reset.page.click('#nation-table th[data-sort="duration"]')  # second click: descending
    slowest = max(runs.second["nations"], key=lambda n: n["duration_s"])
    assert reset.visible_slugs()[0] == slowest["slug"]
    assert reset.page.get_attribute('th[data-sort="duration"]', "aria-sort") == "descending"
    reset.page.click('#nation-table th[data-sort="status"]')


def test_detail_shows_the_error_and_links_the_local_site(reset: Dashboard, runs: TwoRuns) -> None:
    reset.page.click('#nation-table tr.nation[data-slug="s1"]')
    detail = reset.page.locator("#nation-table tr.detail:not([hidden])")
    text = detail.inner_text()
    assert "undefined value: 'oops' is undefined" in text
    assert "nations/s1/overrides/pages/home.html.j2:1" in text
    href = detail.locator("a.site-link").get_attribute("href") or ""
    assert not href.startswith("file:")  # relative: survives moving the build folder
    target = urlparse(detail.locator("a.site-link").evaluate("a => a.href"))
    assert Path(unquote(target.path)).is_file()  # s1 still serves its last good release
    reset.page.click('#nation-table tr.nation[data-slug="s1"]')


def test_page_makes_no_request_and_runs_no_injected_script(
    dashboard: Dashboard, runs: TwoRuns
) -> None:
    assert dashboard.requests == [(runs.project.reports_dir / "latest.html").as_uri()]
    assert dashboard.errors == []
    assert dashboard.page.evaluate("window.pwned") is None
    name = dashboard.page.locator('tr.nation[data-slug="s5"] td:nth-child(2) .muted')
    assert name.inner_text() == HOSTILE_NAME


def test_screenshot(reset: Dashboard, runs: TwoRuns, tmp_path: Path) -> None:
    reset.page.click('#nation-table tr.nation[data-slug="s1"]')
    shot = tmp_path / "dashboard.png"
    reset.page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    reset.page.click('#nation-table tr.nation[data-slug="s1"]')


# -- the sample network, end to end ---------------------------------------------------------


def break_one_section(root: Path, report: dict[str, Any]) -> str:
    """Make the first section without overrides of its own fail to render; return its slug."""
    slug = next(
        n["slug"]
        for n in report["nations"]
        if n["blueprint"] == "section"
        and n["parent"]
        and not (root / "nations" / n["slug"]).exists()
    )
    build_file_tree(root, {f"nations/{slug}/overrides/pages/home.html.j2": BROKEN})
    return slug


# HQ and the nations whose slug starts with "a": sections (some without overrides) and
# candidates, 28 nations, enough for forked build workers.
SAMPLE_SLICE = only_args(["hq", "a*"])


@pytest.mark.slow
def test_a_slice_of_the_sample_network_two_deploys_end_to_end(
    browser: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = invoker(capsys, monkeypatch)
    spec, out, junit = copy_sample_network(tmp_path), tmp_path / "build", tmp_path / "junit.xml"
    deploy = ("deploy", "--spec", spec, "--out", out, "--jobs", "8", "--quiet", *SAMPLE_SLICE)
    code, _, err = run(*deploy)
    assert code == 0, err
    first = json.loads((out / "reports" / "latest.json").read_text("utf-8"))
    assert len(first["nations"]) >= 16 and {"section", "candidate"} <= {
        n["blueprint"] for n in first["nations"]
    }
    broken = break_one_section(tmp_path, first)
    code, _, err = run(*deploy, "--junit", junit)
    assert code == 1, err
    latest = json.loads((out / "reports" / "latest.json").read_text("utf-8"))
    every_nation = sorted(n["slug"] for n in first["nations"])
    assert latest["summary"]["failed"] == 1 and latest["summary"]["total"] == len(every_nation)

    # The dashboard shows the JSON's counts, the failure first with its reason, and filters.
    page = Dashboard(browser, out / "reports" / "latest.html")
    counts = {s: page.count(s) for s in ("total", "deployed", "unchanged", "failed", "skipped")}
    assert counts == latest["summary"]
    first_row = page.page.locator("#nation-table tr.nation").first
    assert first_row.get_attribute("data-slug") == broken
    assert first_row.locator("td.error").inner_text() == (
        "TemplateError: undefined value: 'oops' is undefined"
    )
    page.page.select_option("#filter-status", "failed")
    assert page.visible_slugs() == [broken]
    page.page.select_option("#filter-status", "")
    page.page.fill("#filter-text", broken)
    assert broken in page.visible_slugs() and 0 < page.shown() < latest["summary"]["total"]
    page.page.click(f'#nation-table tr.nation[data-slug="{broken}"]')
    page.page.screenshot(path=str(tmp_path / "sample-network.png"), full_page=False)
    assert page.errors == [] and len(page.requests) == 1

    # history lists both runs; status --json lists every nation; JUnit: one case each.
    code, out_text, _ = run("history", "--out", out, "--json")
    assert [r["run_id"] for r in json.loads(out_text)["runs"]] == [
        latest["run_id"],
        first["run_id"],
    ]
    code, out_text, _ = run("status", "--out", out, "--json")
    status = json.loads(out_text)
    assert sorted(n["slug"] for n in status["nations"]) == every_nation
    assert [n["slug"] for n in status["nations"] if n["status"] == "failed"] == [broken]
    cases = ET.parse(junit).getroot().findall("./testsuite/testcase")
    assert sorted(c.get("name") or "" for c in cases) == every_nation
    assert [c.get("name") for c in cases if c.find("failure") is not None] == [broken]
