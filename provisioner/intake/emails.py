"""The confirmation email (double opt-in), from the nation's own rendered template.

Deploy renders every email of a nation's blueprint, in each language, as an SES-style
template with placeholders (`{{first_name}}`, `{{confirm_url}}`,
`{{unsubscribe_url}}`): `build/emails/<slug>/<lang>/confirm.json`. Intake fills the
placeholders in (HTML-escaped in the HTML part) and adds the one-click unsubscribe
headers of RFC 8058, so every email can be left with one click.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape
from pathlib import Path
from typing import Protocol

CONFIRM_EMAIL = "confirm"
# Long header lines are allowed by RFC 5322 (up to 998 characters); folding a URL with
# no spaces would turn it into encoded words, which no mail client reads as a link.
_POLICY = policy.SMTP.clone(max_line_length=998)
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


class EmailTemplates(Protocol):
    """Where rendered email templates come from (local files, or a bundle in the cloud)."""

    def get(self, slug: str, lang: str, email_id: str) -> Mapping[str, str] | None:
        """`{"SubjectPart", "TextPart", "HtmlPart"}` or None when there is none."""
        ...


class LocalTemplates:
    """Templates of a local deploy: `<emails>/<slug>/<lang>/<id>.json`, re-read when changed."""

    def __init__(self, emails: Path):
        self.emails = emails
        self._cache: dict[Path, tuple[int, dict[str, str]]] = {}

    def get(self, slug: str, lang: str, email_id: str) -> Mapping[str, str] | None:
        path = self.emails / slug / lang / f"{email_id}.json"
        try:
            stamp = path.stat().st_mtime_ns
            cached = self._cache.get(path)
            if cached is None or cached[0] != stamp:
                cached = (stamp, json.loads(path.read_text("utf-8")))
                self._cache[path] = cached
            return cached[1]
        except (OSError, ValueError):
            return None


def fill(text: str, values: Mapping[str, str], html: bool = False) -> str:
    """Replace `{{name}}` placeholders; an unknown placeholder becomes empty."""
    return _PLACEHOLDER.sub(
        lambda m: escape(values.get(m.group(1), "")) if html else values.get(m.group(1), ""),
        text,
    )


def compose(
    template: Mapping[str, str],
    sender: str,
    to: str,
    values: Mapping[str, str],
    unsubscribe_url: str,
) -> EmailMessage:
    """A multipart (text + HTML) message with one-click unsubscribe headers."""
    message = EmailMessage(policy=_POLICY)
    message["Subject"] = fill(template["SubjectPart"], values).strip()
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">") or None)
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(fill(template["TextPart"], values))
    message.add_alternative(fill(template["HtmlPart"], values, html=True), subtype="html")
    return message
