"""Static checks of a nation's override files, before anything is rendered.

Rendering finds the errors on the paths it takes; these checks find the rest: blocks the
blueprint does not have (a typo that would silently change nothing), text outside
blocks (never shown), names no template defines, and HTML candidates may not add.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
from jinja2 import meta, nodes

from provisioner.candidates.problems import Problem
from provisioner.render.rendering import LAYER_MARK, NATION_PREFIX, ForbiddenSyntax

# Jinja's own names; the variables of contexts come from the render plan itself.
JINJA_NAMES = frozenset({"super", "self", "loop", "caller", "varargs", "kwargs"})
# Raw HTML that could run code or send visitors' data elsewhere; the blueprint provides
# the forms (with consent text) and no page needs scripts.
FORBIDDEN_HTML = {
    re.compile(r"<\s*script", re.I): "<script> is not allowed",
    re.compile(r"<\s*iframe", re.I): "<iframe> is not allowed",
    re.compile(r"<\s*(form|input)\b", re.I): "forms come from the blueprint; use its blocks",
    re.compile(r"\son[a-z]+\s*=", re.I): "event handlers (onclick=...) are not allowed",
    re.compile(r"javascript\s*:", re.I): "javascript: links are not allowed",
}
# Blocks holding legal text: consent in forms, the controller and privacy links, the
# unsubscribe link of emails, the Statbel credit. HQ changes them in the blueprint.
LOCKED_BLOCKS = frozenset({"form", "footer", "footer_links", "credits"})
LOCKED_TEMPLATES = frozenset({"pages/privacy.html.j2"})
COMMENT = re.compile(r"\{#.*?#\}", re.S)
MAX_CHAIN = 20  # extends hops; a real chain has 2 or 3


def override_names(folder: Path) -> list[str]:
    """Template names overridden by the nation (`pages/home.html.j2`...)."""
    root = folder / "overrides"
    if not root.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def check_override(
    env: jinja2.Environment, slug: str, name: str, context_names: frozenset[str] | None
) -> list[Problem]:
    """Every static problem of the nation's override of template `name`.

    With `context_names` (the variables its templates are given, from the render plan),
    also names that are never defined, even in a branch no render takes: `check` asks
    for it; deploy leaves it to the strict render, which stops at the first one.
    """
    assert env.loader is not None
    full = f"{NATION_PREFIX}{slug}/{name}"
    parent = f"{NATION_PREFIX}{slug}/{LAYER_MARK}{name}"
    try:
        source, shown, _ = env.loader.get_source(env, full)
    except jinja2.exceptions.SecurityError as exc:
        return [Problem(f"nations/{slug}/overrides/{name}", None, f"forbidden: {exc}")]
    filename = shown or full
    try:
        env.loader.get_source(env, parent)
    except jinja2.TemplateNotFound:
        message = f"the blueprint has no template {name!r} to override; check the file name"
        return [Problem(filename, 1, message)]
    try:
        tree = env.parse(source, full, filename)
    except ForbiddenSyntax as exc:
        return [Problem(filename, exc.lineno, f"forbidden in templates: {exc.message}")]
    except jinja2.TemplateSyntaxError as exc:
        return [Problem(filename, exc.lineno, f"template syntax error: {exc.message}")]
    return [
        *_structure_problems(tree, filename),
        *_block_problems(tree, filename, chain_blocks(env, parent), name),
        *(
            _name_problems(tree, filename, context_names | chain_globals(env, parent))
            if context_names is not None
            else []
        ),
        *_html_problems(source, filename),
    ]


def chain_blocks(env: jinja2.Environment, name: str) -> dict[str, set[str]]:
    """Every block of template `name` and of the templates it extends, with the names
    of the blocks nested inside each."""
    assert env.loader is not None
    blocks: dict[str, set[str]] = {}
    current: str | None = name
    for _ in range(MAX_CHAIN):
        if current is None:
            break
        source, filename, _ = env.loader.get_source(env, current)
        tree = env.parse(source, current, filename)
        for block in tree.find_all(nodes.Block):
            inner = {nested.name for nested in block.find_all(nodes.Block)}
            blocks[block.name] = blocks.get(block.name, set()) | inner
        extends = next(tree.find_all(nodes.Extends), None)
        parent = extends.template if extends else None
        current = env.join_path(parent.value, current) if isinstance(parent, nodes.Const) else None
    return blocks


def chain_globals(env: jinja2.Environment, name: str) -> frozenset[str]:
    """Names the templates of `name`'s chain set at their top level (`{% set %}`,
    `{% import %}`, macros): an override's blocks may use them too (the messages page's
    `scripts`, `fill` and `say`)."""
    assert env.loader is not None
    names: set[str] = set()
    current: str | None = name
    for _ in range(MAX_CHAIN):
        if current is None:
            break
        source, filename, _ = env.loader.get_source(env, current)
        tree = env.parse(source, current, filename)
        for node in tree.body:
            if isinstance(node, nodes.Assign) and isinstance(node.target, nodes.Name):
                names.add(node.target.name)
            elif isinstance(node, nodes.Import):
                names.add(node.target)
            elif isinstance(node, nodes.Macro):
                names.add(node.name)
        extends = next(tree.find_all(nodes.Extends), None)
        parent = extends.template if extends else None
        current = env.join_path(parent.value, current) if isinstance(parent, nodes.Const) else None
    return frozenset(names)


def _structure_problems(tree: nodes.Template, filename: str) -> list[Problem]:
    problems = []
    for extends in list(tree.find_all(nodes.Extends))[1:]:  # the first one is the loader's
        message = "remove {% extends %}: an override extends its blueprint page by itself"
        problems.append(Problem(filename, extends.lineno, message))
    for node in tree.body:
        if isinstance(node, nodes.Output) and not _blank(node):
            message = (
                "text outside {% block %}...{% endblock %} is never shown; move it into a block"
            )
            problems.append(Problem(filename, node.lineno, message))
    return problems


def _blank(output: nodes.Output) -> bool:
    return all(isinstance(n, nodes.TemplateData) and not n.data.strip() for n in output.nodes)


def _block_problems(
    tree: nodes.Template, filename: str, known: dict[str, set[str]], name: str
) -> list[Problem]:
    # A block wrapping a locked one (a page's `content` around its `form`) is locked too.
    locked = LOCKED_BLOCKS | {block for block, inner in known.items() if inner & LOCKED_BLOCKS}
    problems = []
    for block in tree.find_all(nodes.Block):
        if name in LOCKED_TEMPLATES or block.name in locked:
            message = f"block {block.name!r} of {name} holds legal text and cannot be overridden"
            problems.append(Problem(filename, block.lineno, message))
        elif block.name not in known:
            choices = ", ".join(sorted(known)) or "none"
            message = f"unknown block {block.name!r}: {name} has these blocks: {choices}"
            problems.append(Problem(filename, block.lineno, message))
    return problems


def _name_problems(
    tree: nodes.Template, filename: str, context_names: frozenset[str]
) -> list[Problem]:
    stored = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    stored |= {m.name for m in tree.find_all(nodes.Macro)}
    stored |= {i.target for i in tree.find_all(nodes.Import)}
    for from_import in tree.find_all(nodes.FromImport):
        stored |= {n if isinstance(n, str) else n[1] for n in from_import.names}
    try:
        unknown = meta.find_undeclared_variables(tree) - context_names - JINJA_NAMES - stored
    except jinja2.TemplateSyntaxError as exc:  # found by the compiler, after parsing
        return [Problem(filename, exc.lineno, f"template syntax error: {exc.message}")]
    unknown -= {"range", "dict", "namespace"}  # the sandbox's remaining globals
    problems = []
    for name in sorted(unknown):
        line = next(n.lineno for n in tree.find_all(nodes.Name) if n.name == name)
        problems.append(Problem(filename, line, f"undefined variable {name!r}"))
    return problems


def _html_problems(source: str, filename: str) -> list[Problem]:
    # Blank out comments but keep their newlines, so line numbers stay right.
    text = COMMENT.sub(lambda m: "\n" * m.group().count("\n"), source)
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern, message in FORBIDDEN_HTML.items():
            if pattern.search(line):
                problems.append(Problem(filename, number, f"{message} in candidate templates"))
    return problems
