"""Email templates shared by every nation of a blueprint, with the nation's values as data.

SES accepts CreateTemplate/UpdateTemplate once per second and holds 20,000 templates
per account, so one template per nation, email and language (about 2,500 for the sample
network) neither scales nor deploys in minutes. Each nation's email is still rendered
in full (previews, the eml/SMTP outbox); then every occurrence of the nation's own
values (name, candidate, domain in links, colours) is replaced by a placeholder. What
is left, the skeleton, is the same for every nation rendered the same way, so SES needs
one template per blueprint, email, language and skeleton: a few dozen for the network.

The split is exact by construction: `fill(skeleton, data)` gives back the nation's
rendering byte for byte, whatever the values are. A value that also occurs in the
blueprint's own text (a section called "Peer") only costs sharing: that nation gets a
template of its own, never a wrong email. Placeholders are triple-braced, so SES
inserts the data unescaped (the HTML data are escaped here, as Jinja escaped them).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from markupsafe import escape

# The defaults of blueprints/_base/templates/partials/email_ui.html.j2. Kept in sync by
# hand; if they drift, nations without their own colours merely share one more template.
DEFAULT_COLORS = {"primary": "#0b4f8a", "accent": "#f2c230"}
MIN_LENGTH = 3  # shorter values ("As") would match inside ordinary words too often
PLACEHOLDER = re.compile(r"\{\{\{(nation_\w+)\}\}\}")
PARTS = ("SubjectPart", "TextPart", "HtmlPart")
NAME_LIMIT = 64  # SES template names


def nation_values(nation: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """Data keys in priority order, each with the values it may take (first found wins)."""
    candidate = nation.get("candidate") or {}
    colors = (nation.get("content") or {}).get("colors") or {}
    first, last = candidate.get("first_name") or "", candidate.get("last_name") or ""
    sender = f"{first} {last}" if candidate else nation["name"]
    return [
        ("nation_sender", [sender]),  # before name: a candidate's site is often named so
        ("nation_name", [nation["name"]]),
        ("nation_domain", [nation.get("domain") or ""]),
        ("nation_first_name", [first]),
        ("nation_last_name", [last]),
        *(
            (f"nation_{color}", [colors.get(color) or "", default])
            for color, default in DEFAULT_COLORS.items()
        ),
    ]


def split(
    parts: Mapping[str, str], nation: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """(skeleton parts, template data) of one nation's rendered email."""
    chosen = _chosen_values(parts, nation)
    data: dict[str, str] = {}
    skeleton: dict[str, str] = {}
    for part, text in parts.items():
        html = part == "HtmlPart"
        table: dict[str, str] = {}
        for key, value in chosen:
            form, name = (str(escape(value)), f"{key}_html") if html else (value, key)
            if form == value:
                name = key
            if form not in table:  # a tie keeps the key of higher priority
                table[form] = name
                data[name] = form
        skeleton[part] = _substitute(text, table)
    return skeleton, data


def _chosen_values(parts: Mapping[str, str], nation: Mapping[str, Any]) -> list[tuple[str, str]]:
    everything = "\n".join(parts.values())
    chosen = []
    for key, options in nation_values(nation):
        for value in options:
            if len(value) >= MIN_LENGTH and (
                value in everything or str(escape(value)) in everything
            ):
                chosen.append((key, value))
                break
    return chosen


# A value is replaced where it stands alone: no word character or "#" just before it,
# no word character just after (the rule of the pattern `_substitute` stands for).
_JOINS_BEFORE = re.compile(r"[\w#]")
_JOINS_AFTER = re.compile(r"\w")


def _substitute(text: str, table: Mapping[str, str]) -> str:
    r"""Each standalone occurrence of a value of `table` replaced by its placeholder,
    scanning left to right and trying longer values first ("Marie Dubois" before
    "Marie"), as the pattern `(?<![\w#])(?:values, longest first)(?!\w)` would; found
    with `str.find`, which is several times faster than that pattern on these texts."""
    found = []
    for order, form in enumerate(_longest_first(tuple(table))):
        start = text.find(form)
        while start != -1:
            end = start + len(form)
            alone = not (start and _JOINS_BEFORE.match(text, start - 1))
            if alone and not _JOINS_AFTER.match(text, end):
                found.append((start, order, form))
            start = text.find(form, start + 1)
    if not found:
        return text
    found.sort()  # by place, then the longer value first
    pieces: list[str] = []
    done = 0
    for start, _, form in found:
        if start >= done:  # not inside a value already replaced
            pieces += (text[done:start], "{{{", table[form], "}}}")
            done = start + len(form)
    pieces.append(text[done:])
    return "".join(pieces)


@functools.lru_cache(maxsize=256)
def _longest_first(forms: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(forms, key=len, reverse=True))


def fill(skeleton: str, data: Mapping[str, str]) -> str:
    """The inverse of `split`: what SES renders from a skeleton and a nation's data."""
    return PLACEHOLDER.sub(lambda match: data[match.group(1)], skeleton)


def template_name(blueprint: str, email_id: str, lang: str, skeleton: Mapping[str, str]) -> str:
    """Shared by every nation with this skeleton; a new skeleton gets a new name."""
    digest = hashlib.sha256(json.dumps(skeleton, sort_keys=True).encode()).hexdigest()[:10]
    head = f"{blueprint}--{email_id}--{lang}"[: NAME_LIMIT - len(digest) - 2]
    return f"{head}--{digest}"


def template_json(name: str, skeleton: Mapping[str, str]) -> bytes:
    """The SES CreateTemplate payload of a skeleton."""
    return json.dumps({"TemplateName": name, **skeleton}, ensure_ascii=False).encode()
