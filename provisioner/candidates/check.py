"""`provisioner check SLUG`: render one nation strictly and list every problem found.

Pure: reads nations.yaml, the blueprint and the nation's folder, writes nothing, and
returns problems as `Problem(file, line, message)`. The CLI prints them and exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provisioner.blueprints import Blueprint
from provisioner.build import EMAIL_PARTS, Builder
from provisioner.candidates.output import SourceLines, image_problems, site_problems
from provisioner.candidates.overrides import check_override, override_names
from provisioner.candidates.problems import Problem, shown_path
from provisioner.candidates.site_content import (
    SITE_FILE,
    SiteContentError,
    content_problems,
    merge_site_content,
    read_site,
)
from provisioner.context import email_context, nation_data, page_context
from provisioner.deploy import Project, load, make_builder
from provisioner.errors import (
    BlueprintError,
    InputError,
    ProvisionerError,
    SpecError,
    TemplateError,
)
from provisioner.network import Nation, Network


def check_nation(project: Project, slug: str) -> list[Problem]:
    """Every problem of nation `slug`, sorted by file and line; empty when it is fine."""
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
    data, problems = _nation_content(network, nation, folder, project.spec)
    problems += _link_problems(folder)
    env = builder.renderers[nation.blueprint].env
    for name in override_names(folder):
        problems += check_override(env, slug, name)
    try:
        base = builder.base_context(nation, data)
    except BlueprintError as exc:  # the blueprint's message texts: "file: problem"
        file, _, message = str(exc).partition(": ")
        return [Problem(file, None, message)]
    problems += _render_problems(builder, nation, base)
    if not problems:  # links and images only make sense on a site that builds
        problems += _output_problems(builder, nation, folder)
    problems += image_problems(folder / "assets", shown_path(folder / "assets"))
    unique = {(p.file, p.line, p.message): p for p in problems}
    return sorted(unique.values(), key=Problem.sort_key)


def _nation_content(
    network: Network, nation: Nation, folder: Path, spec: Path
) -> tuple[dict[str, Any], list[Problem]]:
    """The `nation` template variable with site.yaml laid over it, and content problems."""
    data = nation_data(network, nation)
    try:
        found = read_site(folder)
    except SiteContentError as exc:
        return data, list(exc.problems)  # render with nations.yaml content to find the rest
    if found:
        merge_site_content(data, found[0])
    fallback = Problem(shown_path(spec), nation.line, "")
    return data, content_problems(folder, data, found[1] if found else None, fallback)


def _link_problems(folder: Path) -> list[Problem]:
    """Symbolic links could publish or render files from outside the nation's folder."""
    if not folder.is_dir():
        return []
    return [
        Problem(shown_path(path), None, "symbolic links are not allowed; copy the file instead")
        for path in sorted(folder.rglob("*"))
        if path.is_symlink()
    ]


def _render_problems(builder: Builder, nation: Nation, base: dict[str, Any]) -> list[Problem]:
    """Render every page and email in every language; one problem per failing template."""
    blueprint = builder.catalog.get(nation.blueprint)
    renderer = builder.renderers[nation.blueprint]
    namespaced = renderer.has_overrides(nation.slug)
    problems = []
    for name, context in _templates(blueprint, nation, base):
        try:
            renderer.render(nation.slug, name, context, namespaced)
        except TemplateError as exc:
            message = str(exc).removeprefix(f"{exc.location}: ")
            problems.append(Problem.at(exc.location, message, name))
    return problems


def _templates(
    blueprint: Blueprint, nation: Nation, base: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """(template name, context) of everything deploy renders for the nation."""
    jobs = []
    for lang in nation.languages:
        for page_id, page in blueprint.manifest.pages.items():
            jobs.append((page.template, page_context(base, blueprint, page_id, lang, False)))
        for email_id in blueprint.manifest.emails:
            context = email_context(base, email_id, lang)
            jobs += [(f"emails/{email_id}/{part}", context) for part in EMAIL_PARTS.values()]
    return jobs


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
