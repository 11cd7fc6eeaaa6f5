"""Per-nation exports: consent, ledger, segments, dialer profiles and shared tags."""

from __future__ import annotations

import csv
import io
import random

import pytest

from provisioner.supporters import (
    DIALERS,
    SEGMENTS,
    Ledger,
    Supporter,
    SupporterConfigError,
    build_index,
    read_ledger,
    read_supporters,
    render_exports,
    segment,
)
from provisioner.supporters.generate import generate

ALL_SEGMENTS, ALL_DIALERS = list(SEGMENTS), list(DIALERS)
NO_LEDGER = Ledger()


def person(sid: str, level: str = "supporter", **fields: object) -> Supporter:
    values: dict[str, object] = dict(
        id=sid, first_name="Ann", last_name="Peeters", phone="+32470000001",
        email=f"{sid.lower()}@example.org", postcode="9000", language="nl", level=level,
        tags=(), created_at="2023-05-01",
    )  # fmt: skip
    for channel in ("email", "phone", "sms"):  # consent given unless a test says otherwise
        values.update({f"{channel}_consent": True, f"{channel}_consent_date": "2024-01-01",
                       f"{channel}_consent_source": "web"})  # fmt: skip
    values.update(fields)
    return Supporter(**values)  # type: ignore[arg-type]


