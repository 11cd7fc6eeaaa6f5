"""Candidates edit their own site: scaffold, site.yaml, check, scoped changes, updates."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import build_file_tree, mini_blueprints, nation, write_spec, write_text_spec

from provisioner.candidates.check import check_nation
from provisioner.candidates.output import MAX_IMAGE_BYTES
from provisioner.candidates.scaffold import NewNation, new_nation, scaffold_folder
from provisioner.candidates.scope import scope_problems
from provisioner.errors import InputError, SpecError
from provisioner.run.deploy import Project, deploy, load, make_builder
from provisioner.run.engine import Options

REPO = Path(__file__).resolve().parents[1]
HOME = "nations/liege/overrides/pages/home.html.j2"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 40


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(root / "home"), "NO_COLOR": "1"}
    command = [sys.executable, "-m", "provisioner", *args]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def mini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """hq, liege and other on the mini section blueprint; files shown relative to root."""
    monkeypatch.chdir(tmp_path)
    mini_blueprints(tmp_path)
    nations = [nation("hq"), nation("liege", "hq"), nation("other", "hq")]
    return Project(spec=write_spec(tmp_path, nations), out=tmp_path / "build")


@pytest.fixture
def real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """The real blueprints with a one-nation spec, to add candidates to."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(REPO / "blueprints", tmp_path / "blueprints")
    spec = write_spec(tmp_path, [nation("hq", languages=["fr", "nl"], geo={"postcodes": ["4000"]})])
    return Project(spec=spec, out=tmp_path / "build")


def statuses(report: dict) -> dict[str, str]:
    return {n["slug"]: n["status"] for n in report["nations"]}


# -- scaffold ------------------------------------------------------------------------------


def test_new_nation_add_then_check_passes_then_deploy_only_publishes_it(real: Project) -> None:
    root = real.root
    made = run_cli(root, "new-nation", "sophie-lambert", "--parent", "hq", "--add")
    assert made.returncode == 0, made.stderr
    assert "created nations/sophie-lambert/" in made.stdout
    folder = root / "nations" / "sophie-lambert"
    assert {p.name for p in folder.iterdir()} == {"site.yaml", "overrides", "GUIDE.md"}
    assert not (root / "home").exists()  # no ~/.cookiecutter_replay written
    checked = run_cli(root, "check", "sophie-lambert")
    assert (checked.returncode, checked.stdout.strip()) == (0, "sophie-lambert: OK"), checked
    deployed = run_cli(root, "deploy", "--only", "sophie-lambert", "-q")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    page = (root / "build/sites/sophie-lambert/index.html").read_text()
    assert "Sophie Lambert" in page and "Un nouvel horizon / Een nieuwe horizon" in page
    assert not (root / "build/sites/hq").exists()


def test_scaffolded_override_renders_the_blueprint_unchanged(real: Project) -> None:
    new_nation(real, NewNation("sophie-lambert", parent="hq"), add=True)
    network = load(real)
    sophie = network.nations["sophie-lambert"]
    with_folder = make_builder(real, network).build(sophie).files["sites"]
    shutil.rmtree(real.overrides_dir / "sophie-lambert" / "overrides")
    without = make_builder(real, network).build(sophie).files["sites"]
    assert with_folder["fr/index.html"] == without["fr/index.html"]


def test_new_nation_without_add_prints_a_valid_entry_and_keeps_the_spec(real: Project) -> None:
    before = real.spec.read_bytes()
    created = new_nation(real, NewNation("jan-de-smet", parent="hq", languages=("nl",)))
    assert real.spec.read_bytes() == before
    assert created.entry.startswith("- slug: jan-de-smet\n  name: Jan De Smet\n")
    real.spec.write_text(before.decode() + created.entry)
    assert load(real).nations["jan-de-smet"].languages == ("nl",)


def test_add_validates_first_and_writes_nothing_on_error(real: Project) -> None:
    before = real.spec.read_bytes()
    with pytest.raises(SpecError, match=r"nations\.yaml:\d+: nations\.1\.parent: unknown parent"):
        new_nation(real, NewNation("eva-claes", parent="nope"), add=True)
    assert real.spec.read_bytes() == before
    assert not (real.overrides_dir / "eva-claes").exists()
    assert [p.name for p in real.root.iterdir() if p.name.startswith(".nations-")] == []


