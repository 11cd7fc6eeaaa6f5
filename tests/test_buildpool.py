"""BuildPool decides how builds run: forking, and where supporter lists are built."""

from __future__ import annotations

import pickle
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import mini_blueprints, nation, write_spec

from provisioner.candidates.problems import Problem
from provisioner.candidates.site_content import SiteContentError
from provisioner.errors import NationError
from provisioner.run import buildpool
from provisioner.run.buildpool import BuildPool
from provisioner.run.deploy import Project, load, make_builder
from provisioner.supporters.audience import Audience
from provisioner.supporters.generate import generate

CODES = ["4000", "4020", "4030", "4031", "4032", "4040", "4041", "4042"]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    mini_blueprints(tmp_path)
    sections = [nation(f"s{i}", "hq", geo={"postcodes": [code]}) for i, code in enumerate(CODES)]
    generate(tmp_path / "data", [(code, "fr") for code in CODES], count=80)
    return Project(
        spec=write_spec(tmp_path, [nation("hq"), *sections]),
        out=tmp_path / "build",
        supporters=tmp_path / "data" / "supporters.csv",
    )


@pytest.mark.parametrize(("limit", "in_workers"), [(2**30, True), (0, False)])
def test_lists_are_built_where_the_export_size_says(
    project: Project, monkeypatch: pytest.MonkeyPatch, limit: int, in_workers: bool
) -> None:
    monkeypatch.setattr(buildpool, "LISTS_IN_WORKERS_MAX", limit)
    network = load(project)
    builder = make_builder(project, network)
    pool = BuildPool(builder, processes=2).start(buildpool.MIN_FOR_PROCESSES, True)
    try:
        assert pool.lists_in_workers is in_workers
        assert pool._workers is not None, "enough builds to fork"
        assert isinstance(builder.audience, Audience) and builder.audience.loaded
        build = pool.build(network.nations["s1"], "f")
        assert (build.files["private"], build.counts) == builder.private_files(
            network.nations["s1"]
        )
        assert build.counts["supporters"] > 0
    finally:
        pool.close()


def test_live_lists_are_reused_without_building_any(project: Project) -> None:
    network = load(project)
    builder = make_builder(project, network)
    pool = BuildPool(builder, processes=1).start(builds=1, read_supporters=False)
    live = ({"supporters.csv": b"id\n"}, {"supporters": 0})
    build = pool.build(network.nations["s1"], "f", live=lambda: live)
    assert build.files["private"] == live[0] and build.counts == live[1]
    assert isinstance(builder.audience, Audience) and not builder.audience.loaded
    gone = pool.build(network.nations["s1"], "f", live=lambda: None)  # unreadable: rebuilt
    assert (gone.files["private"], gone.counts) == builder.private_files(network.nations["s1"])
    assert gone.counts["supporters"] > 0


class ThreePartError(NationError):
    """Its __init__ does not match NationError's pickling: it cannot be unpickled."""

    def __init__(self, a: str, b: str, c: str):
        super().__init__(a + b + c, "nations/x/overrides/pages/home.html.j2:3")


def test_an_error_that_cannot_travel_back_from_a_worker_is_sent_as_a_nation_error() -> None:
    sent = pickle.loads(pickle.dumps(buildpool._portable(ThreePartError("a", "b", "c"))))
    assert isinstance(sent, NationError) and not sent.transient
    assert str(sent) == "nations/x/overrides/pages/home.html.j2:3: ThreePartError: abc"
    problems = [Problem("nations/x/site.yaml", 2, "colour: unknown field")]
    kept = buildpool._portable(SiteContentError(problems))
    assert type(kept) is SiteContentError
    assert pickle.loads(pickle.dumps(kept)).problems == problems


def test_slow_supporter_lists_in_a_worker_are_not_cut_by_the_render_deadline(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker deadline backs up the render budget; the HQ's lists on a loaded machine
    once took longer than it and the HQ failed, although no template ran long."""
    monkeypatch.setattr(buildpool, "LISTS_IN_WORKERS_MAX", 2**30)
    monkeypatch.setattr(buildpool, "KILL_MARGIN_S", 0.0)
    network = load(project)
    hq = network.nations["hq"]
    # The worker is killed 0.5 s into rendering.
    object.__setattr__(hq, "budgets", hq.budgets.model_copy(update={"render_seconds": 0.25}))
    builder = make_builder(project, network)
    lists = builder.private_files

    def slow_lists(nation: Any) -> Any:
        time.sleep(1.0)  # past the deadline, after rendering
        return lists(nation)

    monkeypatch.setattr(builder, "private_files", slow_lists)
    pool = BuildPool(builder, processes=2).start(buildpool.MIN_FOR_PROCESSES, True)
    try:
        assert pool._workers is not None and pool.lists_in_workers
        build = pool.build(hq, "f")
        assert build.counts["supporters"] == lists(hq)[1]["supporters"] > 0
    finally:
        pool.close()


def test_with_a_large_export_workers_fork_before_anything_reads_it(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The triage's digests read the rows: forked after them, each worker would hold its
    own copy of a million rows (copy-on-write pages touched by reference counting)."""
    monkeypatch.setattr(buildpool, "LISTS_IN_WORKERS_MAX", 0)
    network = load(project)
    builder = make_builder(project, network)
    audience = builder.audience
    assert isinstance(audience, Audience)
    pool = BuildPool(builder, processes=2)
    try:
        pool.fork_before_reading(buildpool.MIN_FOR_PROCESSES)
        forked = pool._workers
        assert forked is not None and not audience.loaded and audience.digest(network.nations["s1"])
        pool.start(buildpool.MIN_FOR_PROCESSES, read_supporters=True)
        assert pool._workers is forked and audience.loaded  # the same workers, rows here only
        build = pool.build(network.nations["s1"], "f")
        assert (build.files["private"], build.counts) == builder.private_files(
            network.nations["s1"]
        )
    finally:
        pool.close()


def test_a_small_export_is_read_before_forking_and_few_builds_never_fork(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(buildpool, "LISTS_IN_WORKERS_MAX", 2**30)
    builder = make_builder(project, load(project))
    pool = BuildPool(builder, processes=2)
    try:
        pool.fork_before_reading(buildpool.MIN_FOR_PROCESSES)
        assert pool._workers is None  # the workers will share the rows: read them first
        pool.start(buildpool.MIN_FOR_PROCESSES - 1, read_supporters=True)
        assert pool._workers is None and isinstance(builder.audience, Audience)
        assert builder.audience.loaded
    finally:
        pool.close()


def test_lists_set_after_rendering_leave_the_manifest_as_if_hashed_whole() -> None:
    """`set_private` hashes only the private area; entries and their order are those of
    hashing every file again (the order is the diff's, the digest names releases)."""
    from provisioner.render.build import Build
    from provisioner.render.manifest import Manifest

    build = Build("hq", "f")
    build.files["sites"] = {"fr/index.html": b"<p>x</p>", "assets/a.css": b"a{}"}
    build.files["emails"] = {"fr/welcome.html": b"hi"}
    build.extra_private = {"hunters.csv": b"id\n"}
    build.set_private({"supporters.csv": b"old\n"}, {"supporters": 1})
    build.set_private({"supporters.csv": b"id\n1\n", "segments/b.csv": b"b"}, {"supporters": 2})
    whole = Manifest.of_files(build.files)
    assert list(build.manifest().items()) == list(whole.items())
    assert build.manifest()["private/supporters.csv"] == whole["private/supporters.csv"]
    assert "private/hunters.csv" in build.manifest() and build.counts == {"supporters": 2}
