"""Arrow's reader (`arrowcsv`) and the csv module's read every export alike.

A clean file is parsed by Arrow for speed; any other goes to the csv module's reader.
Each test reads the same bytes both ways (`columnar=False` forces the csv module) and
asserts the same supporters, quarantine (lines, reasons, raw text) and delimiter, and
also which reader Arrow's conditions chose, so that neither half is vacuous.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from provisioner import geo
from provisioner.supporters import COLUMNS, arrowcsv, read_supporters
from provisioner.supporters.columns import Encoded
from provisioner.supporters.csvfile import open_table
from provisioner.supporters.generate import generate
from provisioner.supporters.ingest import _positions, _validator

VALID = {
    "id": "S1",
    "first_name": "Hélène",
    "last_name": "Dupont",
    "phone": "+32470123456",
    "email": "helene@example.org",
    "postcode": "4000",
    "language": "fr",
    "level": "supporter",
    "tags": "newsletter",
    "email_consent": "yes",
    "email_consent_date": "2024-03-01",
    "email_consent_source": "website-form",
    "created_at": "2024-02-28",
}
# Values each column may take in a fuzzed file: valid ones, and ones refused for a reason.
CHOICES: dict[str, list[str]] = {
    "first_name": ["Hélène", "Jan", "Zoë", " Anne ", "=HYPERLINK()", "Ma\u200bx", "", "O'Neil"],
    "last_name": ["Dupont", "Van den Berg", "Müller", "-1", "a\tb", "de Smet, jr"],
    "phone": ["+32470123456", "0470 12 34 56", "+33612345678", "12", "", "+32 470 12.34.56"],
    "email": ["a@example.org", "B@Example.ORG", "nope", "", "x@y", " c@example.be "],
    "postcode": ["4000", "1000", "999", "40000", " 9000", "abcd"],
    "language": ["fr", "nl", "de", "fr-BE", "xx_YY", "", "FR"],
    "level": ["supporter", "volunteer", "Donor", "boss", ""],
    "tags": ["", "newsletter", "a,b", "jeunes|event-2025", "Bad Tag", "x,,y"],
    "email_consent": ["yes", "no", "", "maybe", "TRUE"],
    "email_consent_date": ["2024-03-01", "", "2024-02-30", "yesterday"],
    "email_consent_source": ["website-form", "", "@import", "petition"],
    "created_at": ["2024-02-28", "2024-13-01", ""],
    "area": ["", "62063", "=1"],
}


def read_both(path: Path) -> tuple[object, object]:
    country = geo.load_geography("BE")
    return read_supporters(path, country), read_supporters(path, country, columnar=False)


def arrow_reads(path: Path) -> bool:
    """True when Arrow's conditions take this file (else the csv module reads it)."""
    with open_table(path, "") as table:
        if table.line_num != 1:
            return False
        layout = arrowcsv.Layout(table.delimiter, len(table.header), _positions(table))
        try:
            for _ in arrowcsv.read_batches(path, layout):
                pass
        except arrowcsv.NotForArrow:
            return False
        return True


def assert_alike(path: Path, arrow: bool) -> None:
    fast, reference = read_both(path)
    assert arrow_reads(path) is arrow
    assert fast == reference


def lines(*rows: dict[str, str], columns: tuple[str, ...] = COLUMNS[:-1], sep: str = ",") -> str:
    text = [sep.join(columns)]
    text += [sep.join({**VALID, "id": f"S{i}", **row}.get(c, "") for c in columns)
             for i, row in enumerate(rows)]  # fmt: skip
    return "\n".join(text) + "\n"


