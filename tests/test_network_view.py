"""The network view for ops: tree, rolled-up intake counts, failures; in headless Chromium.

The small network of runs.py (deployed twice, s1 broken the second time, s5 with a
hostile name) gets confirmed submissions in a real SQLite intake store; then the real
CLI writes `status --html`, and the page is opened from disk.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from runs import HOSTILE_NAME, TwoRuns, two_runs
from test_dashboard import CHROMIUM, CHROMIUM_ARGS

from provisioner.intake.model import DoNotContact, Submission
from provisioner.intake.sqlite_store import SqliteStore
from provisioner.report.netview import DailyCount, Failure, network_view

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
# (nation, kind, days ago, how many): leaves, their parents and an unknown nation.
SUBMITTED = [
    ("s0", "pledge", 1, 3),
    ("s0", "pledge", 20, 2),
    ("s2", "volunteer", 0, 1),
    ("s4", "pledge", 3, 4),
    ("s5", "subscribe", 8, 5),
    ("brussels", "pledge", 2, 1),
    ("gone", "pledge", 1, 9),  # a nation removed from the network: not counted
]


def test_totals_roll_up_to_the_sum_of_own_counts() -> None:
    records = [
        {"slug": "hq", "status": "deployed", "parent": None, "live_release": "r1"},
        {"slug": "a", "status": "deployed", "parent": "hq", "live_release": "r2"},
        {"slug": "a1", "status": "failed", "parent": "a", "live_release": "r3"},
        {"slug": "b", "status": "unchanged", "parent": "hq", "live_release": None},
    ]
    counts = [
        DailyCount("a1", "pledge", date(2026, 11, 29), 2),
        DailyCount("a1", "pledge", date(2026, 10, 1), 5),
        DailyCount("a", "volunteer", date(2026, 11, 30), 1),
        DailyCount("b", "subscribe", date(2026, 11, 24), 4),  # 6 days ago: recent
        DailyCount("b", "subscribe", date(2026, 11, 23), 1),  # 7 days ago: not recent
    ]
    failures = {"a1": Failure("run-1", "2026-11-29T10:00:00+00:00", "boom", "x.j2:3")}
    kinds = {"hq": "national", "a": "region", "a1": "section"}
    released = {"hq": "2026-11-30T11:00:00+00:00"}
    view = network_view(records, kinds, released, failures, counts, now=NOW)
    nations = view["nations"]
    assert view["roots"] == ["hq"] and nations["hq"]["children"] == ["a", "b"]
    assert nations["a"]["total"]["pledges"] == {"total": 7, "last7": 2}
    assert (
        nations["hq"]["total"]
        == view["totals"]
        == {
            "pledges": {"total": 7, "last7": 2},
            "volunteers": {"total": 1, "last7": 1},
            "signups": {"total": 5, "last7": 4},
        }
    )
    assert nations["hq"]["age_s"] == 3600 and nations["b"]["age_s"] is None
    assert nations["b"]["kind"] == "section"  # not in the spec: guessed
    assert nations["a1"]["failure"]["message"] == "boom"
    by_level = {series["level"]: series["counts"] for series in view["levels"]}
    assert by_level["section"][-2] == 2 and by_level["region"][-1] == 1
    assert sum(by_level["section"]) == 7  # 4 + 1 for b, 2 for a1 (its 5 are 60 days old)


def test_the_pages_compiled_template_is_kept_and_a_damaged_one_compiled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """network.html's code kept in an output's template cache: the same page from it,
    from a fresh compile, and from a cache file that was damaged (compiled again)."""
    from provisioner.report import netview_html

    records = [{"slug": "hq", "status": "deployed", "parent": None, "live_release": "r1"}]
    released = {"hq": "2026-11-30T11:00:00+00:00"}
    view = network_view(records, {"hq": "national"}, released, {}, [], now=NOW)
    fresh = netview_html.render_network(view)
    kept = tmp_path / ".cache" / "templates"
    assert netview_html.render_network(view, kept) == fresh
    files = [p for p in kept.rglob("*") if p.is_file()]
    assert len(files) == 1 and netview_html.KIND in files[0].parts
    netview_html._template.cache_clear()  # as a new process: the code is loaded
    with monkeypatch.context() as patch:
        patch.setattr("jinja2.Environment.compile", lambda *_a, **_k: 1 / 0)  # not compiled
        assert netview_html.render_network(view, kept) == fresh
    files[0].write_bytes(files[0].read_bytes()[:60] + b"garbage")
    netview_html._template.cache_clear()
    assert netview_html.render_network(view, kept) == fresh


def submission(nation: str, kind: str, when: datetime, index: int) -> Submission:
    at = when.isoformat(timespec="milliseconds")
    return Submission(
        id=f"{nation}-{kind}-{index}-{when:%j}", kind=kind, nation=nation,  # type: ignore[arg-type]
        routed_to=nation, lang="fr", source=f"site:{nation}/promesse", first_name="Secret",
        last_name="Person", email=f"p{index}@example.org", phone="", postcode="1000",
        tags=(), message="", consents=(), client_hash="x", created_at=at,
        state="confirmed", confirmed_at=at,
    )  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    runs = two_runs(tmp_path_factory.mktemp("netview"))
    store = SqliteStore(runs.project.root / "data" / "intake.db")
    now = datetime.now(UTC)
    rows = [
        submission(nation, kind, now - timedelta(days=ago), i)
        for nation, kind, ago, count in SUBMITTED
        for i in range(count)
    ]
    pending = replace(submission("s0", "pledge", now, 99), state="pending", confirmed_at="")
    store.absorb([*rows, pending], DoNotContact())  # pending: not counted
    store.close()
    return runs


@pytest.fixture(scope="module")
def page(runs: TwoRuns, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    out = runs.project.out
    result = run_cli("status", "--html", "--out", out, "--spec", runs.project.spec)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out / "reports" / "network.html")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.requests, page.errors = [], []  # type: ignore[attr-defined]
        page.on("request", lambda request: page.requests.append(request.url))
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto((out / "reports" / "network.html").as_uri())
        yield page
        browser.close()


def run_cli(*args: Any) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "provisioner", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True)


def shown(page: Any, selector: str) -> int:
    return int(page.inner_text(selector))


def test_every_nation_is_in_the_tree(page: Any, runs: TwoRuns) -> None:
    slugs = page.eval_on_selector_all("details.nation", "els => els.map(e => e.dataset.slug)")
    assert sorted(slugs) == sorted(n["slug"] for n in runs.second["nations"])
    assert page.evaluate("document.querySelector('details[data-slug=hq]').open")
    nested = page.locator('details[data-slug="brussels"] > details.nation').count()
    assert nested == 3  # s0, s1, s2 under their region


def test_rolled_up_totals_equal_the_sum_of_the_leaves(page: Any) -> None:
    def total(slug: str, measure: str) -> int:
        selector = f'details[data-slug="{slug}"] > summary [data-measure="{measure}"] .total'
        return shown(page, selector)

    leaves = page.eval_on_selector_all("details.nation.leaf", "els => els.map(e => e.dataset.slug)")
    expected = {"pledges": 3 + 2 + 4 + 1, "volunteers": 1, "signups": 5}
    for measure, value in expected.items():
        assert shown(page, f'#totals [data-measure="{measure}"] .total') == value
        assert total("hq", measure) == value
        own_parents = 1 if measure == "pledges" else 0  # brussels' own pledge
        assert sum(total(leaf, measure) for leaf in leaves) + own_parents == value
    assert total("brussels", "pledges") == 3 + 2 + 1
    recent = page.inner_text('#totals [data-measure="pledges"] .recent')
    assert recent == "(+8 in 7 days)"  # 3 + 4 + 1; 20 days ago is not recent


def test_failure_release_and_age_are_shown(page: Any) -> None:
    s1 = page.locator('details[data-slug="s1"] > summary')
    assert "undefined value: 'oops' is undefined" in s1.inner_text()
    assert "nations/s1/overrides/pages/home.html.j2:1" in s1.inner_text()
    release = page.inner_text('details[data-slug="s1"] > summary .release')
    assert release.endswith(" old") and not release.startswith("not live")  # last good one


def test_tree_collapses_and_charts_show_each_level(page: Any) -> None:
    page.click('details[data-slug="brussels"] > summary')
    assert not page.evaluate("document.querySelector('details[data-slug=brussels]').open")
    page.click("#expand-all")
    assert page.evaluate("[...document.querySelectorAll('details.nation')].every(d => d.open)")
    charts = page.locator("figure.chart")
    assert charts.count() >= 1
    assert page.locator('figure.chart[data-level="section"] rect').count() == 30


def test_self_contained_escaped_and_no_supporter_data(page: Any, runs: TwoRuns) -> None:
    assert page.requests == [(runs.project.out / "reports" / "network.html").as_uri()]
    assert page.errors == [] and page.evaluate("window.pwned") is None
    name = page.inner_text('details[data-slug="s5"] > summary .name')
    assert name == HOSTILE_NAME
    html = (runs.project.out / "reports" / "network.html").read_text("utf-8")
    assert "Secret" not in html and "example.org" not in html
