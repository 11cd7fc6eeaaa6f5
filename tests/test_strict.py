"""Strict everywhere: whatever filter or container carries a typo, it never reaches a page.

Each payload sits on line 3 of liege's override and misspells `nation.name` as
`nation.nmae` (or asks an attribute of that name), the way a candidate would. `check`
must name the file and line, and a deploy must fail liege alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import build_file_tree, mini_blueprints, nation, write_spec

from provisioner.candidates.check import check_nation
from provisioner.run.deploy import Project, deploy
from provisioner.run.engine import Options

HOME = "nations/liege/overrides/pages/home.html.j2"
TWO = "[nation, nation]"

# Each yields an undefined value somewhere other than a plain `{{ nation.nmae }}`.
PAYLOADS = [
    f"{{{{ {TWO}|map(attribute='nmae')|list }}}}",
    "{{ [nation.nmae] }}",
    "{{ {'name': nation.nmae} }}",
    "{{ (nation.nmae, 1) }}",
    "{{ nation.nmae|pprint }}",
    "{{ '%r'|format(nation.nmae) }}",
    "{{ '{!r}'.format(nation.nmae) }}",
    "{% for key, value in nation.nmae|items %}{{ key }}{% endfor %}",
    "<p{{ {'class': nation.nmae}|xmlattr }}>x</p>",
    f"{{{{ {TWO}|map(attribute='nmae')|unique|list }}}}",
    f"{{{{ {TWO}|sort(attribute='nmae')|first }}}}",
    f"{{{{ {TWO}|groupby('nmae')|list }}}}",
    f"{{{{ {TWO}|sum(attribute='nmae') }}}}",
    f"{{{{ {TWO}|selectattr('nmae')|list }}}}",
    f"{{{{ {TWO}|max(attribute='nmae') }}}}",
    f"{{{{ {TWO}|map(attribute='nmae')|join(', ') }}}}",
    f"{{{{ {TWO}|map(attribute='nmae')|map('upper')|list }}}}",
    "{{ [1, 2]|batch(3, nation.nmae)|list }}",
    "{{ nation.nmae|default(nation.nmea) }}",
    "{{ nation.nmae|int }}",
    "{{ nation.nmae|string }}",
    "{{ []|first }}",
    "{{ [nation.nmae]|tojson }}",
    "{% set found = namespace(value=nation.nmae) %}{{ found.value }}",
]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    mini_blueprints(tmp_path)
    nations = [nation("hq"), nation("liege", "hq"), nation("other", "hq")]
    return Project(spec=write_spec(tmp_path, nations), out=tmp_path / "build")


def override(project: Project, payload: str) -> None:
    text = "{% block intro %}\n<p>mine</p>\n" + payload + "\n{% endblock %}\n"
    build_file_tree(project.root, {HOME: text})


@pytest.mark.parametrize("payload", PAYLOADS)
def test_check_names_the_file_and_line_of_an_undefined_value(
    project: Project, payload: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project.root)
    override(project, payload)
    problems = check_nation(project, "liege")
    assert [(p.file, p.line) for p in problems] == [(HOME, 3)], [str(p) for p in problems]
    assert "undefined" in problems[0].message


@pytest.mark.parametrize(
    "payload",
    [
        "{{ nation.name|default('x') }}",
        "{{ nation.nmae|default('Horizon') }}",
        "{% if nation.nmae is defined %}{{ nation.nmae }}{% endif %}",
        "{{ [nation]|map(attribute='nmae', default='?')|list }}",
        "{% for key, value in {'a': 1}|items %}{{ key }}={{ value }}{% endfor %}",
        "<p{{ {'class': 'intro', 'id': none}|xmlattr }}>x</p>",
        "{{ [nation.name]|list }}",
    ],
)
def test_intended_fallbacks_still_render(project: Project, payload: str) -> None:
    override(project, payload)
    assert check_nation(project, "liege") == []


@pytest.mark.parametrize("payload", [PAYLOADS[0], PAYLOADS[7], PAYLOADS[8]])
def test_deploy_fails_only_the_nation_with_the_undefined_value(
    project: Project, payload: str
) -> None:
    override(project, payload)
    report = deploy(project, Options(retries=0))
    status = {n["slug"]: n["status"] for n in report["nations"]}
    assert status == {"hq": "deployed", "liege": "failed", "other": "deployed"}
    error = next(n["error"] for n in report["nations"] if n["slug"] == "liege")
    assert "overrides/pages/home.html.j2:3" in str(error)
    assert not (project.out / "sites" / "liege").exists()
    for page in (project.out / "sites").rglob("*.html"):
        assert "Undefined" not in page.read_text()
