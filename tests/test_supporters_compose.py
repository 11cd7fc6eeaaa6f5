"""Each supporter encoded once: every nation's lists are composed of the same lines.

The composed files are held, byte for byte, to the writer that encoded every row again
for every list (tests/supporters_reference.py), on rows built to break a CSV: formula
signs, quotes, commas, newlines and carriage returns, full-width signs, non-E.164 phones.
"""

from __future__ import annotations

import csv
import io
import random
import re
from pathlib import Path

import pytest
from helpers import copy_sample_network
from supporters_reference import reference_exports

from provisioner.csvsafe import csv_bytes, encode_column, neutralise
from provisioner.render.blueprints import Catalog
from provisioner.spec.load import load_network
from provisioner.supporters import (
    DIALERS,
    LEVELS,
    SEGMENTS,
    Ledger,
    Supporter,
    SupporterConfigError,
    build_index,
    render_exports,
    segment,
)
from provisioner.supporters.audience import Audience
from provisioner.supporters.encoded import NetworkLists
from provisioner.supporters.erasure import append_erasure
from provisioner.supporters.generate import generate
from provisioner.supporters.normalize import is_mobile_number, mobile_flags

ALL_SEGMENTS, ALL_DIALERS = list(SEGMENTS), list(DIALERS)
PARENTS = {"hq": None, "region": "hq", "sec-a": "region", "cand": "sec-a", "sec-b": "region"}
OWNERS = {"region": ["5000"], "sec-a": ["1000", "1020"], "cand": ["1000"], "sec-b": ["4000"]}
SHARED = {
    "hq": ["elections"],
    "region": ["region:x", "elections"],
    "sec-a": ["jeunes", "region:x", "elections"],
    "cand": ["=HYPERLINK(1)", "jeunes", "region:x", "elections"],
    "sec-b": ["region:x", "elections"],
}
ODD = ["=cmd|' /C calc'!A0", 'Jean "Jo"', "O'Neil, Jr", "\uff1dSUM(1)", "  +1", "@x", "-2",
       "Zoë\r", "two\nlines", "", "\t=1", "Élodie", "_under", "ok"]  # fmt: skip
PHONES = ["+32470000{:03d}", "+3222000{:03d}", "+33612345{:03d}", "+1415555{:04d}", "0470{:06d}"]
TAGS = [(), ("volunteer",), ("event-2025", "jeunes"), ("=bad",), ("cr\rtag",), ("elections",)]


def hostile_rows(count: int, seed: int) -> list[Supporter]:
    pick = random.Random(seed)
    rows = []
    for i in pick.sample(range(count * 3), count):
        odd = pick.random() < 0.2
        fields: dict[str, object] = dict(
            id=pick.choice(ODD) + str(i) if pick.random() < 0.05 else f"S{i:06d}",
            first_name=pick.choice(ODD) if odd else pick.choice(["Ann", "Jan", "Zoë"]),
            last_name=pick.choice(ODD) if odd else "Peeters",
            phone=pick.choice(PHONES).format(i) if pick.random() < 0.9 else "",
            email=f"p{i}@example.org" if pick.random() < 0.9 else ('"q,x"@e.org' if odd else ""),
            postcode=pick.choice(["1000", "1020", "4000", "5000", "9999"]),
            language=pick.choice(["fr", "nl"]), level=pick.choice(LEVELS), tags=pick.choice(TAGS),
            created_at="2023-05-01", area=pick.choice(ODD) if odd else "",
        )  # fmt: skip
        for channel in ("email", "phone", "sms"):
            given = pick.random() < 0.7
            fields[f"{channel}_consent"] = given
            fields[f"{channel}_consent_date"] = "2024-01-01" if given else ""
            fields[f"{channel}_consent_source"] = pick.choice(["web", "=src", "door,to,door", ""])
        rows.append(Supporter(**fields))  # type: ignore[arg-type]
    return rows


def network_lists(rows: list[Supporter], ledger: Ledger):
    segmentation = segment(rows, build_index(OWNERS, PARENTS))
    return segmentation, NetworkLists(segmentation, ledger)


