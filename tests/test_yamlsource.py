"""One parse for the data and the lines of a YAML file (spec/yamlsource.py, issue 18)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from provisioner.errors import SpecError
from provisioner.spec.yamlsource import load_yaml

TRICKY = """\
defaults: &defaults
  tags: [a, b]
  when: 2026-10-11
  size: 0x1F
  ratio: 1.5e3
  flag: yes
  nothing: ~
nations:
  - slug: hq
    <<: *defaults
    name: "HQ"
  - slug: s1
    geo: {postcodes: ['1000', 1050]}
    same: *defaults
    set: !!set {x: null}
    ? !!str complex
    : value
    1: one
"""


def test_data_is_what_safe_load_gives(tmp_path: Path) -> None:
    path = tmp_path / "tricky.yaml"
    path.write_text(TRICKY, encoding="utf-8")
    source = load_yaml(path)
    assert source.data == yaml.safe_load(TRICKY)
    s1 = source.data["nations"][1]
    assert s1["same"] is source.data["defaults"]  # an alias stays one object


def test_every_key_and_item_has_its_line_even_under_an_alias(tmp_path: Path) -> None:
    path = tmp_path / "tricky.yaml"
    path.write_text(TRICKY, encoding="utf-8")
    source = load_yaml(path)
    assert source.line_of(("nations", 1, "geo", "postcodes", 1)) == 13
    assert source.line_of(("nations", 0, "name")) == 11
    assert source.line_of(("nations", 1, "same", "tags", 0)) == 2  # where the anchor is
    assert source.line_of(("nations", 1, "same")) == 14


def test_duplicate_keys_and_bad_syntax_are_reported_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("a: 1\nb:\n  c: 1\n  c: 2\n", encoding="utf-8")
    with pytest.raises(SpecError) as dup:
        load_yaml(path)
    assert "dup.yaml:4" in str(dup.value) and "duplicate key 'c' (first at line 3)" in str(
        dup.value
    )
    path.write_text("a: [1, 2\n", encoding="utf-8")
    with pytest.raises(SpecError, match="invalid YAML"):
        load_yaml(path)
