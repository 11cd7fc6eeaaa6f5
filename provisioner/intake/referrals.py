"""Pledge hunters: personal referral codes, and the submissions credited to them.

A volunteer gets a code when they sign up (72 random bits, URL-safe: unguessable, and
nothing in it says who they are). Their share link carries it as `?ref=CODE`; the
pages copy it into each form's `ref` field; a submission that arrives with a known
code is credited to its hunter. The book lives in its own SQLite file beside the
intake store (`data/referrals.db`), so the store's schema is left alone.

Wiring, without touching the core: `ReferralIntake` (an `Intake`) takes the `ref`
field out of the form before the core validates it, and wraps the store (to issue
and credit once the submission is committed, in the same thread) and the email
templates (to put the hunter's share link into their confirmation email).
A crash between the submission's commit and the credit's loses the credit only.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from provisioner.errors import InputError
from provisioner.intake import fields as form_fields
from provisioner.intake.core import Intake, IntakeRequest, IntakeResponse
from provisioner.intake.emails import CONFIRM_EMAIL
from provisioner.intake.model import Kind, Submission, Tokens

CODE_BYTES = 9  # 72 bits -> 12 URL-safe characters
CODE = re.compile(r"^[A-Za-z0-9_-]{12}$")
FIELD = "ref"
SHARE_PAGE = "messages"  # the "pass the word" page: the messages, ready with the code
# Said in the confirmation email when its template has no {{share_url}} placeholder.
SHARE_SENTENCE = {
    "fr": "Votre lien personnel de chasseur de promesses, à partager avec vos ami·es :",
    "nl": "Je persoonlijke link als beloftejager, om met je vrienden te delen:",
    "de": "Ihr persönlicher Link zum Teilen mit Ihren Freundinnen und Freunden:",
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS hunters (
    code TEXT PRIMARY KEY, submission_id TEXT NOT NULL UNIQUE, nation TEXT NOT NULL,
    lang TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS credits (
    submission_id TEXT PRIMARY KEY, code TEXT NOT NULL REFERENCES hunters (code),
    kind TEXT NOT NULL, nation TEXT NOT NULL, at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS credits_code ON credits (code);
"""


def new_code() -> str:
    # A code that begins with "-" would be written "'-..." in hunters.csv (a formula
    # guard, csvsafe.py), so it would not read back as itself: draw again.
    while True:
        code = secrets.token_urlsafe(CODE_BYTES)
        if code[0] not in "-_":
            return code


@dataclass(frozen=True)
class Hunter:
    code: str
    submission_id: str  # the volunteer's own submission (their name and state are there)
    nation: str
    lang: str
    created_at: str


@dataclass(frozen=True)
class Credit:
    submission_id: str
    code: str
    kind: Kind
    nation: str
    at: str