CLEAN = {
    "valid rows": lines({}, {"phone": "0470 99 88 77"}, {"email": "X@Example.org"}),
    "semicolons": lines({}, {"last_name": "Smet, de"}, sep=";"),
    "tabs": lines({}, {}, sep="\t"),
    "quoted fields and doubled quotes": lines({}).rstrip("\n")
    + '\nS9,"Jean ""Jo""",Dupont,+32470123457,jo@example.org,4000,fr,pledge,"a,b",yes,'
    "2024-03-01,web,,,,,,,2024-02-28\n",
    "refused values": lines(
        {"phone": "12"},
        {"first_name": "=1+1"},
        {"postcode": "99"},
        {"email_consent_source": ""},
        {"level": "boss", "tags": "A B"},
    ),
    "duplicate ids": lines({"id": "S1"}, {"id": "S1"}, {"id": " S1 "}),
    "no newline at the end": lines({}, {}).rstrip("\n"),
    "crlf": lines({}, {"phone": "x"}).replace("\n", "\r\n"),
    "bom": "\ufeff" + lines({}, {}),
    "area column": lines({"area": "62063"}, {}, columns=COLUMNS),
    "columns in another order and one more": lines(
        {}, {"phone": "bad"}, columns=("note", *reversed(COLUMNS[:-1]))
    ),
    "header only": lines(),
}
NOT_CLEAN = {
    "a quoted newline": lines({}).rstrip("\n")
    + '\nS7,"Jo\nJo",Dupont,+32470123457,,4000,fr,pledge,,no,,,,,,,,,2024-02-28\n'
    + lines({"phone": "bad"}).split("\n", 1)[1],
    "a blank line": lines({}, {}).replace("\n", "\n\n", 1),
    "a record of another width": lines({}, {}).replace("\nS1,", "\nS1,extra,", 1),
    "a quote left open": lines({}).rstrip("\n") + '\nS5,"Jo,Dupont\n',
    "a quoted carriage return": lines({}).rstrip("\n")
    + '\nS7,"Jo\rJo",Dupont,+32470123457,,4000,fr,pledge,,no,,,,,,,,,2024-02-28\n',
    "a lone carriage return": lines({}, {}).replace("\n", "\r", 2),
    "a NUL byte": lines({}, {"last_name": "Du\x00pont"}),
}


@pytest.mark.parametrize("text", CLEAN.values(), ids=CLEAN.keys())
def test_a_clean_file_is_read_by_arrow_as_by_the_csv_module(tmp_path: Path, text: str) -> None:
    path = tmp_path / "supporters.csv"
    path.write_text(text, encoding="utf-8", newline="")
    assert_alike(path, arrow=True)


@pytest.mark.parametrize("text", NOT_CLEAN.values(), ids=NOT_CLEAN.keys())
def test_any_other_file_goes_to_the_csv_module(tmp_path: Path, text: str) -> None:
    path = tmp_path / "supporters.csv"
    path.write_text(text, encoding="utf-8", newline="")
    assert_alike(path, arrow=False)


def test_bytes_that_are_not_utf8_go_to_the_csv_module(tmp_path: Path) -> None:
    path = tmp_path / "supporters.csv"
    utf8 = lines({}, {"last_name": "Dépont"}, {}).encode()
    path.write_bytes(utf8.replace("Dépont".encode(), "Dépont".encode("cp1252")))
    assert_alike(path, arrow=False)
    fast, _ = read_both(path)
    assert [q.line for q in fast.quarantined] == [3]  # type: ignore[attr-defined]


def test_a_field_longer_than_the_csv_module_accepts_goes_to_it(tmp_path: Path) -> None:
    path = tmp_path / "supporters.csv"
    path.write_text(lines({}, {"last_name": "x" * 200_000}, {}), encoding="utf-8")
    assert_alike(path, arrow=False)


def test_lines_and_duplicates_hold_across_arrow_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arrowcsv, "BLOCK_BYTES", 4096)  # a batch every 30 records or so
    rows = [{"phone": "bad"} if i % 97 == 0 else {"id": "S3"} if i % 89 == 0 else {}
            for i in range(1, 1000)]  # fmt: skip
    path = tmp_path / "supporters.csv"
    path.write_text(lines(*rows), encoding="utf-8")
    assert_alike(path, arrow=True)
    fast, _ = read_both(path)
    # A bad phone, or S3 again (rows[3] is S3 itself): the header is line 1.
    bad = [index + 2 for index, row in enumerate(rows) if row]
    assert [q.line for q in fast.quarantined] == bad  # type: ignore[attr-defined]
    assert len(bad) > 15


def test_the_generated_sample_export_reads_alike(tmp_path: Path) -> None:
    postcodes = [("4000", "fr"), ("1000", "fr"), ("9000", "nl"), ("4700", "de")]
    generate(tmp_path, postcodes, count=3_000, seed=7, country="BE")
    path = tmp_path / "supporters.csv"
    assert_alike(path, arrow=True)
    fast, _ = read_both(path)
    assert len(fast.rows) > 2_900  # type: ignore[attr-defined]


@pytest.mark.parametrize("seed", range(40))
def test_fuzzed_files_read_alike(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    sep = rng.choice([",", ";", "\t"])
    columns = COLUMNS if rng.random() < 0.3 else COLUMNS[:-1]
    records = [sep.join(columns)]
    for number in range(rng.randint(0, 40)):
        row = {"id": rng.choice([f"S{number}", f"S{number // 3}", f" S{number} ", ""])}
        row |= {c: rng.choice(CHOICES[c]) for c in columns if c in CHOICES and rng.random() < 0.3}
        cells = [_cell({**VALID, **row}.get(c, ""), sep, rng) for c in columns]
        records.append(sep.join(cells))
    text = ("\ufeff" if rng.random() < 0.2 else "") + "\n".join(records)
    text += "" if rng.random() < 0.2 else "\n"
    if rng.random() < 0.3:
        text = text.replace("\n", "\r\n")
    path = tmp_path / "supporters.csv"
    path.write_text(text, encoding="utf-8", newline="")
    fast, reference = read_both(path)
    assert fast == reference


def _cell(value: str, sep: str, rng: random.Random) -> str:
    """The value as a CSV writer (or a person) might write it: quoted when it must be."""
    if sep in value or '"' in value or rng.random() < 0.15:
        return '"' + value.replace('"', '""') + '"'
    return value


def test_a_file_found_not_plain_after_some_batches_is_read_whole_by_the_csv_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arrowcsv, "BLOCK_BYTES", 4096)
    rows = [{"phone": "bad"} if i % 97 == 0 else {} for i in range(1, 1000)]
    rows[900] = {"first_name": '"Jo\nJo"'}  # a quoted newline, 30 batches in
    path = tmp_path / "supporters.csv"
    path.write_text(lines(*rows), encoding="utf-8")
    assert_alike(path, arrow=False)
    fast, _ = read_both(path)
    assert len(fast.rows) == 999 - 10 - 1  # type: ignore[attr-defined]  # (a newline in a name)
    # rows[969] has a bad phone: line 971, one more after the record of two lines.
    assert fast.quarantined[-1].line == 972  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("data", "lines"),
    [(b"a\r\nb\r\n", 2), (b"a\nb", 2), (b"", 0), (b"a\r\r\nb\n", None), (b"a\rb\n", None),
     (b"a\r", None), (b"a\x00\n", None), (b"a\r\n" * 5, 5)],
)  # fmt: skip
def test_the_byte_scan_counts_lines_and_finds_lone_carriage_returns_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, lines: int | None
) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(data)
    for block in (1, 2, 3, 1 << 24):  # every place a block can end
        monkeypatch.setattr(arrowcsv, "SCAN_BYTES", block)
        assert arrowcsv._plain_lines(path) == lines, block


# Values Python's re and Arrow's RE2 could judge apart: digits that are not ASCII (\d is
# any digit in Python, ASCII in RE2), capitals, spaces, a trailing tab, a Cyrillic "а".
NEAR_CANONICAL = {
    "phone": ["+32470123456", "+32\u0664\u0667\u0660123456", "+32470１23456", "+32470123456\t"],
    "email": ["a@example.org", "A@example.org", "a@exаmple.org", "a @example.org", "a@b"],
}


@pytest.mark.parametrize("column", NEAR_CANONICAL)
def test_a_column_proved_canonical_in_arrow_is_one_python_keeps_as_it_is(
    tmp_path: Path, column: str
) -> None:
    """The batch thread proves with RE2 that a column needs no normalising; the proof
    may only be missing where Python would agree, never given where it would not."""
    values = NEAR_CANONICAL[column]
    canonical_only = tmp_path / "canonical.csv"
    canonical_only.write_text(lines({column: values[0]}, {}), encoding="utf-8")
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(lines(*({column: value} for value in values)), encoding="utf-8")
    assert batch_proofs(canonical_only) == [{"email", "phone"}]
    assert batch_proofs(mixed) == [{"email", "phone"} - {column}]
    assert_alike(mixed, arrow=True)
    for value in values[1:]:  # each alone: never proved, and read as the csv module reads it
        one = tmp_path / "one.csv"
        one.write_text(lines({column: value}), encoding="utf-8")
        assert batch_proofs(one) == [{"email", "phone"} - {column}]
        assert_alike(one, arrow=True)


def batch_proofs(path: Path) -> list[set[str]]:
    country = geo.load_geography("BE")
    with open_table(path, "") as table:
        validator = _validator(table, _positions(table), country)
        layout = arrowcsv.Layout(
            table.delimiter, len(table.header), _positions(table), validator.canonical_patterns()
        )
        return [set(batch.canonical) for batch in arrowcsv.read_batches(path, layout)]


def test_leaving_the_batches_early_ends_their_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arrowcsv, "BLOCK_BYTES", 4096)
    path = tmp_path / "supporters.csv"
    path.write_text(lines(*({} for _ in range(2000))), encoding="utf-8")
    layout = arrowcsv.Layout(",", len(COLUMNS) - 1, list(range(len(COLUMNS) - 1)))
    batches = arrowcsv.read_batches(path, layout)
    first = next(iter(batches))
    assert first.first == 0 and any(t.name == "arrow-batches" for t in threading.enumerate())
    batches.close()  # type: ignore[attr-defined]  # the reader stops after one batch
    names = [t.name for t in threading.enumerate()]
    assert not any(name.startswith(("arrow-batches", "arrow-scan")) for name in names)


@pytest.mark.parametrize("seed", range(12))
def test_values_carried_from_batch_to_batch_read_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """A column's distinct values are carried across batches (`_Vocabulary`), forgotten
    past a size, or handed over as they are when few: the file reads as the csv module
    reads it whichever way each batch went."""
    rng = random.Random(seed)
    monkeypatch.setattr(arrowcsv, "BLOCK_BYTES", 4096)  # a batch every 30 records or so
    monkeypatch.setattr(arrowcsv, "FEW_VALUES", rng.choice([0, 2, 4]))
    monkeypatch.setattr(arrowcsv, "VOCABULARY_MAX", rng.choice([1, 4, 1 << 15]))
    records = [",".join(COLUMNS[:-1])]
    for number in range(600):
        row = {"id": f"S{number}" if rng.random() < 0.97 else f"S{number // 2}"}
        row |= {c: rng.choice(CHOICES[c]) for c in CHOICES if c != "area" and rng.random() < 0.4}
        records.append(",".join(_cell({**VALID, **row}.get(c, ""), ",", rng) for c in COLUMNS[:-1]))
    path = tmp_path / "supporters.csv"
    path.write_text("\n".join(records) + "\n", encoding="utf-8")
    assert_alike(path, arrow=True)


def test_a_vocabulary_keeps_each_value_and_its_code_from_batch_to_batch() -> None:
    vocabulary = arrowcsv._Vocabulary()
    first = vocabulary.encode(pa.array(["b", "a", "b"]).dictionary_encode())
    second = vocabulary.encode(pa.array(["c", "a", "a"]).dictionary_encode())
    assert list(first) == ["b", "a", "b"] and list(second) == ["c", "a", "a"]
    assert list(second.indices) == [2, 1, 1]  # "a" keeps its code, "c" comes after "b"
    assert second[1] is first[1]  # the same string: the validator's memo finds it at once
    assert first.values == ["b", "a"]  # the list handed out with a batch is never grown


def test_an_encoded_column_expands_to_the_very_objects_validated() -> None:
    tags = ("a", "b")
    column = Encoded(["a,b", ""], np.array([0, 1, 0], dtype=np.int32))
    expanded = column.expand([tags, ()])
    assert expanded == [tags, (), tags] and expanded[0] is tags and expanded[2] is tags
    assert column.rows_in([0]) == [0, 2] and column.rows_in([1]) == [1]


@pytest.mark.parametrize(
    ("ids", "proved"),
    [
        (["S1", "S2", "a-9"], True),
        (["S1", "S2", "S1"], False),  # a duplicate: the rows are compared after the batches
        (["S1", "S2", " S1"], False),  # stripped, " S1" is S1: only trimmed ids prove
        (["S1", "S2-"], False),
        (["S1", ""], False),
    ],
)
def test_distinct_ids_are_proved_for_the_whole_file_only_when_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ids: list[str], proved: bool
) -> None:
    monkeypatch.setattr(arrowcsv, "BLOCK_BYTES", 4096)  # the ids over several batches
    rows = [{"id": f"T{i}"} for i in range(200)] + [{"id": value} for value in ids]
    path = tmp_path / "supporters.csv"
    path.write_text(lines(*rows), encoding="utf-8")
    with open_table(path, "") as table:
        layout = arrowcsv.Layout(table.delimiter, len(table.header), _positions(table))
    distinct = arrowcsv.DistinctIds()
    assert len(list(arrowcsv.read_batches(path, layout, distinct))) > 3
    assert distinct.proved is proved
    assert_alike(path, arrow=True)
