"""The sample generator, the plain-YAML geography and private file writing."""

from __future__ import annotations

import os
import stat
import textwrap

import pytest

from provisioner.supporters import (
    DIALERS,
    SEGMENTS,
    Ledger,
    load_geography,
    read_ledger,
    read_supporters,
    render_exports,
    write_private_file,
)
from provisioner.supporters.generate import generate, main

POSTCODES = [("4000", "fr"), ("9000", "nl"), ("1000", "fr")]

SPEC = textwrap.dedent(
    """\
    version: 1
    nations:
      - slug: hq
        languages: [fr, nl]
      - slug: vlaanderen
        parent: hq
        languages: [nl]
      - slug: gent
        parent: vlaanderen
        geo: {postcodes: ['9000', '9030']}
      - slug: liege
        parent: hq
        geo: {postcodes: ['4000']}
      - slug: marie
        parent: liege
        languages: [nl, fr]
        geo: {postcodes: ['4000']}
    """
)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path):
    first = generate(tmp_path / "a", POSTCODES, count=500, seed=3)
    second = generate(tmp_path / "b", POSTCODES, count=500, seed=3)
    other = generate(tmp_path / "c", POSTCODES, count=500, seed=4)

    assert first.supporters_path.read_bytes() == second.supporters_path.read_bytes()
    assert first.ledger_path.read_bytes() == second.ledger_path.read_bytes()
    assert first.supporters_path.read_bytes() != other.supporters_path.read_bytes()


def test_generated_sample_is_valid_varied_and_has_a_ledger(tmp_path):
    result = generate(tmp_path, POSTCODES, count=3000, seed=5)

    ingestion = read_supporters(result.supporters_path)
    ledger = read_ledger(result.ledger_path)

    assert ingestion.quarantined == [] and len(ingestion.rows) == 3000
    rows = ingestion.rows
    # Every engagement level of the export format (spelled here, not read from the
    # module), and enough of each that every segment and dialer file gets people.
    levels = {"subscriber", "supporter", "pledge", "volunteer", "member", "donor"}
    assert {row.level for row in rows} == levels
    exports = render_exports("hq", [], list(SEGMENTS), list(DIALERS), rows, Ledger())
    assert all(exports.counts[name] > 30 for name in [*SEGMENTS, *DIALERS]), exports.counts
    assert {row.postcode for row in rows} == {p for p, _ in POSTCODES}
    assert all(row.phone.startswith("+32") for row in rows if row.phone)
    assert all(row.email.split("@")[1].startswith("example.") for row in rows if row.email)
    blocked = sum(map(ledger.blocks, rows))
    assert 0.005 * len(rows) < blocked < 0.02 * len(rows)  # about 1 %
    for channel in ("email", "phone", "sms"):  # consents are often missing, so filters matter
        given = sum(bool(getattr(row, f"{channel}_consent")) for row in rows)
        assert 0.2 * len(rows) < given < 0.8 * len(rows), channel
    assert mode(result.supporters_path) == 0o600


def test_geography_inherits_languages_and_prefers_the_deepest_owner(tmp_path):
    spec = tmp_path / "nations.yaml"
    spec.write_text(SPEC)

    geography = load_geography(spec)

    assert geography.parents["gent"] == "vlaanderen"
    assert geography.owners["hq"] == ()
    assert geography.postcode_languages() == [("4000", "nl"), ("9000", "nl"), ("9030", "nl")]


def test_command_line_generates_from_the_spec_and_never_overwrites_silently(tmp_path, capsys):
    spec = tmp_path / "nations.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "data"
    arguments = ["--spec", str(spec), "--out", str(out), "--count", "50"]

    assert main(arguments) == 0
    assert "wrote 50 supporters" in capsys.readouterr().out
    assert main(arguments) == 2
    assert "exists; it may be real data. Use --force" in capsys.readouterr().err
    assert main([*arguments, "--force"]) == 0


def test_command_line_reports_a_missing_spec(tmp_path, capsys):
    assert main(["--spec", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "d")]) == 2
    assert "nope.yaml: file not found" in capsys.readouterr().err


def test_private_files_are_0600_in_0700_directories_and_replaced_atomically(tmp_path):
    previous = os.umask(0o022)
    try:
        target = tmp_path / "build" / "private" / "gent" / "supporters.csv"
        write_private_file(target, b"first")
        write_private_file(target, b"second")
    finally:
        os.umask(previous)

    assert target.read_bytes() == b"second"
    assert mode(target) == 0o600
    for directory in (target.parent, target.parent.parent, target.parent.parent.parent):
        assert mode(directory) == 0o700, directory
    assert os.listdir(target.parent) == ["supporters.csv"]  # no temporary file left


def test_a_failed_private_write_leaves_the_previous_file_intact(tmp_path):
    target = tmp_path / "private" / "x.csv"
    write_private_file(target, b"good")

    with pytest.raises(TypeError):
        write_private_file(target, "not bytes")  # type: ignore[arg-type]

    assert target.read_bytes() == b"good"
    assert os.listdir(target.parent) == ["x.csv"]
