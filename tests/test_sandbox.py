"""Candidate templates are sandboxed: escape attempts fail with file:line, alone.

Each payload is a known server-side template injection. `check` must report it at its
file and line, and a deploy must fail that nation only while the others are published.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from helpers import build_file_tree, mini_blueprints, nation, write_spec

from provisioner.candidates.check import check_nation
from provisioner.run.deploy import Project, deploy, load, make_builder
from provisioner.run.engine import Options
from provisioner.supporters.generate import generate

HOME = "nations/liege/overrides/pages/home.html.j2"
FORBIDDEN = "forbidden in templates"
OTHER = "a nation may only use its own templates and the blueprint's"

# (id, line 3 of liege's override, what the problem says)
PAYLOADS = [
    ("class-mro", "{{ ''.__class__.__mro__ }}", FORBIDDEN),
    ("subclasses", "{{ ''.__class__.__mro__[1].__subclasses__() }}", FORBIDDEN),
    ("cycler-globals", "{{ cycler.__init__.__globals__ }}", FORBIDDEN),
    ("lipsum-globals", "{{ lipsum.__globals__.os }}", FORBIDDEN),
    ("joiner", "{{ joiner().__call__ }}", FORBIDDEN),
    ("lipsum-bare", "{{ lipsum(1) }}", "'lipsum' is not available"),
    ("template-reference", "{{ self._TemplateReference__context }}", FORBIDDEN),
    ("self-dict", "{{ self.__dict__ }}", FORBIDDEN),
    ("range-self", "{{ range.__self__ }}", FORBIDDEN),
    ("namespace-init", "{{ namespace.__init__.__globals__ }}", FORBIDDEN),
    ("request-globals", "{{ request.application.__globals__.__builtins__ }}", FORBIDDEN),
    ("dict-mro", "{{ dict.mro() }}", FORBIDDEN),
    ("attr-filter", "{{ ''|attr('__class__') }}", "|attr filter is not allowed"),
    ("attr-built-name", "{{ nation|attr('_' ~ '_class__') }}", "|attr filter is not allowed"),
    ("getitem", "{{ ''['__class__'] }}", FORBIDDEN),
    ("map-attribute", "{{ [nation]|map(attribute='__class__')|list }}", FORBIDDEN),
    ("format-string", "{{ '{0.__class__}'.format(nation) }}", FORBIDDEN),
    ("mutate-context", "{{ nation.update({'name': 'pwned'}) }}", FORBIDDEN),
    ("dead-branch", "{% if false %}{{ ''.__class__ }}{% endif %}", FORBIDDEN),
    ("include-dotdot", "{% include '../other/overrides/pages/home.html.j2' %}", OTHER),
    ("include-other", "{% include '@nation/other/pages/home.html.j2' %}", OTHER),
    ("import-other", "{% import '@nation/other/pages/home.html.j2' as theirs %}", OTHER),
    ("include-absolute", "{% include '/etc/passwd' %}", OTHER),
    ("include-spec", "{% include '@blueprint/../../nations.yaml' %}", OTHER),
    ("extends-nested", "{% extends '@nation/other/pages/home.html.j2' %}", "extend"),
    ("huge-string", "{{ 'x' * 1000000000 }}", "repeated value is too long"),
    ("huge-range", "{{ range(10**9)|list }}", "Range too big"),
    ("self-include", "{% include 'pages/home.html.j2' %}", "recursion"),
    ("supporters", "{{ supporters }}", "undefined"),
]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    mini_blueprints(tmp_path)
    build_file_tree(tmp_path, {"nations/other/overrides/pages/home.html.j2": OTHER_OVERRIDE})
    nations = [nation("hq"), nation("liege", "hq"), nation("other", "hq")]
    return Project(spec=write_spec(tmp_path, nations), out=tmp_path / "build")


OTHER_OVERRIDE = "{% block intro %}<p>other's private draft</p>{% endblock %}"


def override(project: Project, payload: str) -> None:
    text = "{% block intro %}\n<p>mine</p>\n" + payload + "\n{% endblock %}\n"
    build_file_tree(project.root, {HOME: text})


@pytest.mark.parametrize(
    ("payload", "says"), [p[1:] for p in PAYLOADS], ids=[p[0] for p in PAYLOADS]
)
def test_check_reports_payload_at_its_file_and_line(
    project: Project, payload: str, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project.root)
    override(project, payload)
    problems = check_nation(project, "liege")
    at_line = [p for p in problems if p.file == HOME and p.line == 3]
    assert at_line, [str(p) for p in problems]
    assert any(says in p.message for p in at_line), [str(p) for p in at_line]
    assert "other's private draft" not in " ".join(str(p) for p in problems)


def test_the_same_override_without_payload_passes(project: Project) -> None:
    override(project, "<p>{{ nation.name }}</p>")
    assert check_nation(project, "liege") == []


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{% include '../other/overrides/pages/home.html.j2' %}",
        "{{ ''|attr('__class__') }}",
    ],
)
def test_deploy_fails_only_the_nation_with_the_payload(project: Project, payload: str) -> None:
    override(project, payload)
    report = deploy(project, Options(retries=0))
    status = {n["slug"]: n["status"] for n in report["nations"]}
    assert status == {"hq": "deployed", "liege": "failed", "other": "deployed"}
    error = next(n["error"] for n in report["nations"] if n["slug"] == "liege")
    assert "overrides/pages/home.html.j2:3" in str(error)
    assert not (project.out / "sites" / "liege").exists()
    other = (project.out / "sites" / "other" / "fr" / "index.html").read_text()
    assert "other's private draft" in other


def test_an_override_linked_to_another_nation_is_refused(project: Project) -> None:
    target = project.root / "nations/other/overrides/pages/home.html.j2"
    link = project.root / HOME
    link.parent.mkdir(parents=True)
    os.symlink(target, link)
    problems = [str(p) for p in check_nation(project, "liege")]
    assert any("symbolic links are not allowed" in p for p in problems), problems
    report = deploy(project, Options(retries=0))
    status = {n["slug"]: n["status"] for n in report["nations"]}
    assert status == {"hq": "deployed", "liege": "failed", "other": "deployed"}
    assert "links out of the nation's folder" in str(report["nations"][1]["error"])


def test_template_contexts_hold_no_supporter_data(project: Project) -> None:
    # Supporters loaded, as in a deploy: no value of theirs reaches any planned context.
    generate(project.root / "data", [("4000", "fr")], count=30)
    project.supporters = project.root / "data" / "supporters.csv"
    write_spec(project.root, [nation("hq", geo={"postcodes": ["4000"]}), nation("liege", "hq")])
    network = load(project)
    builder = make_builder(project, network)
    builder.prepare()
    with (project.root / "data" / "supporters.csv").open(encoding="utf-8") as handle:
        supporters = list(csv.DictReader(handle))
    secrets = {row[key] for row in supporters for key in ("email", "phone") if row.get(key)}
    assert len(secrets) > 30
    assert builder.private_files(network.nations["hq"])[1]["supporters"] == 30  # loaded
    for planned in network:
        plan = builder.render_plan(planned)
        for output in plan.templated():
            seen = json.dumps(output.context, default=repr, ensure_ascii=False)
            assert not {secret for secret in secrets if secret in seen}, output.path
            if "recipient" in output.context:  # placeholders, filled in by the mailer
                assert all(
                    value == "{{" + name + "}}"
                    for name, value in output.context["recipient"].items()
                )
