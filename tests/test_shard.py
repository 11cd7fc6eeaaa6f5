"""--shard: disjoint, covering, stable; merged shard reports equal an unsharded run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import mini_blueprints, nation, write_spec

from provisioner.errors import InputError
from provisioner.report.merge import merge_reports
from provisioner.run.deploy import Project, deploy
from provisioner.run.engine import Options
from provisioner.run.shard import Shard, parse_shard, shard_of


def test_shards_are_disjoint_cover_everything_and_are_stable() -> None:
    slugs = [f"nation-{i}" for i in range(3000)]
    parts = [{s for s in slugs if Shard(i, 4).owns(s)} for i in range(4)]
    assert set().union(*parts) == set(slugs)
    assert sum(len(p) for p in parts) == len(slugs)
    assert all(600 < len(p) < 900 for p in parts)  # balanced


def test_shards_are_the_same_on_another_machine() -> None:
    # Another process with another hash seed stands for another machine: a split built
    # on Python's salted hash() would differ there.
    code = (
        "from provisioner.run.shard import shard_of;"
        " print([shard_of(f'n-{i}', 4) for i in range(200)])"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    here = [shard_of(f"n-{i}", 4) for i in range(200)]
    assert done.stdout.strip() == str(here) and len(set(here)) == 4


def test_growing_the_fleet_moves_few_nations() -> None:
    slugs = [f"nation-{i}" for i in range(3000)]
    moved = sum(shard_of(s, 4) != shard_of(s, 5) for s in slugs)
    assert moved < len(slugs) * 0.3  # about 1/5 move, not most of them


def test_parse_shard_from_batch_environment() -> None:
    assert parse_shard("*/8", {"JOB_COMPLETION_INDEX": "3"}) == Shard(3, 8)
    assert parse_shard("*/8", {"AWS_BATCH_JOB_ARRAY_INDEX": "7"}) == Shard(7, 8)
    with pytest.raises(InputError, match="between 0 and 3"):
        parse_shard("4/4")
    with pytest.raises(InputError, match="JOB_COMPLETION_INDEX"):
        parse_shard("*/4", {})


def test_merged_shard_reports_equal_an_unsharded_run(tmp_path: Path) -> None:
    mini_blueprints(tmp_path)
    spec = write_spec(tmp_path, [nation("hq")] + [nation(f"s{i}", "hq") for i in range(20)])
    whole = deploy(Project(spec=spec, out=tmp_path / "whole"), Options())
    shards = [
        deploy(Project(spec=spec, out=tmp_path / f"shard{i}"), Options(), shard=Shard(i, 3))
        for i in range(3)
    ]
    merged = merge_reports(shards)
    assert merged["summary"] == whole["summary"]
    assert sorted(n["slug"] for n in merged["nations"]) == sorted(
        n["slug"] for n in whole["nations"]
    )
    with pytest.raises(InputError, match="several shards"):
        merge_reports([shards[0], shards[0]])
