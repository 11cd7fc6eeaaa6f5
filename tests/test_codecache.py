"""Compiled templates kept on disk (render/codecache.py): the next run loads them instead
of compiling, makes the same bytes, and never trusts code that does not match."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
from helpers import build_file_tree, mini_blueprints, nation, write_spec

from provisioner.errors import TemplateError
from provisioner.render.blueprints import Catalog
from provisioner.render.build import Builder
from provisioner.render.codecache import code_version
from provisioner.report import netview_html
from provisioner.spec.load import load_network

NATIONS = [nation("hq"), nation("liege", "hq")]
OVERRIDE = "nations/liege/overrides/pages/home.html.j2"
INTRO = "{% block intro %}<p>Liège {{ nation.name }}</p>{% endblock %}"


def builder(root: Path, cache: Path | None, writes: bool = True) -> Builder:
    network = load_network(write_spec(root, NATIONS))
    catalog = Catalog(root / "blueprints")
    return Builder(network, catalog, root / "nations", code_cache=cache, code_writes=writes)


def build_all(builder: Builder) -> dict[str, dict[str, bytes]]:
    nations = builder.network.nations
    return {slug: builder.build(nations[slug]).files["sites"] for slug in ("hq", "liege")}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    mini_blueprints(tmp_path)
    build_file_tree(tmp_path, {OVERRIDE: INTRO})
    return tmp_path


def test_a_later_builder_loads_the_kept_code_and_makes_the_same_bytes(
    root: Path, compiles: list[str]
) -> None:
    fresh = build_all(builder(root, None))
    compiled_fresh = len(compiles)
    cache = root / "build" / ".cache" / "templates"
    first = build_all(builder(root, cache))
    assert len(compiles) == 2 * compiled_fresh  # nothing kept yet: compiled as without
    kinds = {path.parent.name for path in (cache / code_version()).glob("*/*")}
    assert kinds == {"blueprint", "sandboxed"}  # hq outside the sandbox, liege inside
    del compiles[:]
    again = build_all(builder(root, cache))
    assert compiles == []  # the blueprint's and the candidate's code, loaded
    assert again == first == fresh


def test_an_edited_template_is_compiled_again(root: Path, compiles: list[str]) -> None:
    cache = root / ".cache"
    build_all(builder(root, cache))
    build_file_tree(root, {OVERRIDE: INTRO.replace("Liège", "Lüttich")})
    del compiles[:]
    sites = build_all(builder(root, cache))
    assert compiles == ["@nation/*/pages/home.html.j2"]  # liege's override (codenames.py)
    assert "Lüttich Liege".encode() in sites["liege"]["fr/index.html"]


def test_damaged_or_foreign_files_are_misses_and_other_versions_are_deleted(
    root: Path, compiles: list[str]
) -> None:
    cache = root / ".cache"
    good = build_all(builder(root, cache))
    kept = [p for p in (cache / code_version()).rglob("*") if p.is_file()]
    assert kept
    for number, path in enumerate(kept):  # garbage, a truncated file, another checksum
        path.write_bytes([b"", b"junk" * 10, path.read_bytes()[:20]][number % 3])
    stale = cache / "0123456789abcdef" / "blueprint" / "x"
    build_file_tree(stale.parent, {"x": "code of an older provisioner"})
    del compiles[:]
    assert build_all(builder(root, cache)) == good
    assert len(compiles) == len(kept)  # every damaged file compiled again, and rewritten
    assert not stale.parent.parent.exists()
    del compiles[:]
    build_all(builder(root, cache))
    assert compiles == []


def test_refused_code_is_never_kept_and_refused_again(root: Path) -> None:
    refused = "{% block intro %}{{ ''.__class__ }}{% endblock %}"
    build_file_tree(root, {OVERRIDE: refused})
    cache = root / ".cache"
    for _ in range(2):
        chosen = builder(root, cache)
        hq = chosen.build(chosen.network.nations["hq"])
        assert hq.files["sites"]  # the blueprint still builds
        with pytest.raises(TemplateError, match="forbidden in templates"):
            chosen.build(chosen.network.nations["liege"])
    checksum = jinja2.BytecodeCache().get_source_checksum(refused).encode()
    kept = [path.read_bytes() for path in cache.rglob("*") if path.is_file()]
    assert kept and not any(data.startswith(checksum) for data in kept)


def test_a_deploy_keeps_its_code_in_the_output_folder(root: Path) -> None:
    write_spec(root, NATIONS)
    command = [sys.executable, "-m", "provisioner", "deploy", "-q", "--out", str(root / "out")]
    for _ in range(2):
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    kept = root / "out" / ".cache" / "templates" / code_version()
    # The network view's template too (report/netview_html.py), under its own options.
    assert {p.name for p in kept.iterdir()} == {"blueprint", "sandboxed", netview_html.KIND}


def test_a_reading_builder_loads_kept_code_and_writes_none(root: Path, compiles: list[str]) -> None:
    """`plan` writes nothing: it loads what a deploy kept and compiles the rest in memory."""
    cache = root / ".cache"
    assert build_all(builder(root, cache, writes=False)) and not cache.exists()
    build_all(builder(root, cache))
    kept = {path: path.read_bytes() for path in cache.rglob("*") if path.is_file()}
    build_file_tree(root, {OVERRIDE: INTRO.replace("Liège", "Lüttich")})
    del compiles[:]
    sites = build_all(builder(root, cache, writes=False))
    assert compiles == ["@nation/*/pages/home.html.j2"]  # the rest was loaded
    assert "Lüttich Liege".encode() in sites["liege"]["fr/index.html"]
    assert {path: path.read_bytes() for path in cache.rglob("*") if path.is_file()} == kept


def test_plan_uses_the_deploys_code_and_keeps_none(root: Path) -> None:
    write_spec(root, NATIONS)
    deploy = [sys.executable, "-m", "provisioner", "deploy", "-q", "--out", str(root / "out")]
    done = subprocess.run(deploy, cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    cache = root / "out" / ".cache"
    kept = sorted(cache.rglob("*"))
    build_file_tree(root, {OVERRIDE: INTRO.replace("Liège", "Lüttich")})
    plan = [sys.executable, "-m", "provisioner", "plan", "--out", str(root / "out")]
    planned = subprocess.run(plan, cwd=root, capture_output=True, text=True, timeout=120)
    assert planned.returncode == 0 and "1 to update" in planned.stdout, planned.stdout
    assert sorted(cache.rglob("*")) == kept
