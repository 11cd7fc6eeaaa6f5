"""Shared SES templates: a nation's rendered email split into a skeleton and its data."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from helpers import copy_sample_network

from provisioner.render.sestemplates import _substitute, fill, split, template_name
from provisioner.run.deploy import Project, load, make_builder

# The parts of an SES template (the CreateTemplate API), spelled here: looping over the
# module's own list, a part dropped from it would no longer be checked anywhere.
PARTS = ("SubjectPart", "TextPart", "HtmlPart")

CANDIDATE = {
    "name": "Marie Dubois",
    "domain": "marie-dubois.horizon.example",
    "candidate": {"first_name": "Marie", "last_name": "Dubois"},
    "content": {"colors": {"primary": "#aa0000", "accent": None}},
}


def email(name: str, domain: str, primary: str = "#0b4f8a") -> dict[str, str]:
    return {
        "SubjectPart": f"Bienvenue chez {name}, {{{{first_name}}}} !",
        "TextPart": f"{name} vous attend: https://{domain}/fr/agir.html\n",
        "HtmlPart": f'<td style="background:{primary}">{name} &amp; co</td>',
    }


def test_two_nations_rendered_alike_share_one_skeleton_and_fill_back_exactly() -> None:
    other = {**CANDIDATE, "name": "Jan Peeters", "domain": "jan.horizon.example"}
    other["candidate"] = {"first_name": "Jan", "last_name": "Peeters"}
    first = email("Marie Dubois", CANDIDATE["domain"], "#aa0000")
    second = email("Jan Peeters", "jan.horizon.example", "#0b4f8a")
    skeleton_a, data_a = split(first, CANDIDATE)
    skeleton_b, data_b = split(second, {**other, "content": {"colors": None}})
    assert skeleton_a == skeleton_b and skeleton_a.keys() == set(PARTS)
    assert skeleton_a["TextPart"] == (
        "{{{nation_sender}}} vous attend: https://{{{nation_domain}}}/fr/agir.html\n"
    )
    assert "{{first_name}}" in skeleton_a["SubjectPart"]  # recipient fields stay for send time
    for part in PARTS:
        assert fill(skeleton_a[part], data_a) == first[part]
        assert fill(skeleton_b[part], data_b) == second[part]
    assert data_b["nation_primary"] == "#0b4f8a"  # the blueprint's default colour, as data
    names = {template_name("candidate", "welcome", "fr", s) for s in (skeleton_a, skeleton_b)}
    assert len(names) == 1 and names.pop().startswith("candidate--welcome--fr--")


def test_html_data_is_escaped_as_jinja_escaped_it() -> None:
    nation = {"name": "L'Union & Co", "domain": "union.example"}
    rendered = {
        "SubjectPart": "L'Union & Co",
        "TextPart": "L'Union & Co",
        "HtmlPart": "<b>L&#39;Union &amp; Co</b>",
    }
    skeleton, data = split(rendered, nation)
    assert skeleton["HtmlPart"] == "<b>{{{nation_sender_html}}}</b>"
    assert data == {"nation_sender": "L'Union & Co", "nation_sender_html": "L&#39;Union &amp; Co"}
    assert all(fill(skeleton[part], data) == rendered[part] for part in PARTS)


def test_a_value_inside_a_word_is_left_alone() -> None:
    nation = {"name": "Ans", "domain": "ans.example"}
    rendered = {"SubjectPart": "Ans", "TextPart": "dans Ans, Ansois", "HtmlPart": ""}
    skeleton, data = split(rendered, nation)
    assert skeleton["TextPart"] == "dans {{{nation_sender}}}, Ansois"
    assert fill(skeleton["TextPart"], data) == rendered["TextPart"]


def test_the_sample_network_needs_a_few_dozen_templates(tmp_path: Path) -> None:
    """Every email of every nation fills back exactly from its shared template."""
    project = Project(spec=copy_sample_network(tmp_path))
    network = load(project)
    builder = make_builder(project, network)
    templates: dict[str, bytes] = {}
    for nation in list(network)[::4]:  # a quarter of the network, every kind of nation
        build = builder.build(nation)
        templates.update(build.templates)
        for path, raw in build.files["emails"].items():
            if path.endswith(".json"):
                sent = json.loads(raw)
                skeleton = json.loads(build.templates[sent["Template"]])
                assert set(PARTS) <= skeleton.keys() and set(PARTS) <= sent.keys(), path
                for part in PARTS:
                    assert fill(skeleton[part], sent["TemplateData"]) == sent[part], path
    assert 16 <= len(templates) <= 50


def _substitute_by_pattern(text: str, table: dict[str, str]) -> str:
    """The substitution `split` makes, as the regular expression that defines it."""
    forms = sorted(table, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w#])(?:" + "|".join(map(re.escape, forms)) + r")(?!\w)")
    return pattern.sub(lambda match: "{{{" + table[match.group(0)] + "}}}", text)


def test_values_are_found_where_the_defining_pattern_finds_them() -> None:
    """Random texts over a small alphabet (so values overlap, repeat, nest and touch
    word characters and "#"), against the pattern the scan stands for."""
    rng = random.Random(18)
    alphabet = "ab #é_-&;"
    for _ in range(3000):
        forms = {"".join(rng.choices(alphabet, k=rng.randint(3, 6))) for _ in range(4)}
        table = {form: f"nation_{i}" for i, form in enumerate(sorted(forms))}
        pieces = [rng.choice([*forms, *rng.choices(alphabet, k=3)]) for _ in range(12)]
        text = "".join(rng.choice(["", " ", "a", "#"]) + piece for piece in pieces)
        assert _substitute(text, table) == _substitute_by_pattern(text, table), (text, table)
