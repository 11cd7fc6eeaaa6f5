"""In CI a skipped test is a failure (tests/conftest.py): nothing silently stops running."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
SKIPPING = """
import pytest

@pytest.mark.skipif(True, reason="chromium is missing")
def test_marked():
    pass

def test_inside():
    pytest.skip("node is missing")

def test_runs():
    pass
"""


def run(pytester: pytest.Pytester, ci: str | None, monkeypatch: pytest.MonkeyPatch):
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makepyfile(test_some=SKIPPING)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    return pytester.runpytest_subprocess("-p", "no:xdist", "-p", "no:cacheprovider")


def test_skips_fail_when_ci_is_set(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    result = run(pytester, "true", monkeypatch)
    result.assert_outcomes(passed=1, failed=1, errors=1)
    result.stdout.fnmatch_lines(["*skipped in CI (CI=true), which must run it*node is missing*"])


@pytest.mark.parametrize("ci", [None, "false", "0"])
def test_skips_stay_skips_outside_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str | None
):
    run(pytester, ci, monkeypatch).assert_outcomes(passed=1, skipped=2)