def ledger_of(rows: list[Supporter], share: int) -> Ledger:
    return Ledger(
        phones=frozenset(r.phone for r in rows[::share] if r.phone),
        emails=frozenset(r.email for r in rows[1::share] if r.email),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_nations_files_are_the_bytes_of_the_per_nation_writer(seed):
    rows = hostile_rows(1500, seed)
    ledger = ledger_of(rows, 7)
    segmentation, lists = network_lists(rows, ledger)
    for slug in PARENTS:
        exports = lists.exports(slug, SHARED[slug], ALL_SEGMENTS, ALL_DIALERS)
        files, counts = reference_exports(
            SHARED[slug], ALL_SEGMENTS, ALL_DIALERS, segmentation.rows(slug), ledger
        )
        assert list(exports.files) == list(files), slug
        for name, data in files.items():
            assert exports.files[name] == data, (slug, name)
        assert exports.counts == counts, slug


def test_a_shared_tag_with_a_carriage_return_quotes_every_line_with_a_tags_cell():
    rows = hostile_rows(600, 8)
    ledger = ledger_of(rows, 5)
    tags = ["line\rbreak", "elections"]  # the spec refuses it; the writer must cope
    exports = render_exports("x", tags, ALL_SEGMENTS, ALL_DIALERS, rows, ledger)
    files, counts = reference_exports(tags, ALL_SEGMENTS, ALL_DIALERS, rows, ledger)
    assert exports.files == files and exports.counts == counts
    _, lists = network_lists(rows, ledger)  # encoded for the spec's tags: refused
    with pytest.raises(SupporterConfigError, match="carriage return"):
        lists.exports("sec-b", tags, ALL_SEGMENTS, ALL_DIALERS)


def test_released_rows_are_refused_not_silently_empty():
    rows = hostile_rows(300, 9)
    segmentation = segment(rows, build_index(OWNERS, PARENTS))
    before = {slug: segmentation.count(slug) for slug in PARENTS}
    lists = NetworkLists(segmentation, Ledger(), release=True)
    assert {slug: segmentation.count(slug) for slug in PARENTS} == before
    with pytest.raises(RuntimeError):
        segmentation.rows("hq")
    assert lists.exports("hq", [], [], []).counts["supporters"] == before["hq"]


def test_a_nation_gets_only_the_files_its_manifest_names():
    rows = hostile_rows(200, 4)
    _, lists = network_lists(rows, Ledger())
    exports = lists.exports("cand", SHARED["cand"], ["to_call"], ["spoke"])
    assert list(exports.files) == ["supporters.csv", "to_call.csv", "spoke.csv"]


def parsed(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode())))[1:]


@pytest.mark.parametrize("name", ["supporters", "pledges", "callhub", "thrutalk"])
def test_a_parents_list_is_its_childrens_rows_and_its_own_in_id_order(name):
    rows = hostile_rows(2000, 5)
    segmentation, lists = network_lists(rows, ledger_of(rows, 11))
    id_at = {"callhub": 7, "thrutalk": 0}.get(name, 0)
    tags_at = {"supporters": 8, "pledges": 7, "callhub": 6}.get(name)
    original = {neutralise(r.id): r.id for r in rows}  # an id as written -> the id

    def lines(slug: str) -> dict[str, list[str]]:
        data = lists.exports(slug, SHARED[slug], ALL_SEGMENTS, ALL_DIALERS).files[f"{name}.csv"]
        found = parsed(data)
        ids = [original[line[id_at]] for line in found]
        assert ids == sorted(ids), slug  # id order, whatever the nation
        return {line[id_at]: [c for i, c in enumerate(line) if i != tags_at] for line in found}

    own = {"region": ["5000"], "sec-a": ["1020"], "hq": []}  # keys no child covers
    family = {"sec-a": ["cand"], "region": ["sec-a", "sec-b"], "hq": ["region"]}
    for parent, children in family.items():
        mine = lines(parent)
        expected: dict[str, list[str]] = {}
        for child in children:
            expected.update(lines(child))
        assert {i: mine.get(i) for i in expected} == expected  # the same cells, tags aside
        alone = {neutralise(r.id) for key in own[parent] for r in segmentation.buckets[key]}
        assert set(mine) - set(expected) <= alone
        if name == "supporters":
            assert set(mine) - set(expected) == alone
            assert len(mine) == len(segmentation.rows(parent))


def test_the_tags_cell_is_the_rows_tags_then_the_nations_shared_tags():
    rows = hostile_rows(300, 6)
    _, lists = network_lists(rows, Ledger())
    data = lists.exports("sec-a", SHARED["sec-a"], [], []).files["supporters.csv"]
    by_id = {r.id: r for r in rows}
    for line in parsed(data):
        row = by_id.get(line[0]) or by_id[line[0][1:]]
        assert line[8].lstrip("'") == ",".join(dict.fromkeys((*row.tags, *SHARED["sec-a"])))


