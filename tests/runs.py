"""A small network deployed twice, the second time with one nation made to fail.

Shared by the report, dashboard and CLI tests: every view of a run is checked against
the same two runs. Also the report schema's validator and an in-process CLI runner.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from helpers import build_file_tree, mini_blueprints, nation, write_spec

from provisioner.cli import main
from provisioner.run.deploy import Project, deploy
from provisioner.run.engine import Options

BROKEN = "{% block intro %}{{ oops }}{% endblock %}"
CHANGED = "{% block intro %}<p>new intro</p>{% endblock %}"
SCHEMA = json.loads(
    (Path(__file__).parents[1] / "schemas" / "report.schema.json").read_text("utf-8")
)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
Invoke = Callable[..., tuple[int, str, str]]

# Nation names come from nations.yaml, which many people edit: the dashboard must show
# this as text, never run it.
HOSTILE_NAME = '</script><img src="x" onerror="window.pwned=1">'


@dataclass
class TwoRuns:
    project: Project
    first: dict[str, Any]
    second: dict[str, Any]


def small_network(root: Path) -> Project:
    """hq > two regions > six sections; tags differ per region."""
    mini_blueprints(root)
    nations = [
        nation("hq", tags=["national"]),
        nation("brussels", "hq", tags=["region:brussels"]),
        nation("wallonia", "hq", tags=["region:wallonia"]),
        *(nation(f"s{i}", "brussels" if i < 3 else "wallonia") for i in range(6)),
    ]
    nations[-1]["name"] = HOSTILE_NAME
    return Project(spec=write_spec(root, nations), out=root / "build")


def two_runs(root: Path, broken: str = "s1", changed: str = "s4") -> TwoRuns:
    """Deploy everything, then break `broken`, change `changed` and deploy again."""
    project = small_network(root)
    first = deploy(project, Options(jobs=3))
    build_file_tree(
        project.root,
        {
            f"nations/{broken}/overrides/pages/home.html.j2": BROKEN,
            f"nations/{changed}/overrides/pages/home.html.j2": CHANGED,
        },
    )
    second = deploy(project, Options(jobs=3))
    return TwoRuns(project, first, second)


def invoker(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run the real entry point in-process (exit code mapping included).

    The returned function takes the command line and returns (exit code, stdout, stderr).
    """

    def invoke(*args: str | Path) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["provisioner", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as stop:
            code = int(stop.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke
