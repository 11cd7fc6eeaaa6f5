"""nations.yaml asks its country's geography; supporters follow the finest key (issue 15)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import NETWORK, REPO, build_file_tree, mini_blueprints, nation, write_spec

from provisioner.errors import SpecError
from provisioner.geo import load_geography
from provisioner.render.blueprints import Catalog
from provisioner.render.build import Builder
from provisioner.spec.load import load_network
from provisioner.supporters import Supporter, build_index, segment

FR = {**NETWORK, "country": "FR"}


def problems(spec: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_network(spec)
    return [str(p) for p in info.value.problems]


def circo(slug: str, parent: str, code: str) -> dict:
    return nation(slug, parent, geo={"areas": [code]})


def test_a_french_network_names_areas_by_code(tmp_path: Path) -> None:
    mini_blueprints(tmp_path)
    spec = write_spec(
        tmp_path,
        [
            nation("hq", geo={"areas": ["01"]}),
            circo("c2", "hq", "01-02"),
            circo("c5", "hq", "01-05"),
        ],
        network=FR,
    )
    network = load_network(spec)
    assert network.geography is not None and network.geography.country == "FR"
    # 01500 spans communes of both circonscriptions: both cover it, which is legal.
    assert "01500" in network.nations["c2"].coverage and "01500" in network.nations["c5"].coverage
    assert "area:01-02" in network.nations["c2"].tags


@pytest.mark.parametrize(
    ("network", "entry", "expected"),
    [
        ({"country": "fr"}, nation("x", "hq"), "network.country: invalid country 'fr'"),
        ({"country": "NL"}, nation("x", "hq"), "no built-in geography for country 'NL'"),
        (
            {"country": "NL", "geography": "geo/absent.csv"},
            nation("x", "hq"),
            "network.geography:",
        ),
        (
            {"country": "FR"},
            nation("x", "hq", geo={"postcodes": ["4000"]}),
            "FR postcodes look like",
        ),
        (
            {"country": "FR"},
            nation("x", "hq", geo={"areas": ["75-001"]}),
            "nations.1.geo.areas.0: unknown area code '75-001' in FR; did you mean '75-01'",
        ),
        ({"country": "BE"}, nation("x", "hq", geo={"postcodes": ["75001"]}), "BE postcodes look"),
    ],
)
def test_each_geography_error_names_its_place(
    tmp_path: Path, network: dict, entry: dict, expected: str
) -> None:
    mini_blueprints(tmp_path)
    spec = write_spec(tmp_path, [nation("hq"), entry], network={**NETWORK, **network})
    found = problems(spec)
    assert any(expected in p and "nations.yaml:" in p for p in found), found


def test_a_postcode_in_one_area_only_cannot_be_shared(tmp_path: Path) -> None:
    mini_blueprints(tmp_path)
    geo = {"postcodes": ["75001"]}  # Paris 1er only
    spec = write_spec(
        tmp_path, [nation("hq"), nation("a", "hq", geo=geo), nation("b", "hq", geo=geo)], network=FR
    )
    found = problems(spec)
    assert any(
        "postcode 75001 is also covered by unrelated nation 'a', and FR has it in one area only"
        in p
        for p in found
    ), found


def test_an_area_inside_an_unrelated_nation_s_area_is_refused(tmp_path: Path) -> None:
    mini_blueprints(tmp_path)
    spec = write_spec(
        tmp_path, [nation("hq"), circo("dept", "hq", "75"), circo("c1", "hq", "75-01")], network=FR
    )
    found = problems(spec)
    assert any(
        "area 75-01 lies in 75, which is also claimed by unrelated nation 'dept'" in p
        for p in found
    ), found


def test_a_third_country_from_a_csv_geography_validates(tmp_path: Path) -> None:
    mini_blueprints(tmp_path)
    build_file_tree(
        tmp_path,
        {
            "geo/areas.csv": "code,name,kind,parent,postcodes\n"
            "NH,Noord-Holland,provincie,,\n0363,Amsterdam,gemeente,NH,1011 AB|1012 CD\n"
        },
    )
    network = {**NETWORK, "country": "NL", "geography": "geo/areas.csv"}
    entries = [nation("hq", geo={"areas": ["NH"]}), nation("ams", "hq", geo={"areas": ["0363"]})]
    spec = write_spec(tmp_path, entries, network=network)
    result = subprocess.run(
        [sys.executable, "-m", "provisioner", "validate", "--spec", str(spec)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid, 2 nations" in result.stdout
    bad = write_spec(tmp_path, [nation("hq", geo={"postcodes": ["1011AB"]})], network=network)
    assert any("NL postcodes look like '1011 AB'" in p for p in problems(bad))


def test_a_missing_string_names_the_file_and_the_key(tmp_path: Path) -> None:
    mini_blueprints(tmp_path)
    build_file_tree(tmp_path, {"blueprints/_base/i18n/de.yaml": "other: Hallo\n"})
    spec = write_spec(tmp_path, [nation("hq", languages=["de"])])
    found = problems(spec)
    assert any("blueprints/_base/i18n/de.yaml: missing key(s) hello" in p for p in found), found
    assert any("nations.0.languages: language 'de' of blueprint 'section'" in p for p in found)


def test_any_bcp47_language_with_strings_is_accepted(tmp_path: Path) -> None:
    mini_blueprints(tmp_path)
    build_file_tree(tmp_path, {"blueprints/_base/i18n/pt-BR.yaml": "hello: Olá\n"})
    spec = write_spec(tmp_path, [nation("hq", languages=["pt-BR", "fr"])])
    assert load_network(spec).nations["hq"].languages == ("pt-BR", "fr")


def supporter(number: int, postcode: str, area: str = "") -> Supporter:
    return Supporter(
        f"S{number}", "A", "B", "", "", postcode, "fr", "supporter", (),
        False, "", "", False, "", "", False, "", "", "2024-01-01", area,
    )  # fmt: skip


def test_a_shared_postcode_goes_to_the_common_departement_and_counts_ambiguous() -> None:
    fr = load_geography("FR")
    parents = {"hq": None, "ain": "hq", "c2": "ain", "c5": "ain"}
    areas = {"ain": ["01"], "c2": ["01-02"], "c5": ["01-05"]}
    index = build_index({}, parents, areas, fr)
    only_c2 = next(
        pc for pc in sorted(fr.postcodes_within("01-02"))
        if {fr.areas[c].parent for c in fr.areas_of_postcode[pc]} == {"01-02"}
    )  # fmt: skip
    # A commune code, when the export has one, is finer than the postcode.
    commune_in_c5 = next(c for c in fr.areas_of_postcode["01500"] if fr.areas[c].parent == "01-05")
    rows = [
        supporter(1, "01500"),
        supporter(2, "01500"),
        supporter(3, only_c2),
        supporter(4, "01500", area=commune_in_c5),
    ]
    result = segment(rows, index)
    assert result.ambiguous == 2
    assert {r.id for r in result.rows("ain")} == {"S1", "S2", "S3", "S4"}
    assert [r.id for r in result.rows("c2")] == ["S3"]  # never a sibling's shared postcode
    assert [r.id for r in result.rows("c5")] == ["S4"]


def test_the_french_sample_is_valid_and_fresh() -> None:
    spec = REPO / "examples" / "france" / "nations.yaml"
    network = load_network(spec, REPO / "blueprints")
    kinds = [n.kind for n in network]
    assert kinds.count("candidate") == 577 and kinds.count("province") == 101
    assert all(n.candidate is not None for n in network if n.kind == "candidate")
    script = REPO / "scripts" / "france_network.py"
    sys.path.insert(0, str(script.parent))
    import france_network  # the generator: the committed file must be what it writes
    from generate_network import dump

    assert spec.read_text(encoding="utf-8") == france_network.render_france(
        france_network.build_france(), dump
    ), "run: python scripts/generate_network.py --country FR"


def test_the_luxembourg_sample_renders_from_its_csv_geography() -> None:
    """A third country with no built-in provider: its geography is a CSV file, its
    authority and postcode hint are per-country strings."""
    network = load_network(REPO / "examples" / "luxembourg" / "nations.yaml", REPO / "blueprints")
    assert network.geography is not None and network.geography.country == "LU"
    assert "1330" in network.nations["luxembourg"].coverage  # from the area LUX of the CSV
    assert set(network.nations["canton-esch"].coverage) >= {"4010", "3401"}
    builder = Builder(network, Catalog(REPO / "blueprints"), REPO / "nations")
    files = builder.build(network.nations["ettelbruck"]).files["sites"]
    assert "CNPD" in files["de/datenschutz.html"].decode()
    form = files["fr/agir.html"].decode()
    assert 'pattern="[0-9]{4}"' in form and "Quatre chiffres, par exemple 2449" in form
