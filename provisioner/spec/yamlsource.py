"""Load YAML while remembering the line of every key and item.

pydantic reports a location as a tuple (`("nations", 12, "geo", "postcodes", 0)`); the
line map turns that into a line of the file, so every problem can be shown as file:line.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:  # the C loader is several times faster on a 400-nation file
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - libyaml missing
    from yaml import SafeLoader  # type: ignore[assignment]

from provisioner.errors import Problem, SpecError

Loc = tuple[str | int, ...]


@dataclass
class YamlSource:
    """Parsed YAML data plus where each part of it came from."""

    file: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """The line of `loc`, or of its nearest ancestor that has one."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None

    def problem(self, loc: Loc, message: str, fix: str = "") -> Problem:
        return Problem(self.file, self.line_of(loc), dotted(loc), message, fix)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` wins; nested mappings merge; lists are replaced, not concatenated.

    Neither input is modified (defaults are shared by many nations).
    """
    merged = copy.deepcopy(base) if base else {}
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


def load_yaml(path: Path, display_name: str | None = None) -> YamlSource:
    """Read and parse `path`; raise SpecError (with the line) when it is not valid YAML."""
    name = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SpecError(
            [Problem(name, None, "", "file not found", "check the --spec path")]
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem(name, None, "", f"cannot read file: {exc}", "")]) from exc
    try:
        node = yaml.compose(text, Loader=SafeLoader)
        data = yaml.load(text, Loader=SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        message = f"invalid YAML: {exc.problem or exc}"
        raise SpecError([Problem(name, line, "", message, "fix the YAML syntax")]) from exc
    source = YamlSource(name, data)
    problems: list[Problem] = []
    if node is not None:
        _record_lines(node, (), source.lines, problems, name)
    if problems:
        raise SpecError(problems)
    return source


def _record_lines(
    node: yaml.Node, loc: Loc, lines: dict[Loc, int], problems: list[Problem], name: str
) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            key_line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(
                        name,
                        key_line,
                        dotted((*loc, key)),
                        f"duplicate key {key!r} (first at line {seen[key]})",
                        "keep only one",
                    )
                )
            seen[key] = key_line
            _record_lines(value_node, (*loc, key), lines, problems, name)
            lines[(*loc, key)] = key_line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*loc, index), lines, problems, name)