class ReferralBook:
    """Codes and credits in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise InputError(f"{path}: cannot open the referral book ({exc})") from exc
        path.chmod(0o600)  # who recruited whom is supporter data too

    def issue(self, submission: Submission) -> str:
        """The volunteer's code (the same one if this submission already has one)."""
        with self._lock:
            row = self._db.execute(
                "SELECT code FROM hunters WHERE submission_id = ?", (submission.id,)
            ).fetchone()
            if row:
                return str(row[0])
            code = new_code()
            self._db.execute(
                "INSERT INTO hunters VALUES (?, ?, ?, ?, ?)",
                (code, submission.id, submission.nation, submission.lang, submission.created_at),
            )
            return code

    def credit(self, code: str, submission: Submission) -> bool:
        """Credit `submission` to the hunter of `code`; False for an unknown code or a
        volunteer's own code (nobody recruits themselves)."""
        with self._lock:
            row = self._db.execute(
                "SELECT submission_id FROM hunters WHERE code = ?", (code,)
            ).fetchone()
            if row is None or row[0] == submission.id:
                return False
            self._db.execute(
                "INSERT OR IGNORE INTO credits VALUES (?, ?, ?, ?, ?)",
                (submission.id, code, submission.kind, submission.nation, submission.created_at),
            )
            return True

    def hunters(self) -> list[Hunter]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM hunters ORDER BY created_at, code").fetchall()
        return [Hunter(*row) for row in rows]

    def credits(self) -> list[Credit]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM credits ORDER BY at, submission_id").fetchall()
        return [Credit(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


@dataclass
class _Pending:
    """What one submission's handling knows about referrals (one request, one thread)."""

    ref: str
    request: IntakeRequest
    issued: str = ""


_CURRENT: ContextVar[_Pending | None] = ContextVar("referral", default=None)


class ReferralIntake(Intake):
    """The intake API with pledge hunters (see the module docstring)."""

    def __init__(self, *args: Any, book: ReferralBook, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.book = book
        self.store = ReferralStore(self.store, book)
        self.templates = ReferralTemplates(self.templates, self.share_url)

    def submit(self, kind: Kind, request: IntakeRequest) -> IntakeResponse:
        ref, body = _take_ref(request.body)
        pending = _Pending(ref, request)
        token = _CURRENT.set(pending)
        try:
            response = super().submit(kind, replace(request, body=body))
        finally:
            _CURRENT.reset(token)
        if response.status == 303 and pending.issued and response.location:
            return _with_ref(response, pending.issued)  # the thank-you page shows the link
        return response

    def share_url(self, request: IntakeRequest, slug: str, lang: str, code: str) -> str:
        """The hunter's link: their nation's messages page, carrying their code, on the
        host the form was posted to when it is one of ours (else the nation's domain)."""
        nation = self.directory.get(slug)
        if nation is None:
            return ""
        page = nation.page_path(SHARE_PAGE, lang) or nation.page_path("home", lang) or ""
        if request.host and self.directory.is_network_host(request.host):
            served = self.directory.by_host(request.host)
            own = served is not None and served.slug == slug
            base = f"{request.scheme}://{request.host}/{'' if own else slug + '/'}"
        else:
            base = f"https://{nation.domain}/"
        return f"{base}{page}?{urlencode({FIELD: code})}"


class ReferralStore:
    """A `Store` that issues and credits codes once a submission is committed."""

    def __init__(self, inner: Any, book: ReferralBook):
        self.inner = inner
        self.book = book

    def add(self, submission: Submission, tokens: Tokens) -> None:
        self.inner.add(submission, tokens)  # committed first: a credit never outlives it
        pending = _CURRENT.get()
        if pending is None:
            return
        if pending.ref:
            self.book.credit(pending.ref, submission)
        if submission.kind == "volunteer":
            pending.issued = self.book.issue(submission)

    def close(self) -> None:
        self.inner.close()
        self.book.close()

    def __getattr__(self, name: str) -> Any:  # every other Store method, unchanged
        return getattr(self.inner, name)


class ReferralTemplates:
    """Email templates with the new hunter's share link in their confirmation email."""

    def __init__(self, inner: Any, link: Callable[[IntakeRequest, str, str, str], str]):
        self.inner = inner
        self.link = link

    def get(self, slug: str, lang: str, email_id: str) -> Mapping[str, str] | None:
        template = self.inner.get(slug, lang, email_id)
        pending = _CURRENT.get()
        if template is None or email_id != CONFIRM_EMAIL or pending is None or not pending.issued:
            return template
        url = self.link(pending.request, slug, lang, pending.issued)
        return with_share_link(template, url, lang) if url else template


def with_share_link(template: Mapping[str, str], url: str, lang: str) -> dict[str, str]:
    """Fill `{{share_url}}`; a template without it gets one sentence with the link."""
    filled = dict(template)
    for part in ("TextPart", "HtmlPart"):
        text = filled.get(part, "")
        if "{{share_url}}" in text.replace(" ", ""):
            filled[part] = re.sub(r"\{\{\s*share_url\s*\}\}", url, text)
            continue
        sentence = SHARE_SENTENCE.get(lang, SHARE_SENTENCE["fr"])
        if part == "TextPart":
            filled[part] = f"{text.rstrip()}\n\n{sentence}\n{url}\n"
        else:
            link = f'<p>{sentence} <a href="{url}">{url}</a></p>'
            end = "</body>"
            filled[part] = text.replace(end, link + end, 1) if end in text else text + link
    return filled


def _take_ref(body: bytes) -> tuple[str, bytes]:
    """The form's `ref` (when well-formed) and the body without it, for the core."""
    try:
        pairs = form_fields.parse_form(body)
    except form_fields.UnreadableForm:
        return "", body  # the core answers that one
    refs = [value for name, value in pairs if name == FIELD]
    if not refs:
        return "", body
    kept = [(name, value) for name, value in pairs if name != FIELD]
    ref = refs[0].strip()
    return (ref if CODE.match(ref) else ""), urlencode(kept).encode()


def _with_ref(response: IntakeResponse, code: str) -> IntakeResponse:
    location = response.location or ""
    joined = f"{location}{'&' if '?' in location else '?'}{FIELD}={code}"
    headers = tuple((k, joined if k == "Location" else v) for k, v in response.headers)
    return replace(response, headers=headers)


@contextmanager
def open_book(path: Path) -> Iterator[ReferralBook | None]:
    """The book at `path` when it exists (reading for a deploy), else None."""
    if not path.is_file():
        yield None
        return
    book = ReferralBook(path)
    try:
        yield book
    finally:
        book.close()
