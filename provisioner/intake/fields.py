"""Validation of a form's fields, by the same rules as supporter ingestion.

Emails and phones go through `provisioner.supporters.normalize` and postcodes through
its `checks`, so a person typed into a form and the same person in the central export
normalise to the same values and match. Every problem is reported at once, each with
its field and a code that `messages` turns into the person's language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from urllib.parse import parse_qsl

from provisioner.intake.model import Kind
from provisioner.supporters import normalize_email, normalize_phone
from provisioner.supporters.checks import FORMULA_STARTS
from provisioner.supporters.checks import postcode as check_postcode

MAX_FIELDS = 64
HONEYPOT = "website"  # hidden from people by CSS; only robots fill it in
CHECKED = frozenset({"yes", "on"})  # what a ticked checkbox sends
HELP = ("door_to_door", "phoning", "leaflets", "social_media")
AVAILABILITY = ("weekday_evenings", "weekends")
CONSENT_FIELDS = {"email": "consent", "phone": "consent_phone", "sms": "consent_sms"}

# `ref`: a pledge hunter's code; intake/referrals.py takes it out first where hunters are
# kept (serve), and the core ignores it elsewhere, so every form is accepted everywhere.
_HIDDEN = ("nation", "lang", "source", HONEYPOT, "ref")
_IDENTITY = ("first_name", "last_name", "email", "phone", "postcode", *CONSENT_FIELDS.values())
ALLOWED: dict[str, frozenset[str]] = {
    "pledge": frozenset((*_HIDDEN, *_IDENTITY, "reminder")),
    "volunteer": frozenset((*_HIDDEN, *_IDENTITY, "help", "availability", "message")),
    "subscribe": frozenset((*_HIDDEN, *_IDENTITY)),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "pledge": ("first_name", "email", "postcode"),
    "volunteer": ("first_name", "last_name", "email", "postcode"),
    "subscribe": ("email", "postcode"),
}
MULTIPLE = frozenset({"help", "availability"})
LIMITS = {"first_name": 100, "last_name": 100, "email": 254, "phone": 32, "message": 2000}
DEFAULT_LIMIT = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # a message may have lines


class UnreadableForm(ValueError):
    """The body is not a form (bad encoding, too many fields)."""


@dataclass(frozen=True)
class FieldProblem:
    field: str
    code: str  # a key of messages.PROBLEMS
    limit: int = 0


@dataclass
class CleanForm:
    """A valid form's values, normalised."""

    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    postcode: str = ""
    message: str = ""
    tags: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()  # consent given: email, and phone/sms when ticked
    problems: list[FieldProblem] = field(default_factory=list)


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """Fields of an `application/x-www-form-urlencoded` body, in order."""
    try:
        text = body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise UnreadableForm(str(exc)) from exc


def group(fields: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in fields:
        grouped.setdefault(name, []).append(value)
    return grouped


@dataclass(frozen=True)
class Rules:
    """The network's formats: phones in national format are read as `country`'s."""

    country: str = "BE"
    postcode_pattern: str | None = None  # None: the ingestion default (Belgium)


def clean(kind: Kind, grouped: dict[str, list[str]], rules: Rules = Rules()) -> CleanForm:
    """Check and normalise the person's fields (hidden fields are the core's business)."""
    form = CleanForm()
    problems = form.problems
    for name in sorted(grouped):
        if name not in ALLOWED[kind]:
            problems.append(FieldProblem(name, "unknown"))
        elif name not in MULTIPLE and len(grouped[name]) > 1:
            problems.append(FieldProblem(name, "repeated"))
    values = {n: v[0].strip() for n, v in grouped.items() if n in ALLOWED[kind]}
    for name, value in list(values.items()):
        problem = _shape(name, value)
        if problem:
            problems.append(problem)
            del values[name]  # not checked further: one problem per field
    for name in REQUIRED[kind]:
        if not values.get(name) and name not in {p.field for p in problems}:
            problems.append(FieldProblem(name, "required"))
    _identity(form, values, rules)
    _choices(form, kind, grouped, values)
    return form


def _shape(name: str, value: str) -> FieldProblem | None:
    """Length, control characters, spreadsheet formulas: before any other check."""
    limit = LIMITS.get(name, DEFAULT_LIMIT)
    if len(value) > limit:
        return FieldProblem(name, "too_long", limit)
    control = _CONTROL_IN_TEXT if name == "message" else _CONTROL
    if control.search(value):
        return FieldProblem(name, "control")
    if name in ("first_name", "last_name") and value[:1] in FORMULA_STARTS:
        return FieldProblem(name, "formula")
    return None


def _identity(form: CleanForm, values: dict[str, str], rules: Rules) -> None:
    form.first_name = values.get("first_name", "")
    form.last_name = values.get("last_name", "")
    form.message = values.get("message", "")
    postcode = partial(check_postcode, country=rules.country)
    if rules.postcode_pattern:
        postcode = partial(postcode, pattern=_pattern(rules.postcode_pattern))
    checks: tuple[tuple[str, Callable[[str], str], str], ...] = (
        ("email", normalize_email, "email"),
        ("phone", partial(normalize_phone, region=rules.country), "phone"),
        ("postcode", postcode, "postcode"),
    )
    for name, check, code in checks:
        raw = values.get(name, "")
        if not raw:
            continue
        try:
            setattr(form, name, check(raw))
        except ValueError:
            form.problems.append(FieldProblem(name, code))


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _choices(
    form: CleanForm, kind: Kind, grouped: dict[str, list[str]], values: dict[str, str]
) -> None:
    tags: list[str] = []
    for name, options, prefix in (
        ("help", HELP, "help"),
        ("availability", AVAILABILITY, "available"),
    ):
        chosen = grouped.get(name, []) if kind == "volunteer" else []
        if any(value not in options for value in chosen):
            form.problems.append(FieldProblem(name, "choice"))
        tags += [f"{prefix}:{value}" for value in options if value in chosen]
    for name in ("reminder", *CONSENT_FIELDS.values()):
        if values.get(name, "") not in ("", *CHECKED):
            form.problems.append(FieldProblem(name, "choice"))
    if values.get("reminder") in CHECKED:
        tags.append("reminder")
    if values.get("consent") not in CHECKED:
        form.problems.append(FieldProblem("consent", "consent"))
    form.tags = tuple(tags)
    form.channels = tuple(
        channel
        for channel, name in CONSENT_FIELDS.items()
        if values.get(name) in CHECKED and (channel == "email" or form.phone)
    )
