"""Budgets per nation, attacked: oversize pages, runaway loops and recursion, stuck workers.

Each hostile override sits in liege's home page. `check` must name the file (and the
line of the loop), a deploy must fail liege alone within its budget, publish the
others, write the report and release the lock.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers import build_file_tree, mini_blueprints, nation, write_spec

from provisioner.candidates.check import check_nation
from provisioner.errors import SpecError
from provisioner.render import budgets
from provisioner.run.deploy import Project, deploy, load
from provisioner.run.engine import Options
from provisioner.spec.models import Budgets

HOME = "nations/liege/overrides/pages/home.html.j2"
NESTED_LOOPS = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
DOUBLING_MACRO = (
    "{% macro grow(n) %}{% if n %}{{ grow(n - 1) }}{{ grow(n - 1) }}{% endif %}{% endmacro %}"
    "{{ grow(60) }}"
)
TIMEOUT = "budget of 2 s"


def make_project(tmp_path: Path, others: int = 1, **liege: object) -> Project:
    mini_blueprints(tmp_path)
    entries = [nation("hq"), nation("liege", "hq", **liege)]
    entries += [nation(f"section-{i}", "hq") for i in range(others)]
    return Project(spec=write_spec(tmp_path, entries), out=tmp_path / "build")


def override(project: Project, body: str) -> None:
    text = "{% block intro %}\n<p>mine</p>\n" + body + "\n{% endblock %}\n"
    build_file_tree(project.root, {HOME: text})


def lock_is_free(path: Path) -> bool:
    """Whether another process could take the deploy lock now (POSIX locks are held
    per process, so asking from this one would always succeed)."""
    probe = (
        "import fcntl, os, sys; "
        "fcntl.lockf(os.open(sys.argv[1], os.O_RDWR), fcntl.LOCK_EX | fcntl.LOCK_NB)"
    )
    return subprocess.run([sys.executable, "-c", probe, str(path)]).returncode == 0


def test_budgets_come_from_the_network_and_each_nation_overrides_its_own(tmp_path: Path) -> None:
    mini_blueprints(tmp_path)
    entries = [nation("hq"), nation("liege", "hq", budgets={"render_seconds": 3})]
    network = yaml.safe_load(write_spec(tmp_path, entries).read_text())["network"]
    network["budgets"] = {"file_mb": 2}
    spec = write_spec(tmp_path, entries, network=network)
    nations = load(Project(spec=spec)).nations
    assert nations["hq"].budgets == Budgets(file_mb=2)
    assert nations["liege"].budgets == Budgets(file_mb=2, render_seconds=3)
    assert Budgets() == Budgets(file_mb=5, nation_mb=50, render_seconds=20)  # safe defaults


@pytest.mark.parametrize("bad", [{"render_seconds": 0}, {"file_mb": -1}, {"pages": 3}])
def test_an_invalid_budget_is_a_spec_error_with_its_place(tmp_path: Path, bad: dict) -> None:
    project = make_project(tmp_path, budgets=bad)
    with pytest.raises(SpecError) as error:
        load(project)
    assert "nations.1.budgets." in str(error.value)


@pytest.mark.parametrize(
    ("payload", "line"),
    [
        (NESTED_LOOPS, 3),
        (DOUBLING_MACRO, 3),
        ("{% for c in 'x' * 100000 %}" * 3 + "{% endfor %}" * 3, 3),
    ],
    ids=["nested-loops", "doubling-macro", "loops-over-strings"],
)
def test_check_stops_a_runaway_render_at_its_line_within_the_budget(
    tmp_path: Path, payload: str, line: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path, budgets={"render_seconds": 2})
    monkeypatch.chdir(project.root)
    override(project, payload)
    started = time.monotonic()
    problems = check_nation(project, "liege")
    assert time.monotonic() - started < 30  # unbounded: hours; generous when loaded
    assert [(p.file, p.line) for p in problems] == [(HOME, line)], [str(p) for p in problems]
    assert TIMEOUT in problems[0].message and "budgets.render_seconds" in problems[0].message


@pytest.mark.parametrize(
    "payload",
    [
        "{{ '%6000000s'|format('x') }}",  # a padded string
        "{{ '{:>6000000}'.format('x') }}",
        "{{ 'x'|center(6000000) }}",
        "{% for i in range(100) %}{{ 'x' * 100000 }}{% endfor %}",  # 10 MB from a loop
        "{% for i in range(100000) %}{% for j in range(1000) %}{{ 'x' * 999 }}"
        "{% endfor %}{% endfor %}",  # nested loops, 100 GB if nothing stopped them
    ],
)
def test_an_oversize_page_fails_check_and_deploy_alone(
    tmp_path: Path, payload: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path)
    monkeypatch.chdir(project.root)
    override(project, payload)
    problems = check_nation(project, "liege")
    assert problems, "an oversize page passed check"
    assert "over the budget of 5 MB per file" in problems[0].message
    report = deploy(project, Options(retries=0))
    status = {n["slug"]: n["status"] for n in report["nations"]}
    assert status == {"hq": "deployed", "liege": "failed", "section-0": "deployed"}
    error = next(n["error"] for n in report["nations"] if n["slug"] == "liege")
    assert "over the budget of 5 MB per file" in error["message"]
    assert not (project.out / "sites" / "liege").exists()


def test_a_nation_over_its_total_budget_fails_with_sizes(tmp_path: Path) -> None:
    project = make_project(tmp_path, budgets={"nation_mb": 1})
    override(project, "{{ 'x' * 100000 }}" * 6)  # 0.6 MB, in fr/index.html and index.html
    report = deploy(project, Options(retries=0))
    liege = next(n for n in report["nations"] if n["slug"] == "liege")
    assert liege["status"] == "failed"
    message = liege["error"]["message"]
    assert "the public files and emails of liege total 1.2 MB, over its budget of 1 MB" in message
    assert "the largest is sites/" in message


def test_a_runaway_render_fails_alone_and_the_deploy_finishes(tmp_path: Path) -> None:
    project = make_project(tmp_path, others=2, budgets={"render_seconds": 2})
    override(project, NESTED_LOOPS)
    started = time.monotonic()
    report = deploy(project, Options(retries=0))
    assert time.monotonic() - started < 60
    status = {n["slug"]: n["status"] for n in report["nations"]}
    assert status == {"hq": "deployed", "liege": "failed", "section-0": "deployed",
                      "section-1": "deployed"}  # fmt: skip
    latest = json.loads((project.out / "reports" / "latest.json").read_text())
    assert latest["run_id"] == report["run_id"]
    liege = next(n for n in latest["nations"] if n["slug"] == "liege")
    assert TIMEOUT in liege["error"]["message"]
    assert liege["error"]["location"].endswith("overrides/pages/home.html.j2:3")
    assert lock_is_free(project.out / ".deploy.lock")


def test_a_stuck_worker_is_killed_and_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A template stuck in one long call (which no loop tick can interrupt) is simulated
    # by turning the tick off before the workers are forked: only the kill is left.
    from provisioner.run import buildpool

    monkeypatch.setattr(budgets, "tick", lambda: None)
    monkeypatch.setattr(buildpool, "KILL_MARGIN_S", 1.0)
    project = make_project(
        tmp_path, others=buildpool.MIN_FOR_PROCESSES, budgets={"render_seconds": 0.5}
    )
    override(project, NESTED_LOOPS)
    started = time.monotonic()
    report = deploy(project, Options(retries=0, processes=2, jobs=2))
    assert time.monotonic() - started < 90
    status = {n["slug"]: n["status"] for n in report["nations"]}
    assert status.pop("liege") == "failed"
    assert set(status.values()) == {"deployed"}  # the replacement worker built the rest
    liege = next(n for n in report["nations"] if n["slug"] == "liege")
    assert "was still running 2 s after it started" in liege["error"]["message"]
    assert "its worker process was stopped" in liege["error"]["message"]
    assert (project.out / "reports" / "latest.json").is_file()
    assert lock_is_free(project.out / ".deploy.lock")


def test_a_normal_site_is_far_below_every_budget(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    report = deploy(project, Options(retries=0))
    assert {n["status"] for n in report["nations"]} == {"deployed"}
    sizes = [p.stat().st_size for p in (project.out / "sites").rglob("*") if p.is_file()]
    assert max(sizes) < Budgets().file_mb * budgets.MB / 100


def test_the_lock_probe_sees_a_held_lock(tmp_path: Path) -> None:
    from provisioner.run.lock import deploy_lock

    with deploy_lock(tmp_path / ".deploy.lock", "test"):
        assert not lock_is_free(tmp_path / ".deploy.lock")
    assert lock_is_free(tmp_path / ".deploy.lock")


def test_preview_shows_the_budget_error_instead_of_hanging(tmp_path: Path) -> None:
    from provisioner.candidates.preview import SiteState

    project = make_project(tmp_path, budgets={"render_seconds": 2})
    override(project, NESTED_LOOPS)
    state = SiteState(project, "liege")
    started = time.monotonic()
    state.rebuild()
    assert time.monotonic() - started < 30
    assert state.error is not None and TIMEOUT in state.error
    assert "overrides/pages/home.html.j2:3" in state.error
    status, _, body = state.response("/")
    assert status == 500 and b"budgets.render_seconds" in body


HUGE = 2_000_000_000  # 2 GB in one call: refused before it is made


@pytest.mark.parametrize(
    "payload",
    [
        f"{{{{ '%{HUGE}s'|format('x') }}}}",
        f"{{{{ '%.{HUGE}f'|format(1) }}}}",
        f"{{{{ '%*s'|format({HUGE}, 'x') }}}}",
        f"{{{{ '%{HUGE}s' % 'x' }}}}",
        f"{{{{ '%(a){HUGE}s' % {{'a': 1}} }}}}",
        f"{{{{ '{{:>{HUGE}}}'.format('x') }}}}",
        f"{{{{ '{{:{{}}}}'.format('x', {HUGE}) }}}}",
        f"{{{{ '{{a:0>{HUGE}}}'.format_map({{'a': 1}}) }}}}",
        f"{{{{ 'x'|center({HUGE}) }}}}",
        f"{{{{ 'x'.ljust({HUGE}) }}}}",
        f"{{{{ 'x'.rjust({HUGE}) }}}}",
        f"{{{{ 'x'.zfill({HUGE}) }}}}",
        f"{{{{ 'x'.center({HUGE}) }}}}",
        f"{{{{ '\\t'.expandtabs({HUGE}) }}}}",
        "{{ ('x' * 100000)|replace('x', 'y' * 100000) }}",
        "{{ ('x' * 100000).replace('x', 'y' * 100000) }}",
        "{{ ('x' * 100000)|indent(100000, true) }}",
    ],
)
def test_one_call_asking_for_gigabytes_is_refused_before_it_runs(
    tmp_path: Path, payload: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path)
    monkeypatch.chdir(project.root)
    override(project, payload)
    started = time.monotonic()
    problems = check_nation(project, "liege")
    assert time.monotonic() - started < 30
    assert [(p.file, p.line) for p in problems] == [(HOME, 3)], [str(p) for p in problems]
    assert "over the budget of 5 MB per file" in problems[0].message


@pytest.mark.parametrize(
    "payload",
    [
        "{{ '%5s|%-8s|%.2f'|format('a', 'b', 3.14159) }}",
        "{{ '%(name)s' % {'name': nation.name} }}",
        "{{ '{:>10}'.format(nation.name) }}",
        "{{ nation.name|center(30) }}",
        "{{ 'a-b'|replace('-', ' / ') }}",
        "{{ 'x\ty'.expandtabs(4) }}",
        "{{ '<b>x</b>'|indent(2) }}",
        "{{ '%d%%' % 50 }}",
    ],
)
def test_ordinary_formatting_still_works(tmp_path: Path, payload: str) -> None:
    project = make_project(tmp_path)
    override(project, payload)
    assert check_nation(project, "liege") == []
