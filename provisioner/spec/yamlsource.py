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
    loader = SafeLoader(text)
    try:
        node = loader.get_single_node()  # parsed once: the data and the lines come from it
        source = YamlSource(name, None)
        problems: list[Problem] = []
        if node is not None:
            source.data = _Constructor(loader, source.lines, problems, name).value(node, ())
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        message = f"invalid YAML: {exc.problem or exc}"
        raise SpecError([Problem(name, line, "", message, "fix the YAML syntax")]) from exc
    finally:
        loader.dispose()
    if problems:
        raise SpecError(problems)
    return source


STR, MAP, SEQ = (f"tag:yaml.org,2002:{kind}" for kind in ("str", "map", "seq"))
MERGE = "tag:yaml.org,2002:merge"


class _Constructor:
    """The data of a composed YAML document, with the line of every key and item.

    The same values as `yaml.safe_load` from one parse (it used to be parsed twice, once
    for the data and once for the lines: most of the time of loading 10,000 nations).
    Plain mappings, sequences and strings are built here; any other node (numbers,
    dates, merge keys, explicit tags) is left to PyYAML's safe constructor.
    """

    def __init__(self, loader: Any, lines: dict[Loc, int], problems: list[Problem], name: str):
        self.loader, self.lines, self.problems, self.name = loader, lines, problems, name
        self.built: dict[int, Any] = {}  # node id -> value: an alias is the same object

    def value(self, node: yaml.Node, loc: Loc) -> Any:
        self.lines[loc] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            self._check_keys(node, loc)
        if id(node) in self.built:  # an alias: its lines again, under this location
            self._record_lines_below(node, loc)
            return self.built[id(node)]
        if isinstance(node, yaml.ScalarNode) and node.tag == STR:
            return node.value
        if isinstance(node, yaml.SequenceNode) and node.tag == SEQ:
            items: list[Any] = []
            self.built[id(node)] = items
            items.extend(self.value(item, (*loc, i)) for i, item in enumerate(node.value))
            return items
        if isinstance(node, yaml.MappingNode) and node.tag == MAP and not _merges(node):
            return self._mapping(node, loc)
        self._record_lines_below(node, loc)
        built = self.loader.construct_object(node, deep=True)
        self.built[id(node)] = built
        return built

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        mapping: dict[Any, Any] = {}
        self.built[id(node)] = mapping
        for key_node, value_node in node.value:
            key_loc = (*loc, str(key_node.value))
            key = self._key(key_node)
            mapping[key] = self.value(value_node, key_loc)
            self.lines[key_loc] = key_node.start_mark.line + 1
        return mapping

    def _key(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode) and node.tag == STR:
            return node.value
        key = self.loader.construct_object(node, deep=True)
        try:
            hash(key)
        except TypeError as exc:  # as PyYAML's constructor says it
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", None, "found unhashable key", node.start_mark
            ) from exc
        return key

    def _check_keys(self, node: yaml.MappingNode, loc: Loc) -> None:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            key, key_line = str(key_node.value), key_node.start_mark.line + 1
            if key in seen:
                self.problems.append(
                    Problem(
                        self.name,
                        key_line,
                        dotted((*loc, key)),
                        f"duplicate key {key!r} (first at line {seen[key]})",
                        "keep only one",
                    )
                )
            seen[key] = key_line

    def _record_lines_below(self, node: yaml.Node, loc: Loc) -> None:
        """Lines inside a node PyYAML builds (a merge, a tagged collection)."""
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key_loc = (*loc, str(key_node.value))
                self.lines[key_loc] = value_node.start_mark.line + 1
                if isinstance(value_node, yaml.MappingNode):
                    self._check_keys(value_node, key_loc)
                self._record_lines_below(value_node, key_loc)
                self.lines[key_loc] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.lines[(*loc, index)] = item.start_mark.line + 1
                self._record_lines_below(item, (*loc, index))


def _merges(node: yaml.MappingNode) -> bool:
    return any(key.tag == MERGE for key, _ in node.value)