def cell_as_written(value: str, phone: bool) -> str:
    header = ("phone" if phone else "name", "x")
    data = csv_bytes(header, [(value, "x")])[0].decode()
    return data.split("\n", 1)[1][: -len(",x\n")]


def test_a_column_is_encoded_as_the_safe_writer_writes_each_of_its_cells():
    pick = random.Random(7)
    alphabet = ['"', ",", "=", "+", "-", "@", " ", "\u00a0", "\uff0b", "'", "a", "7", "é", "\n"]
    values = ["".join(pick.choices(alphabet, k=pick.randint(0, 4))) for _ in range(6000)]
    values += ["+32470000001", "+3247", "0470123456", "+012345678"] * 50
    for phone in (False, True):
        assert list(encode_column(values, phone)) == [cell_as_written(v, phone) for v in values]
    plain = ["Ann", "Zoë", "9000", "", "a-b"] * 2000
    assert encode_column(plain) is plain  # a plain column is kept as it is


def test_mobile_flags_agree_with_is_mobile_number():
    phones = [p.format(i) for i in range(40) for p in PHONES] + ["", "+", "+999", "+324", "+33"]
    assert mobile_flags(phones) == [is_mobile_number(p) for p in phones]
    assert any(mobile_flags(phones)) and not all(mobile_flags(phones))


def test_a_number_is_mobile_when_a_region_of_its_country_code_says_so():
    """Each country code's mobile pattern is read from its own regions only: held to the
    patterns of every supported region (+1 and +44 span many regions, +7 two)."""
    import phonenumbers

    every: dict[str, list[str]] = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is not None and metadata.mobile and metadata.mobile.national_number_pattern:
            pattern = metadata.mobile.national_number_pattern
            every.setdefault(f"+{metadata.country_code}", []).append(f"(?:{pattern})")
    reference = {prefix: re.compile("|".join(parts)) for prefix, parts in every.items()}

    def expected(phone: str) -> bool:
        return any(
            (pattern := reference.get(phone[:length])) is not None
            and pattern.fullmatch(phone, length) is not None
            for length in (2, 3, 4)
        )

    pick = random.Random(7)
    codes = ["+1", "+44", "+7", "+32", "+33", "+49", "+352", "+590", "+800", "+999"]
    phones = [
        pick.choice(codes) + "".join(pick.choice("0123456789") for _ in range(pick.randint(0, 12)))
        for _ in range(20_000)
    ]
    phones += [p.format(i) for i in range(40) for p in PHONES]
    found = [expected(phone) for phone in phones]
    assert [is_mobile_number(phone) for phone in phones] == found
    assert mobile_flags(phones) == found
    assert 100 < sum(found) < len(phones) - 100


CHAIN = ["eline-mertens", "anderlecht", "bruxelles-capitale", "hq"]  # postcode 1070


def test_an_erased_person_vanishes_from_every_level(tmp_path: Path):
    spec = copy_sample_network(tmp_path)
    network = load_network(spec)
    catalog = Catalog(tmp_path / "blueprints")
    generate(tmp_path / "data", [("1070", "fr"), ("1050", "fr")], count=400, seed=3)
    data, erasures = tmp_path / "data", tmp_path / "data" / "erasures.csv"

    def files_of(slug: str) -> dict[str, bytes]:
        audience = Audience(network, data / "supporters.csv", data / "do-not-contact.csv", erasures)
        nation = network.nations[slug]
        return audience.private_files(nation, catalog.get(nation.blueprint))[0]

    before = {slug: files_of(slug) for slug in CHAIN}
    first = parsed(before["eline-mertens"]["supporters.csv"])
    person = next(line for line in first if line[4])  # listed with a reachable email
    for slug in CHAIN:  # listed at every level before
        assert person[0].encode() in before[slug]["supporters.csv"], slug
    append_erasure(erasures, "email", person[4])
    for slug in CHAIN:
        after = files_of(slug)
        for name, content in after.items():
            assert person[0].encode() not in content, (slug, name)
            assert person[4].encode() not in content, (slug, name)
        listed = len(parsed(before[slug]["supporters.csv"]))
        assert len(parsed(after["supporters.csv"])) == listed - 1