def table(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def ids_in(exports, name: str) -> set[str]:
    column = {"callhub": "external_id", "spoke": "external_id", "thrutalk": "unique_id"}.get(
        name, "id"
    )
    return {row[column] for row in table(exports.files[f"{name}.csv"])}


def render(rows, ledger=NO_LEDGER, tags=()):
    return render_exports("gent", list(tags), ALL_SEGMENTS, ALL_DIALERS, rows, ledger)


def test_ledger_entries_never_appear_in_any_export(tmp_path):
    postcodes = [("4000", "fr"), ("4020", "fr"), ("9000", "nl"), ("9030", "nl")]
    generate(tmp_path, postcodes, count=4000, seed=11)
    rows = read_supporters(tmp_path / "supporters.csv").rows
    ledger = read_ledger(tmp_path / "do-not-contact.csv")
    parents = {"hq": None, "liege": "hq", "gent": "hq"}
    owners = {"liege": ["4000", "4020"], "gent": ["9000", "9030"]}
    segmentation = segment(rows, build_index(owners, parents))
    blocked = [row for row in rows if ledger.blocks(row)]
    assert len(blocked) > 20  # the sample does contain people on the ledger

    for slug in parents:
        exports = render_exports(slug, ["t"], ALL_SEGMENTS, ALL_DIALERS,
                                 segmentation.rows(slug), ledger)  # fmt: skip
        for name, data in exports.files.items():
            text = data.decode()
            leaked = [c for c in (*ledger.phones, *ledger.emails) if c in text]
            assert not leaked, (slug, name, leaked[:3])
        assert exports.counts["do_not_contact"] == sum(map(ledger.blocks, segmentation.rows(slug)))


def test_phone_and_sms_exports_need_consent_and_a_number_off_the_ledger():
    rows = [
        person("A"),
        person("B", phone_consent=False),  # texts only
        person("C", phone="+3292233445"),  # landline: calls, never texts
        person("D", sms_consent=False, phone_consent=False),
        person("E", phone="+32470999999"),  # on the ledger
        person("F", phone=""),
    ]
    exports = render(rows, Ledger(phones=frozenset({"+32470999999"})))

    assert ids_in(exports, "callhub") == ids_in(exports, "thrutalk") == {"A", "C"}
    assert ids_in(exports, "spoke") == {"A", "B"}
    assert ids_in(exports, "to_call") == {"A", "C"}
    phones = {row["id"]: row["phone"] for row in table(exports.files["supporters.csv"])}
    assert phones == {"A": "+32470000001", "B": "+32470000001", "C": "+3292233445",
                      "D": "", "E": "", "F": ""}  # fmt: skip
    assert exports.counts["callhub"] == 2 and exports.counts["spoke"] == 2


def test_email_lists_need_email_consent_and_an_address_off_the_ledger():
    rows = [
        person("A", "volunteer"),
        person("B", "volunteer", email_consent=False),
        person("C", "volunteer", email="c@example.org"),
        person("D", "volunteer", email=""),
    ]
    exports = render(rows, Ledger(emails=frozenset({"c@example.org"})))

    assert ids_in(exports, "volunteers") == {"A"}
    emails = {row["id"]: row["email"] for row in table(exports.files["supporters.csv"])}
    assert emails == {"A": "a@example.org", "B": "", "C": "", "D": ""}
    callhub = {row["external_id"]: row["email"] for row in table(exports.files["callhub.csv"])}
    assert callhub == {"A": "a@example.org", "B": "", "C": "", "D": ""}


@pytest.mark.parametrize(
    ("level", "tags", "expected"),
    [
        ("subscriber", (), {"to_call"}),
        ("supporter", ("volunteer",), {"to_call", "volunteers"}),
        ("pledge", (), {"pledges"}),
        ("volunteer", (), {"pledges", "volunteers"}),
        ("member", (), {"pledges", "members"}),
        ("donor", (), {"pledges", "members"}),
    ],
)
def test_segment_definitions(level, tags, expected):
    exports = render([person("A", level, tags=tags)])
    assert {name for name in SEGMENTS if exports.counts[name]} == expected


def test_every_row_carries_its_tags_then_the_nation_s_shared_tags():
    nation_tags = ["elections-2026", "province:oost-vlaanderen", "region:vlaanderen"]
    exports = render([person("A", tags=("volunteer", "elections-2026"))], tags=nation_tags)

    expected = "volunteer,elections-2026,province:oost-vlaanderen,region:vlaanderen"
    for name in ("supporters", "volunteers", "to_call", "callhub"):
        assert table(exports.files[f"{name}.csv"])[0]["tags"] == expected, name


def test_dialer_profiles_use_each_tool_s_columns():
    exports = render([person("A")])

    assert table(exports.files["callhub.csv"]) == [
        {"contact": "+32470000001", "mobile": "+32470000001", "last_name": "Peeters",
         "first_name": "Ann", "email": "a@example.org", "country_code": "BE", "tags": "",
         "external_id": "A", "postcode": "9000", "language": "nl", "level": "supporter"}
    ]  # fmt: skip
    assert table(exports.files["spoke.csv"]) == [
        {"firstName": "Ann", "lastName": "Peeters", "cell": "+32470000001", "zip": "9000",
         "external_id": "A", "language": "nl"}
    ]  # fmt: skip
    assert list(table(exports.files["thrutalk.csv"])[0])[:4] == [
        "unique_id", "first_name", "last_name", "phone_number"
    ]  # fmt: skip


def test_exports_are_sorted_by_id_and_byte_identical_whatever_the_input_order():
    rows = [person(f"S{n:03d}", random.Random(n).choice(["pledge", "supporter"]))
            for n in range(50)]  # fmt: skip
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)

    assert render(shuffled).files == render(rows).files
    assert [row["id"] for row in table(render(shuffled).files["supporters.csv"])] == [
        row.id for row in rows
    ]


def test_a_nation_s_supporters_csv_reads_back_as_a_central_export(tmp_path):
    rows = [person("A", tags=("volunteer",)), person("B", email_consent=False, phone="")]
    path = tmp_path / "supporters.csv"
    path.write_bytes(render(rows, tags=["t"]).files["supporters.csv"])

    ingestion = read_supporters(path)

    assert ingestion.quarantined == []
    assert [(r.id, r.tags, r.email) for r in ingestion.rows] == [
        ("A", ("volunteer", "t"), "a@example.org"),
        ("B", ("t",), ""),
    ]


def test_unknown_segment_or_dialer_names_the_nation_and_the_known_ones():
    with pytest.raises(SupporterConfigError, match="nation 'gent': unknown segment 'vips'"):
        render_exports("gent", [], ["vips"], [], [], Ledger())
    with pytest.raises(SupporterConfigError, match="known dialers: callhub, spoke, thrutalk"):
        render_exports("gent", [], [], ["phonebank"], [], Ledger())
