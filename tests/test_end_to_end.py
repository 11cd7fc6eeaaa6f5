"""The real CLI, twice, on the whole sample network: all deployed, then all unchanged.

Copy the pyinfra idempotency test: the second run must report every nation unchanged
and rewrite no file (same inode, same mtime for everything published).
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import copy_sample_network

REPO = Path(__file__).resolve().parent.parent


def published_files(out: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(out)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for area in ("sites", "private", "emails")
        for p in (out / area).rglob("*")
        if p.is_file()
    }


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provisioner", *args], capture_output=True, text=True, cwd=REPO
    )


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample")
    copy_sample_network(root)
    return root


@pytest.mark.slow
def test_sample_network_deploys_then_is_unchanged(sample: Path) -> None:
    spec, out = str(sample / "nations.yaml"), str(sample / "build")
    slugs = [n["slug"] for n in yaml.safe_load((sample / "nations.yaml").read_text())["nations"]]
    assert len(slugs) >= 400

    first = run("deploy", "--spec", spec, "--out", out)
    assert first.returncode == 0, first.stdout + first.stderr
    report = json.loads((sample / "build" / "reports" / "latest.json").read_text())
    assert report["summary"]["deployed"] == len(slugs)
    assert {n["status"] for n in report["nations"]} == {"deployed"}
    for slug in slugs:
        assert (sample / "build" / "sites" / slug / "index.html").is_file(), slug
    before = published_files(sample / "build")

    second = run("deploy", "--spec", spec, "--out", out)
    assert second.returncode == 0, second.stdout + second.stderr
    report = json.loads((sample / "build" / "reports" / "latest.json").read_text())
    assert report["summary"]["unchanged"] == len(slugs)
    assert published_files(sample / "build") == before  # no file rewritten
    assert f"unchanged={len(slugs)}" in second.stdout
    # Checked here, not in a test of its own: under pytest-xdist another test may run on a
    # worker where this deploy never happened.
    assert_nation_json_carries_geography_and_inherited_tags(sample)
    assert_every_nation_has_its_messages_page(sample, slugs)


def assert_every_nation_has_its_messages_page(sample: Path, slugs: list[str]) -> None:
    """Each language's "pass the word" page: 2+ variants, 2+ follow-ups, its own place."""
    for slug in slugs:
        manifest = json.loads((sample / "build" / "sites" / slug / "nation.json").read_text())
        place = manifest["geo"]["municipality"] or manifest["geo"]["province"]
        for lang in manifest["languages"]:  # fr, nl and, in the German-speaking east, de
            path = manifest["pages"]["messages"][lang]
            page = (sample / "build" / "sites" / slug / path).read_text()
            assert page.count('data-message-kind="variant"') >= 2, (slug, lang)
            assert page.count('data-message-kind="follow-up"') >= 2, (slug, lang)
            assert page.count('data-message-kind="first"') == 1, (slug, lang)
            if place:  # the HQ and the regions speak of the whole area instead
                assert html.escape(place) in page, (slug, lang, place)
            assert "[commune]" not in page and "{{" not in page, (slug, lang)


def assert_nation_json_carries_geography_and_inherited_tags(sample: Path) -> None:
    manifest = json.loads((sample / "build" / "sites" / "marie-dubois" / "nation.json").read_text())
    assert manifest["parent"] == "liege"
    assert "municipality:liege" in manifest["tags"]
    assert any(tag.startswith("province:") for tag in manifest["inherited_tags"])
    assert "4000" in manifest["coverage"]


def test_duplicate_slug_makes_validate_exit_2_naming_slug_and_line(tmp_path: Path) -> None:
    text = (REPO / "nations.yaml").read_text()
    duplicate = "\n  - slug: liege\n    name: Doublon\n    blueprint: section\n    parent: hq\n"
    spec = tmp_path / "nations.yaml"
    spec.write_text(text + duplicate)
    shutil.copytree(REPO / "blueprints", tmp_path / "blueprints")
    line = len((text + duplicate).splitlines()) - 3
    result = run("validate", "--spec", str(spec))
    assert result.returncode == 2
    assert f"nations.yaml:{line}:" in result.stderr and "duplicate slug 'liege'" in result.stderr
    assert not (tmp_path / "build").exists()
