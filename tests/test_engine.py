"""The engine and the local target: parallel deploys, isolation, idempotency, retries."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from helpers import build_file_tree, mini_blueprints, nation, write_spec

from provisioner.errors import InputError, PublishError
from provisioner.render.build import Build
from provisioner.run.deploy import Project, deploy
from provisioner.run.engine import Options
from provisioner.supporters.generate import generate
from provisioner.targets.base import PublishResult
from provisioner.targets.local import LocalTarget


@pytest.fixture
def project(tmp_path: Path) -> Project:
    mini_blueprints(tmp_path)
    nations = [nation("hq")] + [nation(f"s{i}", "hq") for i in range(6)]
    return Project(spec=write_spec(tmp_path, nations), out=tmp_path / "build")


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Inode and mtime of every published file: equal snapshots mean nothing was rewritten."""
    return {
        str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for area in ("sites", "private", "emails")
        for p in (folder / area).rglob("*")
        if p.is_file()
    }


def test_deploy_then_redeploy_is_unchanged_and_rewrites_nothing(project: Project) -> None:
    first = deploy(project, Options(jobs=3))
    assert first["summary"]["deployed"] == 7
    assert (project.out / "sites" / "s3" / "index.html").is_file()
    assert (project.out / "sites" / "s3").is_symlink()
    before = snapshot(project.out)
    second = deploy(project, Options(jobs=3))
    assert second["summary"]["unchanged"] == 7
    assert snapshot(project.out) == before


def test_forced_rebuild_with_same_content_makes_no_new_release(project: Project) -> None:
    deploy(project, Options())
    before = snapshot(project.out)
    report = deploy(project, Options(force=True))
    assert report["summary"]["unchanged"] == 7
    assert snapshot(project.out) == before


def test_change_to_one_nation_redeploys_only_it_and_links_unchanged_files(project: Project) -> None:
    deploy(project, Options())
    old_css = (project.out / "sites" / "s2" / "assets" / "style.css").stat().st_ino
    build_file_tree(
        project.root,
        {"nations/s2/overrides/pages/home.html.j2": "{% block intro %}new{% endblock %}"},
    )
    report = deploy(project, Options())
    statuses = {n["slug"]: n["status"] for n in report["nations"]}
    assert statuses.pop("s2") == "deployed"
    assert set(statuses.values()) == {"unchanged"}
    entry = next(n for n in report["nations"] if n["slug"] == "s2")
    assert entry["files"] == {"added": 0, "changed": 2, "removed": 0}  # index.html, fr/index.html
    assert (project.out / "sites" / "s2" / "assets" / "style.css").stat().st_ino == old_css
    assert b"new" in (project.out / "sites" / "s2" / "fr" / "index.html").read_bytes()


def test_broken_nation_fails_alone(project: Project) -> None:
    build_file_tree(
        project.root,
        {"nations/s1/overrides/pages/home.html.j2": "{% block intro %}{{ oops }}{% endblock %}"},
    )
    report = deploy(project, Options())
    assert report["summary"] == {
        "deployed": 6,
        "unchanged": 0,
        "failed": 1,
        "skipped": 0,
        "total": 7,
    }
    failed = next(n for n in report["nations"] if n["status"] == "failed")
    assert failed["slug"] == "s1" and failed["error"]["type"] == "TemplateError"
    assert failed["error"]["location"].endswith("nations/s1/overrides/pages/home.html.j2:1")
    assert failed["attempts"] == 1  # template errors are permanent: no retry
    assert not (project.out / "sites" / "s1").exists()


def test_only_takes_slugs_and_globs(project: Project) -> None:
    report = deploy(project, Options(), only=["hq", "s[12]"])
    assert sorted(n["slug"] for n in report["nations"]) == ["hq", "s1", "s2"]
    with pytest.raises(InputError, match="--only nope"):
        deploy(project, Options(), only=["nope"])


class FlakyTarget(LocalTarget):
    """Fails the first publish of each nation with a transient error."""

    def __init__(self, out: Path):
        super().__init__(out)
        self.seen: set[str] = set()

    def publish(self, build: Build) -> PublishResult:
        if build.slug not in self.seen:
            self.seen.add(build.slug)
            raise PublishError("connection reset")
        return super().publish(build)


def test_transient_errors_are_retried(project: Project) -> None:
    target = FlakyTarget(project.out)
    report = deploy(project, Options(retries=2, backoff_s=0.001), target=target)
    assert report["summary"]["deployed"] == 7
    assert {n["attempts"] for n in report["nations"]} == {2}


def test_failure_budget_skips_the_rest(project: Project) -> None:
    target = FlakyTarget(project.out)
    report = deploy(project, Options(jobs=1, retries=0, max_failures=2), target=target)
    assert report["summary"]["failed"] == 2 and report["summary"]["skipped"] == 5


def test_canary_failure_stops_the_wave(project: Project) -> None:
    target = FlakyTarget(project.out)
    report = deploy(project, Options(retries=0, canary=1), target=target)
    assert report["summary"]["failed"] == 1 and report["summary"]["skipped"] == 6


def test_private_areas_are_not_world_readable(project: Project) -> None:
    # Supporter lists (private/) and email templates (emails/) with their releases, and
    # the quarantine of broken rows: every directory 0700, every file 0600.
    postcodes = [("1000", "fr"), ("4000", "fr")]
    generate(project.root / "data", postcodes, count=50)
    project.supporters = project.root / "data" / "supporters.csv"
    write_spec(
        project.root,
        [
            nation("hq"),
            nation("s1", "hq", geo={"postcodes": ["1000"]}),
            nation("s2", "hq", geo={"postcodes": ["4000"]}),
        ],
    )
    report = deploy(project, Options())
    assert report["supporters"]["accepted"] > 0
    seen = {"private": 0, "emails": 0}
    for area in seen:
        root = project.out / area
        for path in [root, *root.rglob("*")]:
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                continue  # the release switch; its target is checked on its own
            expected = 0o700 if stat.S_ISDIR(mode) else 0o600
            assert mode & 0o777 == expected, f"{path}: {oct(mode & 0o777)}"
            seen[area] += stat.S_ISREG(mode)
    assert (project.out / "private" / "_quarantine.csv").is_file()
    assert (project.out / "private" / "s1" / "supporters.csv").is_file()
    assert seen["private"] >= 4 and seen["emails"] >= 6, seen


def test_report_files_are_written(project: Project) -> None:
    report = deploy(project, Options())
    latest = project.out / "reports" / "latest.json"
    assert latest.is_file() and (project.out / "reports" / f"{report['run_id']}.json").is_file()
    assert (project.out / "reports" / "latest.html").is_file()
