"""A change to shared asset bytes only (a stylesheet fix) reuses the live pages.

No page embeds an asset's bytes or digest (`asset()` is a plain relative link), so when
a nation's inputs differ from its live release's in shared asset bytes alone, the
engine takes its live pages, emails and lists and copies the assets anew
(`Builder.reassemble`): nothing is rendered, and what is published is byte for byte
what a full build would publish. Anything else (a template, a string, an asset added or
renamed) renders again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import build_file_tree, live_files, mini_blueprints, nation, write_spec

from provisioner.render.rendering import Renderer
from provisioner.run.deploy import Project, deploy
from provisioner.run.engine import Options
from provisioner.supporters.generate import generate

CODES = ["4000", "4020", "4030"]
STYLE = Path("blueprints/_base/assets/style.css")
LOGO = Path("blueprints/_base/assets/logo.png")
PNG = b"\x89PNG\r\n\x1a\n"
OWN = PNG + b"s1's own"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    mini_blueprints(tmp_path)
    sections = [nation(f"s{i}", "hq", geo={"postcodes": [code]}) for i, code in enumerate(CODES)]
    generate(tmp_path / "data", [(code, "fr") for code in CODES], count=60)
    # s1 ships its own logo: it must stay above the shared one.
    build_file_tree(
        tmp_path,
        {"blueprints/_base/assets/logo.png": PNG + b"shared", "nations/s1/assets/logo.png": OWN},
    )
    return Project(
        spec=write_spec(tmp_path, [nation("hq"), *sections]),
        out=tmp_path / "build",
        supporters=tmp_path / "data" / "supporters.csv",
    )


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every template rendered in this process (builds run here: processes=1)."""
    seen: list[str] = []
    render = Renderer.render

    def counted(self: Renderer, slug: str, name: str, *args: Any) -> str:
        seen.append(f"{slug}:{name}")
        return render(self, slug, name, *args)

    monkeypatch.setattr(Renderer, "render", counted)
    return seen


def run(project: Project, out: Path | None = None) -> dict[str, Any]:
    target = project if out is None else Project(**{**vars(project), "out": out})
    return deploy(target, Options(processes=1, retries=0))


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {
        n["slug"]: n["status"] + (f": {n['error']}" if n["error"] else "")
        for n in report["nations"]
    }


def cold_files(project: Project, out: Path) -> dict[str, bytes]:
    """What a first deploy of the same inputs into `out` publishes."""
    run(project, out)
    return live_files(out)


def test_a_stylesheet_fix_republishes_every_nation_without_rendering(
    project: Project, renders: list[str], tmp_path: Path
) -> None:
    run(project)
    assert renders, "the first deploy renders"
    renders.clear()
    (project.root / STYLE).write_text("body { color: #000; }\n")
    (project.root / LOGO).write_bytes(PNG + b"shared, redrawn")
    report = run(project)
    assert set(statuses(report).values()) == {"deployed"}, statuses(report)
    assert renders == [], "only asset bytes changed: nothing rendered"
    assert live_files(project.out) == cold_files(project, tmp_path / "cold")
    sites = project.out / "sites"
    assert (sites / "s0" / "assets" / "style.css").read_text() == "body { color: #000; }\n"
    assert (sites / "s1" / "assets" / "style.css").read_text() == "body { color: #000; }\n"
    assert (sites / "s0" / "assets" / "logo.png").read_bytes() == PNG + b"shared, redrawn"
    assert (sites / "s1" / "assets" / "logo.png").read_bytes() == OWN


def test_anything_but_asset_bytes_renders_again(
    project: Project, renders: list[str], tmp_path: Path
) -> None:
    run(project)
    layout = project.root / "blueprints/_base/templates/layout.html.j2"
    layout.write_text(layout.read_text().replace("<body>", "<body class=new>"))
    renders.clear()
    run(project)
    assert {name.split(":")[0] for name in renders} == {"hq", "s0", "s1", "s2"}
    # A new shared asset changes what nation.json lists: rendered again too.
    build_file_tree(project.root, {"blueprints/_base/assets/logo.svg": "<svg/>"})
    renders.clear()
    run(project)
    assert renders
    assert live_files(project.out) == cold_files(project, tmp_path / "cold")


def test_an_asset_over_budget_fails_its_nation_on_this_path_too(
    project: Project, renders: list[str]
) -> None:
    run(project)
    (project.root / STYLE).write_bytes(b"/*" + b"x" * 6_000_000 + b"*/")  # over 5 MB a file
    renders.clear()
    report = run(project)
    assert {n["status"] for n in report["nations"]} == {"failed"} and renders == []
    assert all("over the budget of 5 MB" in n["error"]["message"] for n in report["nations"])


def test_a_nation_that_failed_to_publish_new_pages_renders_them_next_time(
    project: Project, renders: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A failed nation keeps the pages fingerprint of what it serves: had it kept the
    new one, the next run (same inputs, a stylesheet fix) would reuse the old pages."""
    from provisioner.errors import PublishError
    from provisioner.targets.local import LocalTarget

    run(project)
    home = project.root / "blueprints/section/templates/pages/home.html.j2"
    home.write_text(home.read_text().replace("intro from blueprint", "new intro"))
    publish = LocalTarget.publish

    def refused(self: LocalTarget, build: Any) -> Any:
        raise PublishError("disk full")

    monkeypatch.setattr(LocalTarget, "publish", refused)
    report = run(project)
    assert {n["status"] for n in report["nations"]} == {"failed"}
    monkeypatch.setattr(LocalTarget, "publish", publish)
    (project.root / STYLE).write_text("body { color: #000; }\n")
    renders.clear()
    report = run(project)
    assert {n["status"] for n in report["nations"]} == {"deployed"} and renders
    assert "new intro" in (project.out / "sites" / "s0" / "index.html").read_text()
    assert live_files(project.out) == cold_files(project, tmp_path / "cold")


def test_after_a_rollback_a_stylesheet_fix_renders_the_current_pages(
    project: Project, renders: list[str], tmp_path: Path
) -> None:
    """A rollback switches the live release, not what the state said of its pages: the
    pages fingerprint is trusted for the release it was made for only."""
    from provisioner.run.deploy import rollback

    run(project)
    home = project.root / "blueprints/section/templates/pages/home.html.j2"
    home.write_text(home.read_text().replace("intro from blueprint", "new intro"))
    run(project)
    rollback(project, "s0")
    assert "new intro" not in (project.out / "sites" / "s0" / "index.html").read_text()
    (project.root / STYLE).write_text("body { color: #000; }\n")
    renders.clear()
    run(project)
    assert {name.split(":")[0] for name in renders} == {"s0"}  # the others reassembled
    assert "new intro" in (project.out / "sites" / "s0" / "index.html").read_text()
    assert live_files(project.out) == cold_files(project, tmp_path / "cold")
