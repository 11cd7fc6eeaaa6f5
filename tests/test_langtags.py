"""Language tags (langtags.py): langcodes decides; a deploy keeps the tags it found
valid beside its output, so a later run imports langcodes only for a tag not seen."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from helpers import mini_blueprints, nation, write_spec

from provisioner.run.deploy import Project, deploy
from provisioner.run.engine import Options

PROBE = """
import json, sys
from pathlib import Path
from provisioner.langtags import is_language_tag, save
memo = Path(sys.argv[1]) if sys.argv[1] else None
answers = [is_language_tag(tag, memo) for tag in sys.argv[2:]]
if memo is not None:
    save(memo)  # as a deploy does once it writes its output
print(json.dumps([answers, "langcodes" in sys.modules]))
"""


def probe(memo: Path | None, *tags: str) -> tuple[list[bool], bool]:
    """(each tag's answer, whether langcodes was imported), from a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(memo or ""), *tags],
        capture_output=True,
        text=True,
        check=True,
    )
    answers, imported = json.loads(done.stdout)
    return answers, imported


def kept(memo: Path) -> list[str]:
    return json.loads(memo.read_text())["valid"]


def test_valid_tags_are_kept_and_langcodes_imported_only_for_new_ones(tmp_path: Path) -> None:
    memo = tmp_path / ".cache" / "language-tags.json"
    assert probe(memo, "fr", "nl", "jp", "fr_BE") == ([True, True, False, False], True)
    assert kept(memo) == ["fr", "nl"]  # never an invalid one
    assert probe(memo, "fr", "nl") == ([True, True], False)
    assert probe(memo, "fr", "jp") == ([True, False], True)  # jp asked again, refused
    assert probe(memo, "de-BE") == ([True], True)
    assert kept(memo) == ["de-BE", "fr", "nl"]
    assert probe(None, "fr") == ([True], True)  # no file: nothing kept between runs


def test_a_damaged_or_foreign_file_is_only_slower(tmp_path: Path) -> None:
    memo = tmp_path / "language-tags.json"
    memo.write_text('{"valid": ["jp"')
    assert probe(memo, "fr", "jp") == ([True, False], True)
    assert kept(memo) == ["fr"]
    data = json.loads(memo.read_text())
    memo.write_text(json.dumps({**data, "langcodes": "another", "valid": ["jp"]}))
    assert probe(memo, "jp") == ([False], True)  # kept by another langcodes: not trusted
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    assert probe(not_a_folder / "tags.json", "nl") == ([True], True)  # cannot write: same


def test_deploy_keeps_them_in_its_output_and_validate_writes_nothing(tmp_path: Path) -> None:
    mini_blueprints(tmp_path)
    spec = write_spec(tmp_path, [nation("hq"), nation("s1", "hq")])
    project = Project(spec=spec, out=tmp_path / "build")
    done = subprocess.run(
        [sys.executable, "-m", "provisioner", "validate", "--spec", str(spec)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "build").exists()
    deploy(project, Options(processes=1))
    assert kept(project.language_tags) == ["fr"]