def test_entry_is_indented_like_the_existing_entries(tmp_path: Path) -> None:
    mini_blueprints(tmp_path)
    spec = write_text_spec(
        tmp_path,
        """\
        # the network
        version: 1
        network:
          name: H
          base_domain: h.example
          controller: {name: H, address: A, email: a@h.example}
        nations:
          - slug: hq   # the root
            name: HQ
            blueprint: section
            languages: [fr]
            contact: {email: hq@h.example}
        """,
    )
    project = Project(spec=spec)
    new_nation(project, NewNation("liege", parent="hq", blueprint="section"), add=True)
    text = spec.read_text()
    assert "  - slug: hq   # the root\n" in text  # comments and layout kept
    assert text.endswith(
        "\n  - slug: liege\n    name: Liege Liege\n    blueprint: section\n"
        "    parent: hq\n    contact:\n      email: liege@h.example\n"
    )
    assert load(project).nations["liege"].parent == "hq"


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (NewNation("Bad_Slug"), "invalid slug"),
        (NewNation("eva-claes", first_name="{{ 7*7 }}"), "braces"),
        (NewNation("hq"), "already a nation"),
    ],
)
def test_bad_answers_are_refused(real: Project, answers: NewNation, message: str) -> None:
    with pytest.raises(InputError, match=message):
        new_nation(real, answers)


def test_cookiecutter_replay_stays_out_of_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    scaffold_folder(
        tmp_path / "nations", NewNation("eva-claes", first_name="Eva", last_name="Claes")
    )
    assert (tmp_path / "nations/eva-claes/site.yaml").is_file()
    assert not (tmp_path / "home").exists()


# -- site.yaml -----------------------------------------------------------------------------


def candidate_project(real: Project) -> Project:
    candidate = nation(
        "marie", "hq", blueprint="candidate", candidate={"first_name": "Marie", "last_name": "D"}
    )
    write_spec(real.root, [nation("hq", languages=["fr"]), candidate])
    return real


SITE = """\
slogan: 'Liège d''abord'
bio: |
  Infirmière à Liège.

  Deuxième paragraphe.
photo: marie.png
photo_alt: 'Marie au marché'
colors: {primary: '#123456'}
social: {instagram: 'https://instagram.example/marie'}
contact: {phone: '+32 4 000 00 00'}
"""


def test_site_yaml_content_reaches_the_pages(real: Project) -> None:
    project = candidate_project(real)
    build_file_tree(
        project.root, {"nations/marie/site.yaml": SITE, "nations/marie/assets/marie.png": PNG}
    )
    assert check_nation(project, "marie") == []
    network = load(project)
    page = make_builder(project, network).build(network.nations["marie"]).files["sites"]
    html = page["fr/index.html"].decode()
    assert "Liège d&#39;abord" in html and '<p class="lead">Deuxième paragraphe.</p>' in html
    assert 'src="../assets/marie.png" alt="Marie au marché"' in html
    assert "--primary: #123456" in html and "https://instagram.example/marie" in html
    assert "+32 4 000 00 00" in html
    assert page["assets/marie.png"] == PNG


def test_site_yaml_edit_is_redeployed(real: Project) -> None:
    project = candidate_project(real)
    build_file_tree(project.root, {"nations/marie/site.yaml": "slogan: 'Premier'\n"})
    deploy(project, Options(retries=0))
    (project.root / "nations/marie/site.yaml").write_text("slogan: 'Second'\n")
    report = deploy(project, Options(retries=0))
    assert statuses(report) == {"hq": "unchanged", "marie": "deployed"}
    assert "Second" in (project.out / "sites/marie/index.html").read_text()


def test_invalid_site_yaml_fails_that_nation_alone(real: Project) -> None:
    project = candidate_project(real)
    build_file_tree(project.root, {"nations/marie/site.yaml": "slogan: x\ncolour: red\n"})
    report = deploy(project, Options(retries=0))
    assert statuses(report) == {"hq": "deployed", "marie": "failed"}
    assert "site.yaml:2" in str(report["nations"][1]["error"])


# -- check ---------------------------------------------------------------------------------

