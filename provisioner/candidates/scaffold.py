"""`provisioner new-nation SLUG`: a candidate's folder from the cookiecutter template.

The folder (`nations/<slug>/`: site.yaml, commented example overrides, a bilingual
guide) renders the blueprint unchanged, so it passes `check` as created. The nations.yaml
entry is validated before anything is written; with `add` it is appended to the file
textually (comments and layout kept) and the file is replaced atomically.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from provisioner.errors import InputError, SpecError
from provisioner.run.deploy import Project
from provisioner.spec.load import SLUG_RE, load_network

SCAFFOLD = Path(__file__).resolve().parents[2] / "scaffold" / "nation"
# Cookiecutter renders answers as Jinja templates: braces in a name would run as code.
UNSAFE_ANSWER = re.compile(r"[{}%\n\r]")
ITEM_INDENT = re.compile(r"^( *)- slug:", re.M)


@dataclass(frozen=True)
class NewNation:
    """What `new-nation` needs to know; empty names are derived from the slug."""

    slug: str
    parent: str | None = None
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    blueprint: str = "candidate"
    languages: tuple[str, ...] = ()
    slogan: str = "Un nouvel horizon / Een nieuwe horizon"


@dataclass(frozen=True)
class Created:
    folder: Path
    entry: str  # the nations.yaml entry, as YAML text
    added: bool


def new_nation(project: Project, answers: NewNation, add: bool = False) -> Created:
    """Create `nations/<slug>/`; with `add`, also append its entry to nations.yaml."""
    answers = _complete(answers)
    folder = project.overrides_dir / answers.slug
    if folder.exists():
        raise InputError(f"{folder} already exists; choose another slug or edit that folder")
    network = load_network(project.spec, project.blueprints_dir)
    if answers.slug in network.nations:
        raise InputError(f"{answers.slug!r} is already a nation of {project.spec}")
    email = answers.email or f"{answers.slug}@{network.info.base_domain}"
    entry = entry_text(replace(answers, email=email), project.spec.read_text(encoding="utf-8"))
    staged = _staged_spec(project, entry)  # validated before any file is written
    try:
        scaffold_folder(project.overrides_dir, answers)
        if add:
            os.chmod(staged, project.spec.stat().st_mode)  # mkstemp files are owner-only
            os.replace(staged, project.spec)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        staged.unlink(missing_ok=True)
    return Created(folder, entry, add)


def _complete(answers: NewNation) -> NewNation:
    if not SLUG_RE.fullmatch(answers.slug) or len(answers.slug) > 63:
        raise InputError(
            f"invalid slug {answers.slug!r}: use lowercase letters, digits and single "
            "hyphens, e.g. marie-dubois"
        )
    first, _, last = answers.slug.partition("-")
    answers = replace(
        answers,
        first_name=answers.first_name or first.capitalize(),
        last_name=answers.last_name or last.replace("-", " ").title() or first.capitalize(),
    )
    for field in ("first_name", "last_name", "email", "slogan", "parent"):
        value = getattr(answers, field) or ""
        if UNSAFE_ANSWER.search(value):
            raise InputError(f"{field} {value!r}: braces, % and line breaks are not allowed")
    return answers


def entry_text(answers: NewNation, spec_text: str) -> str:
    """The nations.yaml entry, indented like the file's existing entries."""
    entry: dict[str, Any] = {
        "slug": answers.slug,
        "name": f"{answers.first_name} {answers.last_name}",
        "blueprint": answers.blueprint,
    }
    if answers.parent:
        entry["parent"] = answers.parent
    if answers.languages or not answers.parent:
        entry["languages"] = list(answers.languages or ("fr",))
    entry["contact"] = {"email": answers.email}
    if answers.blueprint == "candidate":
        entry["candidate"] = {"first_name": answers.first_name, "last_name": answers.last_name}
    dumped = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, width=1000)
    indents = ITEM_INDENT.findall(spec_text)
    pad = indents[-1] if indents else "  "
    return "".join(pad + line if line.strip() else line for line in dumped.splitlines(True))


def _staged_spec(project: Project, entry: str) -> Path:
    """nations.yaml with the entry appended, validated, in a file beside it."""
    text = project.spec.read_text(encoding="utf-8")
    text = text + ("" if text.endswith("\n") else "\n") + "\n" + entry
    fd, name = tempfile.mkstemp(prefix=".nations-", suffix=".yaml", dir=project.spec.parent)
    staged = Path(name)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    try:
        load_network(staged, project.blueprints_dir)
    except SpecError as exc:
        staged.unlink(missing_ok=True)
        shown = str(project.spec)  # the user knows nations.yaml, not the staging file
        raise SpecError([replace(p, file=shown) for p in exc.problems]) from exc
    return staged


def scaffold_folder(nations_dir: Path, answers: NewNation, template: Path = SCAFFOLD) -> Path:
    """Render the cookiecutter template into `nations_dir/<slug>/`."""
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.main import cookiecutter

    context = {
        "slug": answers.slug,
        "first_name": answers.first_name,
        "last_name": answers.last_name,
        "slogan": answers.slogan,
    }
    nations_dir.mkdir(parents=True, exist_ok=True)
    # Cookiecutter records answers in ~/.cookiecutter_replay; keep them in a temp dir.
    with tempfile.TemporaryDirectory(prefix="provisioner-cookiecutter-") as scratch:
        config = Path(scratch) / "config.yaml"
        dirs = {"replay_dir": f"{scratch}/replay", "cookiecutters_dir": f"{scratch}/cache"}
        config.write_text(yaml.safe_dump(dirs), encoding="utf-8")
        try:
            made = cookiecutter(
                str(template),
                no_input=True,
                extra_context=context,
                output_dir=str(nations_dir),
                config_file=str(config),
            )
        except CookiecutterException as exc:
            raise InputError(f"cannot create the folder from {template}: {exc}") from exc
    return Path(made)


def generated_notice(spec: Path) -> str | None:
    """A warning when nations.yaml says it is generated: an appended entry would be lost."""
    head = spec.read_text(encoding="utf-8")[:2000]
    if "GENERATED" not in head:
        return None
    return (
        f"{spec} is generated: also add this nation to its generator, "
        "or the next regeneration drops it"
    )
