"""`nations/<slug>/site.yaml`: the content a candidate edits without touching templates.

Its fields are merged over the nation's `content` and `contact` from nations.yaml, so a
candidate changes their slogan or photo in their own folder and nowhere else. Unknown
keys are errors (a typo must not silently do nothing), each reported with its line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from provisioner.candidates.problems import Problem, shown_path
from provisioner.errors import NationError, SpecError
from provisioner.spec.yamlsource import YamlSource, load_yaml

SITE_FILE = "site.yaml"
HEX_COLOR = re.compile(r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
ASSET_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$")


def _https(url: str) -> str:
    if not url.startswith("https://"):
        raise ValueError(f"{url!r} must be a full address starting with https://")
    return url


HttpsUrl = Annotated[str, AfterValidator(_https)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteColors(_Strict):
    primary: str | None = None
    accent: str | None = None

    @field_validator("primary", "accent")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is not None and not HEX_COLOR.fullmatch(value):
            raise ValueError(f"{value!r} is not a colour like '#0b5394' (put it in quotes)")
        return value


class SiteContact(_Strict):
    email: str | None = None
    phone: str | None = None
    address: str | None = None


class SiteContent(_Strict):
    """Everything a candidate may set in site.yaml."""

    slogan: str | None = None
    bio: str | None = None
    photo: str | None = None
    photo_alt: str | None = None
    colors: SiteColors | None = None
    social: dict[str, HttpsUrl] = Field(default_factory=dict)
    contact: SiteContact | None = None

    @field_validator("photo")
    @classmethod
    def _asset_name(cls, value: str | None) -> str | None:
        if value is not None and not ASSET_NAME.fullmatch(value):
            raise ValueError(f"{value!r}: give the name of a file in your assets/ folder")
        return value


class SiteContentError(NationError):
    """site.yaml of a nation is invalid; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        first = problems[0]
        super().__init__(
            "; ".join(p.message for p in problems),
            f"{first.file}:{first.line}" if first.line else first.file,
        )

    def __reduce__(self) -> tuple[type, tuple[list[Problem]]]:  # type: ignore[override]
        # Raised in build workers: it must come back to the deploy whole, or the pool breaks.
        return (type(self), (self.problems,))


def load_site_content(folder: Path) -> SiteContent | None:
    """The nation's site.yaml (None when it has none); raise SiteContentError if invalid."""
    found = read_site(folder)
    return found[0] if found else None


def read_site(folder: Path) -> tuple[SiteContent, YamlSource] | None:
    """site.yaml with the line of each of its keys, or None when there is none."""
    path = folder / SITE_FILE
    if not path.is_file():
        return None
    try:
        source = load_yaml(path, display_name=shown_path(path))
    except SpecError as exc:
        raise SiteContentError([Problem(p.file, p.line, p.message) for p in exc.problems]) from exc
    data = source.data if source.data is not None else {}
    if not isinstance(data, dict):
        raise SiteContentError(
            [Problem(source.file, 1, "site.yaml must be a list of `key: value`")]
        )
    try:
        return SiteContent.model_validate(data), source
    except ValidationError as exc:
        raise SiteContentError(_problems(source, exc)) from exc


def content_problems(
    folder: Path, nation: dict[str, Any], source: YamlSource | None, fallback: Problem
) -> list[Problem]:
    """Content a published site needs; `fallback` locates problems site.yaml does not hold."""

    def at(key: str, message: str) -> Problem:
        line = source.lines.get((key,)) if source else None
        if source and line:
            return Problem(source.file, line, message)
        return Problem(fallback.file, fallback.line, message)

    content = nation["content"]
    problems = []
    if nation["kind"] == "candidate" and not content.get("slogan"):
        problems.append(at("slogan", "missing required content: slogan; set it in site.yaml"))
    photo = content.get("photo")
    if photo and not content.get("photo_alt"):
        message = "missing required content: photo_alt (describe the photo for blind visitors)"
        problems.append(at("photo", message))
    if photo and not (folder / "assets" / photo).is_file():
        message = f"photo {photo!r} not found: put the file in {shown_path(folder / 'assets')}/"
        problems.append(at("photo", message))
    return problems


def _problems(source: YamlSource, exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        dotted = ".".join(str(part) for part in loc)
        if error["type"] == "extra_forbidden":
            message = (
                f"{dotted}: unknown field; known fields: {', '.join(SiteContent.model_fields)}"
            )
        else:
            message = f"{dotted}: {error['msg'].removeprefix('Value error, ')}"
        problems.append(Problem(source.file, source.line_of(loc), message))
    return problems


def site_fields(site: SiteContent | None) -> dict[str, Any] | None:
    """The fields set in site.yaml, as plain data for `context.nation_data`."""
    return site.model_dump(exclude_none=True) if site is not None else None