SITE_FILE = "nations/liege/site.yaml"
CHECK_CASES = [
    (
        "unknown-block",
        {HOME: "{% block intro %}x{% endblock %}\n{% block sidebar %}y{% endblock %}"},
        f"{HOME}:2: unknown block 'sidebar': pages/home.html.j2 has these blocks: content, intro",
    ),
    ("syntax", {HOME: "{% block intro %}\n{% if %}\n{% endblock %}"}, f"{HOME}:2: template syntax"),
    (
        "undefined-in-dead-branch",
        {HOME: "{% block intro %}\n{% if lang == 'de' %}{{ slgan }}{% endif %}\n{% endblock %}"},
        f"{HOME}:2: undefined variable 'slgan'",
    ),
    (
        "undefined-attribute",
        {HOME: "{% block intro %}\n{{ nation.slogan }}\n{% endblock %}"},
        f"{HOME}:2: undefined value: 'dict object' has no attribute 'slogan'",
    ),
    (
        "text-outside",
        {HOME: "<p>hi</p>\n{% block intro %}x{% endblock %}"},
        f"{HOME}:1: text outside",
    ),
    (
        "extends",
        {HOME: "{% extends 'layout.html.j2' %}\n{% block intro %}x{% endblock %}"},
        f"{HOME}:1: remove {{% extends %}}",
    ),
    (
        "locked-block",
        {HOME: "{% block footer %}x{% endblock %}"},
        f"{HOME}:1: block 'footer' of pages/home.html.j2 holds legal text",
    ),
    (
        "script",
        {HOME: "{% block intro %}\n<script>alert(1)</script>\n{% endblock %}"},
        f"{HOME}:2: <script> is not allowed",
    ),
    (
        "no-such-template",
        {"nations/liege/overrides/pages/about.html.j2": "{% block intro %}x{% endblock %}"},
        "nations/liege/overrides/pages/about.html.j2:1: the blueprint has no template",
    ),
    (
        "broken-link",
        {HOME: '{% block intro %}\n<a href="programme.html">p</a>\n{% endblock %}'},
        f"{HOME}:2: broken internal link 'programme.html' (on fr/index.html)",
    ),
    (
        "image-without-alt",
        {
            HOME: "{% block intro %}\n<img src=\"{{ asset('logo.png') }}\">\n{% endblock %}",
            "nations/liege/assets/logo.png": PNG,
        },
        f"{HOME}:2: image '../assets/logo.png' has no alt text",
    ),
    (
        "image-too-big",
        {"nations/liege/assets/big.jpg": b"\xff" * (MAX_IMAGE_BYTES + 1)},
        "nations/liege/assets/big.jpg: image is 500 KB, over the 500 KB limit",
    ),
    (
        "photo-without-alt",
        {SITE_FILE: "slogan: x\nphoto: p.png\n", "nations/liege/assets/p.png": PNG},
        f"{SITE_FILE}:2: missing required content: photo_alt",
    ),
    (
        "photo-missing",
        {SITE_FILE: "photo: p.png\nphoto_alt: me\n"},
        f"{SITE_FILE}:1: photo 'p.png' not found",
    ),
    (
        "unknown-field",
        {SITE_FILE: "slogan: x\ncolour: red\n"},
        f"{SITE_FILE}:2: colour: unknown field",
    ),
    (
        "bad-colour",
        {SITE_FILE: "colors:\n  primary: red\n"},
        f"{SITE_FILE}:2: colors.primary: 'red' is not a colour",
    ),
    (
        "bad-social",
        {SITE_FILE: "social:\n  x: www.x.com/me\n"},
        f"{SITE_FILE}:2: social.x: 'www.x.com/me' must be",
    ),
    ("bad-yaml", {SITE_FILE: "slogan: 'x\nbio: y\n"}, f"{SITE_FILE}:3: invalid YAML"),
]


@pytest.mark.parametrize(
    ("files", "expected"), [c[1:] for c in CHECK_CASES], ids=[c[0] for c in CHECK_CASES]
)
def test_check_reports_file_line_and_message(mini: Project, files: dict, expected: str) -> None:
    build_file_tree(mini.root, files)
    problems = [str(p) for p in check_nation(mini, "liege")]
    assert any(p.startswith(expected) for p in problems), problems


def test_check_requires_a_slogan_for_candidates(mini: Project) -> None:
    write_spec(mini.root, [nation("hq"), nation("liege", "hq", kind="candidate")])
    line = mini.spec.read_text().splitlines().index("- slug: liege") + 1
    problems = [str(p) for p in check_nation(mini, "liege")]
    assert problems == [
        f"nations.yaml:{line}: missing required content: slogan; set it in site.yaml"
    ]


