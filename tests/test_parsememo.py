"""nations.yaml parsed once per version of the file (spec/parsememo.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from helpers import mini_blueprints, nation, write_spec

from provisioner import filestat
from provisioner.errors import SpecError
from provisioner.run.deploy import Options, Project, deploy
from provisioner.spec import parsememo, yamlsource
from provisioner.spec.yamlsource import load_yaml

SPEC = """\
network: {name: Test}
nations:
  - slug: hq
    tags: [elections]
  - slug: s1
    parent: hq
    tags: [jeunes, elections]
"""


def settled(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def wait_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written so far are no longer racy (filestat.py's rule, its clock 5 s on)."""
    ahead = time.time_ns() + 5 * filestat.RACY_NS
    monkeypatch.setattr(parsememo, "is_racy", lambda stat: filestat.is_racy(stat, ahead))


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file parsed from YAML (not loaded from a memo)."""
    parsed: list[Path] = []

    def counted(path: Path, display_name: str | None = None) -> yamlsource.YamlSource:
        parsed.append(path)
        return load_yaml(path, display_name)

    monkeypatch.setattr(parsememo, "load_yaml", counted)
    return parsed


def test_a_kept_parse_is_the_parse_and_an_edit_is_parsed_again(
    tmp_path: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, memo = settled(tmp_path / "nations.yaml", SPEC), tmp_path / "out" / "spec.marshal"
    wait_a_while(monkeypatch)
    first = parsememo.load_kept(spec, "nations.yaml", memo)
    assert not memo.exists()  # written by save only (a deploy holding its lock)
    parsememo.save(memo)
    second = parsememo.load_kept(spec, "shown.yaml", memo)
    assert parses == [spec]  # the second came from the memo
    assert (second.data, second.lines) == (first.data, first.lines)
    assert second.file == "shown.yaml" and second.line_of(("nations", 1, "tags", 0)) == 7
    settled(spec, SPEC.replace("jeunes", "seniors"))  # same size, another version
    wait_a_while(monkeypatch)
    third = parsememo.load_kept(spec, "nations.yaml", memo)
    assert third.data["nations"][1]["tags"] == ["seniors", "elections"]
    assert len(parses) == 2


def test_a_racy_file_a_date_or_a_damaged_memo_is_parsed_every_time(
    tmp_path: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    memo = tmp_path / "spec.marshal"
    fresh = tmp_path / "fresh.yaml"
    fresh.write_text(SPEC, encoding="utf-8")  # written just now: its stat proves nothing
    parsememo.load_kept(fresh, "fresh.yaml", memo)
    parsememo.save(memo)
    assert not memo.exists()
    dated = settled(tmp_path / "dated.yaml", SPEC + "since: 2026-10-11\n")
    spec = settled(tmp_path / "nations.yaml", SPEC)
    wait_a_while(monkeypatch)
    assert parsememo.load_kept(dated, "dated.yaml", memo).data["since"].year == 2026
    parsememo.save(memo)
    assert not memo.exists()  # marshal cannot hold a date: not kept
    parsememo.load_kept(spec, "nations.yaml", memo)
    parsememo.save(memo)
    memo.write_bytes(memo.read_bytes()[:40])
    assert parsememo.load_kept(spec, "nations.yaml", memo).data["nations"][0]["slug"] == "hq"
    assert parses == [fresh, dated, spec, spec]


def test_a_deploy_keeps_the_parse_and_a_refused_one_writes_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mini_blueprints(tmp_path)
    spec = write_spec(tmp_path, [nation("hq"), nation("s1", "hq")])
    wait_a_while(monkeypatch)
    project = Project(spec=spec, out=tmp_path / "build")
    deploy(project, Options(processes=1))
    kept = project.parsed_spec.read_bytes()
    write_spec(tmp_path, [nation("hq"), nation("s1", "hq", colour="red")])  # unknown key
    wait_a_while(monkeypatch)
    with pytest.raises(SpecError):
        deploy(project, Options(processes=1))
    assert project.parsed_spec.read_bytes() == kept  # refused: nothing written
