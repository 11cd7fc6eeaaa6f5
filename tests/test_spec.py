"""The spec loader: resolution rules, and one test per class of validation error."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import mini_blueprints, nation, write_spec, write_text_spec

from provisioner.errors import SpecError
from provisioner.spec.load import load_network


@pytest.fixture
def root(tmp_path: Path) -> Path:
    mini_blueprints(tmp_path)
    return tmp_path


def problems(root: Path, nations: list, **top) -> list[str]:
    spec = write_spec(root, nations, **top)
    with pytest.raises(SpecError) as caught:
        load_network(spec)
    return [str(p) for p in caught.value.problems]


def test_resolves_inheritance_tags_and_coverage(root: Path) -> None:
    spec = write_spec(
        root,
        [
            nation("hq", tags=["national"]),
            nation("liege", "hq", geo={"municipality": "Liège", "postcodes": ["4000"]}),
            nation("namur", "hq", geo={"postcodes": ["5000"]}, languages=["nl"]),
        ],
    )
    network = load_network(spec)
    liege = network.nations["liege"]
    assert liege.languages == ("fr",)  # inherited from hq
    assert liege.contact.email == "hq@horizon.example"
    assert "municipality:liege" in liege.tags and "postcode:4000" in liege.tags
    assert liege.inherited_tags == ("national",)
    assert network.nations["namur"].languages == ("nl",)
    assert network.nations["hq"].coverage == ("4000", "5000")
    assert network.nations["hq"].children == ("liege", "namur")
    assert liege.domain == "liege.horizon.example"


def test_defaults_per_blueprint_are_merged_under_the_nation(root: Path) -> None:
    spec = write_spec(
        root,
        [nation("hq"), nation("liege", "hq", content={"slogan": "own"})],
        defaults={"section": {"tags": ["section"], "content": {"slogan": "default", "bio": "b"}}},
    )
    liege = load_network(spec).nations["liege"]
    assert liege.content.slogan == "own" and liege.content.bio == "b"
    assert "section" in liege.tags


def test_duplicate_slug_names_the_slug_and_both_lines(root: Path) -> None:
    spec = write_text_spec(
        root,
        """\
        network:
          {name: H, base_domain: h.example, controller: {name: C, address: A, email: e@h.example}}
        nations:
          - {slug: hq, name: HQ, blueprint: section, languages: [fr], contact: {email: a@h.example}}
          - {slug: liege, name: Liège, blueprint: section, parent: hq}
          - {slug: liege, name: Liège bis, blueprint: section, parent: hq}
        """,
    )
    with pytest.raises(SpecError) as caught:
        load_network(spec)
    message = str(caught.value)
    assert (
        "nations.yaml:6: nations.2.slug: duplicate slug 'liege' (first defined at line 5)"
        in message
    )


def test_unknown_key_is_an_error_with_its_line(root: Path) -> None:
    found = problems(root, [nation("hq", colour="red")])
    assert any("nations.0.colour: unknown key 'colour'" in p for p in found)


def test_every_problem_is_reported_at_once(root: Path) -> None:
    found = problems(root, [nation("hq"), nation("Bad Slug", "hq"), nation("x", "nowhere")])
    assert any("invalid slug 'Bad Slug'" in p for p in found)
    assert any("unknown parent 'nowhere'" in p for p in found)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (nation("x", "hq", domain="www.hq.example"), "duplicate domain 'www.hq.example'"),
        (nation("x", "hq", domain="Not A Domain"), "invalid domain 'Not A Domain'"),
        (nation("x", "hq", languages=["es"]), "i18n/es.yaml: missing (fr.yaml"),
        (nation("x", "hq", languages=["fr_BE"]), "nations.1.languages.0: invalid language 'fr_BE'"),
        (
            nation("x", "hq", geo={"postcodes": ["0999"]}),
            "nations.1.geo.postcodes.0: invalid postcode",
        ),
        (nation("x", "hq", blueprint="nope"), "nations.1.blueprint: unknown blueprint 'nope'"),
        (nation("x", "hq", tags=["Bad Tag"]), "nations.1.tags.0: invalid tag 'Bad Tag'"),
        (nation("x", "ghost"), "nations.1.parent: unknown parent 'ghost'"),
        (nation("-x-", "hq"), "nations.1.slug: invalid slug '-x-'"),
        ({"slug": "x", "blueprint": "section", "parent": "hq"}, "missing required field 'name'"),
    ],
)
def test_each_error_class_names_its_place(root: Path, entry: dict, expected: str) -> None:
    found = problems(root, [nation("hq", domain="www.hq.example"), entry])
    assert any(expected in p and "nations.yaml:" in p for p in found), found


def test_cycle_in_parents(root: Path) -> None:
    found = problems(root, [nation("hq"), nation("a", "b"), nation("b", "a")])
    assert any("cycle in parents: a -> b -> a" in p for p in found)


def test_field_required_by_the_blueprint(root: Path) -> None:
    found = problems(
        root, [{"slug": "hq", "name": "HQ", "blueprint": "section", "languages": ["fr"]}]
    )
    assert any("missing 'contact.email', required by blueprint 'section'" in p for p in found)


def test_postcode_shared_by_unrelated_nations(root: Path) -> None:
    geo = {"postcodes": ["4000"]}
    found = problems(root, [nation("hq"), nation("a", "hq", geo=geo), nation("b", "hq", geo=geo)])
    assert any("postcode 4000 is also covered by unrelated nation 'a'" in p for p in found)


def test_no_languages_anywhere(root: Path) -> None:
    found = problems(root, [{**nation("hq"), "languages": None}])
    assert any("no languages" in p for p in found)


def test_yaml_syntax_error_has_a_line(root: Path) -> None:
    spec = write_text_spec(root, "network: {name: x\nnations: [\n")
    with pytest.raises(SpecError) as caught:
        load_network(spec)
    assert "nations.yaml:" in str(caught.value) and "invalid YAML" in str(caught.value)


def test_duplicate_yaml_key(root: Path) -> None:
    spec = write_text_spec(root, "version: 1\nversion: 1\nnetwork: {}\nnations: []\n")
    with pytest.raises(SpecError, match=r"nations\.yaml:2: version: duplicate key 'version'"):
        load_network(spec)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="file not found"):
        load_network(tmp_path / "absent.yaml")
