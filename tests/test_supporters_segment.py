"""Segmentation by geography through the postcode index."""

from __future__ import annotations

import pytest

from provisioner.supporters import (
    SupporterConfigError,
    build_index,
    read_supporters,
    segment,
)
from provisioner.supporters.generate import generate

# hq > wallonie > liege (section) > marie (candidate, shares 4000 with liege)
#             > namur;  hq > vlaanderen (owns 8000 itself) > gent
PARENTS = {
    "hq": None,
    "wallonie": "hq",
    "liege": "wallonie",
    "marie": "liege",
    "namur": "wallonie",
    "vlaanderen": "hq",
    "gent": "vlaanderen",
}
OWNERS = {
    "liege": ["4000", "4020"],
    "marie": ["4000"],
    "namur": ["5000"],
    "vlaanderen": ["8000"],
    "gent": ["9000", "9030"],
}
LEAVES = ("marie", "namur", "gent")
UNCOVERED = "1000"


@pytest.fixture(scope="module")
def segmentation(tmp_path_factory):
    languages = {"4000": "fr", "4020": "fr", "5000": "fr", "8000": "nl", "9000": "nl"}
    postcodes = [*languages.items(), ("9030", "nl"), (UNCOVERED, "fr")]
    out = tmp_path_factory.mktemp("sample")
    generate(out, postcodes, count=3000, seed=7)
    rows = read_supporters(out / "supporters.csv").rows
    return rows, segment(rows, build_index(OWNERS, PARENTS))


def ids(rows):
    return {row.id for row in rows}


def test_index_maps_a_postcode_to_its_owner_and_every_ancestor():
    index = build_index(OWNERS, PARENTS)

    assert index.nations_for("4000") == ("marie", "liege", "wallonie", "hq")
    assert index.nations_for("4020") == ("liege", "wallonie", "hq")
    assert index.nations_for("8000") == ("vlaanderen", "hq")
    assert index.nations_for(UNCOVERED) == ()
    assert set(index.slugs) == set(PARENTS)


def test_leaf_rows_are_all_inside_the_leaf_geography(segmentation):
    _, result = segmentation
    for leaf in LEAVES:
        assert result.rows(leaf), leaf
        assert {row.postcode for row in result.rows(leaf)} <= set(OWNERS[leaf]), leaf


def test_parent_gets_the_union_of_its_children_and_its_own(segmentation):
    rows, result = segmentation
    own_8000 = {row.id for row in rows if row.postcode == "8000"}

    assert ids(result.rows("liege")) == ids(result.rows("marie")) | {
        row.id for row in rows if row.postcode == "4020"
    }
    assert ids(result.rows("wallonie")) == ids(result.rows("liege")) | ids(result.rows("namur"))
    assert ids(result.rows("vlaanderen")) == ids(result.rows("gent")) | own_8000
    assert ids(result.rows("hq")) == ids(result.rows("wallonie")) | ids(result.rows("vlaanderen"))
    assert [result.count(slug) for slug in PARENTS] == [len(result.rows(s)) for s in PARENTS]


def test_siblings_never_see_each_other_s_supporters(segmentation):
    _, result = segmentation
    assert not ids(result.rows("liege")) & ids(result.rows("namur"))
    assert not ids(result.rows("wallonie")) & ids(result.rows("vlaanderen"))


def test_uncovered_postcodes_are_counted_not_dropped_silently(segmentation):
    rows, result = segmentation
    uncovered = sum(1 for row in rows if row.postcode == UNCOVERED)

    assert uncovered > 0
    assert result.unassigned_by_postcode == {UNCOVERED: uncovered}
    assert result.total == len(rows) == len(result.rows("hq")) + result.unassigned


def test_nations_hold_references_to_rows_not_copies(segmentation):
    rows, result = segmentation
    by_id = {row.id: row for row in rows}
    assert all(row is by_id[row.id] for row in result.rows("hq"))


def test_a_postcode_claimed_by_unrelated_nations_is_refused():
    with pytest.raises(SupporterConfigError, match="postcode 5000 is claimed by both"):
        build_index({**OWNERS, "gent": ["9000", "5000"]}, PARENTS)


@pytest.mark.parametrize(
    ("parents", "message"),
    [
        ({"a": "b", "b": "a"}, "form a cycle"),
        ({"a": "nowhere"}, "unknown parent 'nowhere'"),
    ],
)
def test_a_broken_tree_is_refused(parents, message):
    with pytest.raises(SupporterConfigError, match=message):
        build_index({}, parents)
