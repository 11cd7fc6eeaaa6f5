"""Deploying like infrastructure: plan, rollback, prune, lock, crash safety (issue 4)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import build_file_tree, mini_blueprints, nation, write_spec

from provisioner.errors import LockError
from provisioner.run.deploy import Project, deploy, plan_project, rollback
from provisioner.run.engine import Options
from provisioner.run.lock import deploy_lock

CLI = [sys.executable, "-m", "provisioner"]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    mini_blueprints(tmp_path)
    nations = [nation("hq")] + [nation(f"s{i}", "hq") for i in range(5)]
    return Project(spec=write_spec(tmp_path, nations), out=tmp_path / "build")


def actions(project: Project) -> dict[str, str]:
    return {p.slug: p.action for p in plan_project(project)}


def test_plan_create_then_nothing_then_one_update(project: Project) -> None:
    assert set(actions(project).values()) == {"create"}
    assert not (project.out / "state.db").exists()  # plan writes nothing
    deploy(project, Options())
    assert set(actions(project).values()) == {"unchanged"}
    build_file_tree(
        project.root,
        {"nations/s3/overrides/pages/home.html.j2": "{% block intro %}x{% endblock %}"},
    )
    planned = {p.slug: p for p in plan_project(project)}
    assert [s for s, p in planned.items() if p.action != "unchanged"] == ["s3"]
    assert (planned["s3"].added, planned["s3"].changed, planned["s3"].removed) == (0, 2, 0)


def test_plan_detailed_exitcode_and_json(project: Project) -> None:
    args = [*CLI, "plan", "--spec", str(project.spec), "--out", str(project.out)]
    pending = subprocess.run([*args, "--detailed-exitcode"], capture_output=True, text=True)
    assert pending.returncode == 3, pending.stderr
    deploy(project, Options())
    clean = subprocess.run([*args, "--detailed-exitcode", "--json"], capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["summary"]["unchanged"] == 6


def test_rollback_restores_previous_content(project: Project) -> None:
    deploy(project, Options())
    page = project.out / "sites" / "s1" / "fr" / "index.html"
    original = page.read_text()
    override = "nations/s1/overrides/pages/home.html.j2"
    build_file_tree(project.root, {override: "{% block intro %}second{% endblock %}"})
    deploy(project, Options())
    assert "second" in page.read_text()
    result = rollback(project, "s1")
    assert page.read_text() == original
    assert result["to"] < result["from"]


def test_removed_nation_survives_plain_deploy_and_goes_with_prune(project: Project) -> None:
    deploy(project, Options())
    write_spec(project.root, [nation("hq")] + [nation(f"s{i}", "hq") for i in range(4)])
    assert actions(project)["s4"] == "delete"
    report = deploy(project, Options())
    assert report["orphans"] == ["s4"] and (project.out / "sites" / "s4" / "index.html").exists()
    report = deploy(project, Options(), prune=True)
    assert report["pruned"] == ["s4"]
    assert not (project.out / "sites" / "s4").exists()
    assert not (project.out / "emails" / "s4").exists()


def test_concurrent_deploy_is_refused_naming_the_holder(project: Project) -> None:
    project.out.mkdir(parents=True)
    with deploy_lock(project.out / ".deploy.lock", "deploy"):
        result = subprocess.run(
            [*CLI, "deploy", "--spec", str(project.spec), "--out", str(project.out)],
            capture_output=True,
            text=True,
        )
    assert result.returncode == 1
    assert (
        f"pid {os.getpid()}" in result.stderr and "another deploy holds the lock" in result.stderr
    )


def test_lock_of_a_dead_process_is_taken_over(project: Project) -> None:
    project.out.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import time,sys\n"
         "from pathlib import Path\nfrom provisioner.run.lock import deploy_lock\n"
         f"with deploy_lock(Path({str(project.out / '.deploy.lock')!r}), 'x'):\n"
         "    print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    with pytest.raises(LockError), deploy_lock(project.out / ".deploy.lock", "deploy"):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with deploy_lock(project.out / ".deploy.lock", "deploy"):
        pass


def published(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for area in ("sites", "emails")
        for link in (out / area).iterdir()
        if link.is_symlink()
        for p in link.rglob("*")
        if p.is_file()
    }


def kill_when_published(process: subprocess.Popen, out: Path, count: int) -> int:
    """SIGKILL `process` once `count` nations are live; return how many were live then."""
    deadline = time.monotonic() + 30
    live = 0
    while time.monotonic() < deadline and process.poll() is None:
        sites = out / "sites"
        live = sum(1 for p in sites.iterdir() if p.is_symlink()) if sites.is_dir() else 0
        if live >= count:
            break
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return live


@pytest.mark.parametrize("after", [0, 20, 90])
def test_sigkill_mid_deploy_then_rerun_converges(tmp_path: Path, after: int) -> None:
    mini_blueprints(tmp_path)
    spec = write_spec(tmp_path, [nation("hq")] + [nation(f"n{i}", "hq") for i in range(150)])
    reference, out = tmp_path / "reference", tmp_path / "build"
    subprocess.run(
        [*CLI, "deploy", "-q", "--spec", str(spec), "--out", str(reference)],
        check=True,
        capture_output=True,
    )
    victim = subprocess.Popen(
        [*CLI, "deploy", "-q", "-j", "2", "--spec", str(spec), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    live = kill_when_published(victim, out, after)
    assert after <= live < 151  # killed mid-run, not after it
    rerun = subprocess.run(
        [*CLI, "deploy", "-q", "--spec", str(spec), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    report = json.loads((out / "reports" / "latest.json").read_text())
    assert report["summary"]["failed"] == 0
    assert published(out) == published(reference)  # every nation complete, same content
    again = subprocess.run(
        [*CLI, "deploy", "-q", "--spec", str(spec), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert (
        json.loads((out / "reports" / "latest.json").read_text())["summary"]["unchanged"] == 151
    ), again.stdout
    leftovers = [p for p in out.rglob("*.tmp")]
    assert leftovers == []
