"""BuildPool decides how builds run: when to fork, and when the supporter export is read."""

from __future__ import annotations

import pickle
import threading
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


def test_pages_are_rendered_ahead_while_the_export_is_read_and_lists_made_here(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(buildpool, "MIN_FOR_PROCESSES", 2)  # the fixture has 9 nations
    network = load(project)
    builder = make_builder(project, network)
    audience = builder.audience
    assert isinstance(audience, Audience)
    prepare, rendered_while_reading = builder.prepare, []

    def slow_prepare() -> None:
        time.sleep(1.0)  # the export read and encoded: the workers render meanwhile
        rendered_while_reading.extend(renders)
        prepare()

    monkeypatch.setattr(builder, "prepare", slow_prepare)
    pool = BuildPool(builder, processes=2)
    renders: list[str] = []
    render = pool._render
    monkeypatch.setattr(pool, "_render", lambda n, f: (renders.append(n.slug), render(n, f))[1])
    order = [(n, "f") for n in network]
    try:
        pool.fork_before_reading(len(order))
        assert pool._workers is not None and not audience.loaded
        pool.start(order, read_supporters=True)
        builds = {n.slug: pool.build(n, "f") for n, _ in order}
    finally:
        pool.close()
    assert len(rendered_while_reading) >= 2, "the workers rendered while the rows were read"
    assert sorted(renders) == sorted(builds), "each nation rendered once"
    for slug, build in builds.items():
        nation = network.nations[slug]
        assert (build.files["private"], build.counts) == builder.private_files(nation)
        assert build.files["sites"] == builder.build(nation, "f", with_private=False).files["sites"]
    assert builds["s1"].counts["supporters"] > 0


def test_nations_sure_to_be_built_are_rendered_while_the_triage_reads_the_rows(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the triage (which reads the rows to fingerprint), the workers already
    render the nations it cannot settle; each build gets its fingerprint when taken."""
    monkeypatch.setattr(buildpool, "MIN_FOR_PROCESSES", 2)
    network = load(project)
    builder = make_builder(project, network)
    audience = builder.audience
    assert isinstance(audience, Audience)
    pool = BuildPool(builder, processes=2)
    renders: list[str] = []
    render = pool._render
    monkeypatch.setattr(pool, "_render", lambda n, f: (renders.append(n.slug), render(n, f))[1])
    nations = list(network)
    try:
        pool.fork_before_reading(len(nations), certain=nations[:4])
        deadline = time.monotonic() + 10
        while len(renders) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(renders) == sorted(n.slug for n in nations[:4])  # before any triage
        assert not audience.loaded
        pool.start([(n, f"fp-{n.slug}") for n in nations], read_supporters=True)
        builds = {n.slug: pool.build(n, f"fp-{n.slug}") for n in nations}
    finally:
        pool.close()
    assert sorted(renders) == sorted(builds), "each nation rendered once"
    assert all(build.fingerprint == f"fp-{slug}" for slug, build in builds.items())
    first = network.nations[nations[0].slug]
    assert builds[first.slug].files["private"] == builder.private_files(first)[0]


def test_live_lists_are_reused_without_building_any(project: Project) -> None:
    network = load(project)
    builder = make_builder(project, network)
    pool = BuildPool(builder, processes=1).start([(network.nations["s1"], "f")], False)
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


def test_workers_fork_before_the_triage_reads_the_rows_and_only_then(
    project: Project,
) -> None:
    """The triage's digests read the rows when the state has none: forked after them,
    each worker would keep its own copy of every row this process lets go later."""
    network = load(project)
    order = [(n, "f") for n in network]
    builder = make_builder(project, network)
    audience = builder.audience
    assert isinstance(audience, Audience)
    cache = DigestsInMemory()
    audience.cache = cache
    pool = BuildPool(builder, processes=2)
    try:
        pool.fork_before_reading(buildpool.MIN_FOR_PROCESSES)
        forked = pool._workers
        assert forked is not None and not audience.loaded and audience.digest(network.nations["s1"])
        pool.start(order, read_supporters=True)
        assert pool._workers is forked  # the same workers, the rows in this process only
        build = pool.build(network.nations["s1"], "f")
        assert (build.files["private"], build.counts) == builder.private_files(
            network.nations["s1"]
        )
    finally:
        pool.close()
    # The next run finds the digests in the state: the triage reads nothing, and a run
    # with few builds never forks.
    builder = make_builder(project, network)
    assert isinstance(builder.audience, Audience)
    builder.audience.cache = cache
    pool = BuildPool(builder, processes=2)
    try:
        pool.fork_before_reading(buildpool.MIN_FOR_PROCESSES)
        assert pool._workers is None and builder.audience.digest(network.nations["s1"])
        assert not builder.audience.loaded
        pool.start(order[: buildpool.MIN_FOR_PROCESSES - 1], read_supporters=True)
        assert pool._workers is None and builder.audience.loaded  # read at once, here
    finally:
        pool.close()


class DigestsInMemory:
    """The state's digest cache (audience.DigestCache), in memory."""

    def __init__(self) -> None:
        self.digests: dict[str, dict[str, str]] = {}
        self.files: dict[tuple[str, Any], str] = {}

    def cached_digests(self, key: str) -> dict[str, str] | None:
        return self.digests.get(key)

    def cache_digests(self, key: str, digests: dict[str, str]) -> None:
        self.digests = {key: digests}

    def known_digest(self, path: str, stat: Any) -> str | None:
        return self.files.get((path, stat))

    def keep_digest(self, path: str, stat: Any, digest: str) -> None:
        self.files[(path, stat)] = digest


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


def test_a_replacement_worker_outlives_the_thread_that_had_it_forked(project: Project) -> None:
    """The kernel kills a worker when the *thread* that forked it ends (PDEATHSIG is per
    thread): a replacement forked by a render-ahead lane died with the lane, and the next
    build sent to it failed with a broken pipe."""
    network = load(project)
    workers = buildpool._Workers(make_builder(project, network), 1)
    try:
        stuck, builds = workers._idle.get(), []

        def lane() -> None:  # replaces the worker, then builds on it: it is set up
            workers._idle.put(workers._replace(stuck))
            builds.append(workers.build(network.nations["s1"], ("s1", "f"), limit=30))

        thread = threading.Thread(target=lane)
        thread.start()
        thread.join()
        time.sleep(0.3)  # long enough for a parent-death signal to arrive
        assert builds and not stuck.process.is_alive()
        build = workers.build(network.nations["s2"], ("s2", "f"), limit=30)
        assert build.files["sites"]
    finally:
        workers.close()
