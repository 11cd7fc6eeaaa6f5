"""`provisioner check SLUG`: render one nation strictly and list every problem found.

Pure: reads nations.yaml, the blueprint and the nation's folder, writes nothing, and
returns problems as `Problem(file, line, message)`. The CLI prints them and exits 1.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from provisioner.candidates.output import SourceLines, image_problems, site_problems
from provisioner.candidates.overrides import override_names
from provisioner.candidates.problems import Problem, shown_path
from provisioner.candidates.site_content import (
    SITE_FILE,
    SiteContentError,
    content_problems,
    read_site,
    site_fields,
)
from provisioner.errors import InputError, ProvisionerError, SpecError, TemplateError
from provisioner.render import budgets
from provisioner.render.build import Builder
from provisioner.render.renderplan import RenderPlan
from provisioner.run.deploy import Project, load, make_builder
from provisioner.spec.network import Nation
from provisioner.spec.yamlsource import YamlSource


def check_nation(project: Project, slug: str) -> list[Problem]:
    """Every problem of nation `slug`, sorted by file and line; empty when it is fine.

    The candidate rules are the ones deploy enforces (`Builder.rule_problems`) over the
    same render plan; on top, check renders each template on its own to report every
    failing one, and looks at the built site as a visitor would (links, alt text).
    """
    try:
        network = load(project)
    except SpecError as exc:
        return [Problem(p.file, p.line, str(p).split(": ", 1)[-1]) for p in exc.problems]
    if slug not in network.nations:
        raise InputError(
            f"{slug!r} is not a nation of {project.spec}; add its entry first "
            "(`provisioner new-nation` prints it)"
        )
    nation = network.nations[slug]
    folder = project.overrides_dir / slug
    builder = make_builder(project, network)
    site, source, problems = _read_site(folder)
    plan = builder.render_plan(nation, site)
    if not problems:  # content rules need a readable site.yaml
        fallback = Problem(shown_path(project.spec), nation.line, "")
        problems += content_problems(folder, dict(plan.base["nation"]), source, fallback)
    problems += builder.rule_problems(nation, plan)
    with budgets.rendering(nation.budgets):  # one deadline for the nation, as in deploy
        problems += _render_problems(builder, plan)
    if not problems:  # links and images only make sense on a site that builds
        problems += _output_problems(builder, nation, folder)
    problems += image_problems(folder / "assets", shown_path(folder / "assets"))
    unique = {(p.file, p.line, p.message): p for p in problems}
    return sorted(unique.values(), key=Problem.sort_key)


def _read_site(folder: Path) -> tuple[dict[str, Any], YamlSource | None, list[Problem]]:
    """site.yaml's fields ({} when missing or broken), its lines, and its problems."""
    try:
        found = read_site(folder)
    except SiteContentError as exc:
        return {}, None, list(exc.problems)  # render with nations.yaml content: find the rest
    if found is None:
        return {}, None, []
    return site_fields(found[0]) or {}, found[1], []


def _render_problems(builder: Builder, plan: RenderPlan) -> list[Problem]:
    """Render every planned template on its own; one problem per failing template.

    A budget exceeded ends the round: past the deadline every other template would
    fail too, and the first one named is the one to fix."""
    problems = []
    for output in plan.templated():
        for name in output.templates.values():
            try:
                builder.render(plan, replace(output, templates={"part": name}))
            except (TemplateError, budgets.BudgetError) as exc:
                message = str(exc).removeprefix(f"{exc.location}: ")
                problems.append(Problem.at(exc.location, message, name))
                if isinstance(exc, budgets.BudgetError):
                    return problems
    return problems


def _output_problems(builder: Builder, nation: Nation, folder: Path) -> list[Problem]:
    try:
        build = builder.build(nation)
    except ProvisionerError as exc:
        location = getattr(exc, "location", None)
        return [Problem.at(location, str(exc).removeprefix(f"{location}: "), nation.slug)]
    own = [folder / SITE_FILE] if (folder / SITE_FILE).is_file() else []
    own += [folder / "overrides" / name for name in override_names(folder)]
    sources = SourceLines.of_folder(folder, {path: shown_path(path) for path in own})
    return site_problems(build.files["sites"], nation.slug, sources)