def test_blocks_around_a_consent_form_are_locked(real: Project) -> None:
    project = candidate_project(real)
    agir = "nations/marie/overrides/pages/agir.html.j2"
    build_file_tree(
        project.root,
        {
            "nations/marie/site.yaml": "slogan: x\n",
            agir: "{% block heading %}Rejoins-moi{% endblock %}\n{% block content %}{% endblock %}",
        },
    )
    assert [str(p) for p in check_nation(project, "marie")] == [
        f"{agir}:2: block 'content' of pages/agir.html.j2 holds legal text and cannot be overridden"
    ]


def test_check_cli_exit_codes_and_output(mini: Project) -> None:
    ok = run_cli(mini.root, "check", "liege")
    assert (ok.returncode, ok.stdout) == (0, "liege: OK\n")
    build_file_tree(mini.root, {HOME: "{% block intro %}\n{{ slgan }}\n{% endblock %}"})
    bad = run_cli(mini.root, "check", "liege")
    assert bad.returncode == 1
    assert f"{HOME}:2: undefined variable 'slgan'\n" in bad.stdout
    unknown = run_cli(mini.root, "check", "nobody")
    assert unknown.returncode == 2 and "'nobody' is not a nation of nations.yaml" in unknown.stderr


# -- blueprint updates ---------------------------------------------------------------------


def test_blueprint_update_reaches_every_site_but_not_overridden_blocks(mini: Project) -> None:
    build_file_tree(mini.root, {HOME: "{% block intro %}<p>mine</p>{% endblock %}"})
    assert set(statuses(deploy(mini, Options(retries=0))).values()) == {"deployed"}
    home = mini.blueprints_dir / "section/templates/pages/home.html.j2"
    text = home.read_text().replace("<h1>", "<h1>v2 ").replace("intro from blueprint", "intro v2")
    home.write_text(text)
    report = deploy(mini, Options(retries=0))
    assert statuses(report) == {"hq": "deployed", "liege": "deployed", "other": "deployed"}
    pages = {
        s: (mini.out / "sites" / s / "fr/index.html").read_text() for s in ("hq", "liege", "other")
    }
    assert all("<h1>v2 Bonjour" in page for page in pages.values())
    assert "intro v2" in pages["hq"] and "intro v2" in pages["other"]
    assert "<p>mine</p>" in pages["liege"] and "intro v2" not in pages["liege"]


# -- scope ---------------------------------------------------------------------------------


def git(root: Path, *args: str) -> None:
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", *identity, *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def repo(mini: Project) -> Project:
    build_file_tree(
        mini.root,
        {HOME: "{% block intro %}a{% endblock %}", "nations/other/site.yaml": "slogan: o\n"},
    )
    git(mini.root, "init", "-q", "-b", "main")
    git(mini.root, "add", ".")
    git(mini.root, "commit", "-q", "-m", "start")
    return mini


def test_scope_accepts_changes_inside_the_own_folder(repo: Project) -> None:
    build_file_tree(
        repo.root,
        {HOME: "{% block intro %}b{% endblock %}", "nations/liege/site.yaml": "slogan: l\n"},
    )
    assert scope_problems(repo.overrides_dir, "liege", "HEAD") == []


def test_scope_reports_every_path_outside_the_own_folder(repo: Project) -> None:
    build_file_tree(
        repo.root, {HOME: "{% block intro %}b{% endblock %}", "blueprints/new.txt": "x"}
    )
    (repo.root / "nations.yaml").write_text(repo.spec.read_text() + "\n")
    git(repo.root, "mv", "nations/other/site.yaml", "nations/liege/site.yaml")
    problems = scope_problems(repo.overrides_dir, "liege", "HEAD")
    assert [p.file for p in problems] == [
        "blueprints/new.txt",
        "nations.yaml",
        "nations/other/site.yaml",
    ]
    assert str(problems[1]) == (
        "nations.yaml: outside nations/liege/: a candidate's change may only touch their own folder"
    )


def test_check_owner_diff_cli(repo: Project) -> None:
    build_file_tree(
        repo.root,
        {"nations/other/overrides/pages/home.html.j2": "{% block intro %}x{% endblock %}"},
    )
    result = run_cli(repo.root, "check", "--owner", "liege", "--diff", "HEAD")
    assert result.returncode == 1
    assert result.stdout.startswith(
        "nations/other/overrides/pages/home.html.j2: outside nations/liege/"
    )
    bad_rev = run_cli(repo.root, "check", "--owner", "liege", "--diff", "nope")
    assert bad_rev.returncode == 2 and "bad revision 'nope'" in bad_rev.stderr
    usage = run_cli(repo.root, "check", "--owner", "liege")
    assert usage.returncode == 2 and "--owner and --diff go together" in usage.stderr
