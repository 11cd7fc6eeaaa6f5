"""The request-handling core: a parsed request in, a response out, no server inside.

`Intake.handle(IntakeRequest) -> IntakeResponse` is the whole API:

    POST /api/pledge | /api/volunteer | /api/subscribe   (form-urlencoded)
        303 to the thank-you page (after the row is committed), 422 invalid (a page
        naming each field), 404 unknown nation, 413 body over 16 KB, 403 foreign
        Origin/Referer, 429 rate-limited (Retry-After), 415 not a form, 405 not POST,
        503 when the store failed (nothing acknowledged: the person may send again)
    GET  /api/confirm?t=TOKEN       303 to the confirmation page, 410 unknown/used/expired
    GET  /api/unsubscribe?t=TOKEN   303 to the unsubscribed page, 410 unknown
    POST /api/unsubscribe?t=TOKEN   RFC 8058 one-click: 200

Entry points (the Starlette app of `serve`, the Lambda handler) only translate their
request into an `IntakeRequest` and the response back; everything else lives here.
No supporter data is ever logged: log lines carry the nation, kind and outcome only.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast
from urllib.parse import urlsplit

from provisioner.intake import fields as form_fields
from provisioner.intake import messages, pages
from provisioner.intake.directory import Directory, NationEntry
from provisioner.intake.emails import CONFIRM_EMAIL, EmailTemplates, compose
from provisioner.intake.model import KINDS, ConsentProof, Kind, Submission, Tokens
from provisioner.intake.outbox import Outbox, OutboxError
from provisioner.intake.ratelimit import RateLimiter
from provisioner.intake.store import Store
from provisioner.intake.tokens import keyed_hash, looks_like_token, new_token, token_hash

MAX_BODY_BYTES = 16 * 1024
CONFIRM_TTL = timedelta(days=7)
FORM_TYPE = "application/x-www-form-urlencoded"
log = logging.getLogger("provisioner.intake")


@dataclass(frozen=True)
class IntakeRequest:
    """What the core needs of an HTTP request; entry points fill it in.

    `client` is the peer address (already resolved through trusted proxies by the
    entry point), `host` the Host header (with its port), `scheme` http or https.
    `content_length` is the declared length, when known: an entry point that refuses
    to read a body over `MAX_BODY_BYTES` passes it with an empty `body`.
    """

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    content_type: str = ""
    client: str = ""
    host: str = ""
    scheme: str = "http"
    origin: str | None = None
    referer: str | None = None
    content_length: int | None = None


@dataclass(frozen=True)
class IntakeResponse:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def location(self) -> str | None:
        return dict(self.headers).get("Location")


def now_iso(clock: Callable[[], float] = time.time) -> str:
    return datetime.fromtimestamp(clock(), UTC).isoformat(timespec="milliseconds")


class Intake:
    """The intake API over one directory, store and outbox. Thread-safe.

    `secret` keys the client-address hashes (keep it stable: `serve` stores it beside
    the store). `directory` may be replaced at any time (a redeploy changed the sites).
    """

    def __init__(
        self,
        directory: Directory,
        store: Store,
        outbox: Outbox,
        templates: EmailTemplates,
        secret: bytes,
        rate_limit: int = 30,
        clock: Callable[[], float] = time.time,
    ):
        self.directory = directory
        self.store = store
        self.outbox = outbox
        self.templates = templates
        self.secret = secret
        self.limiter = RateLimiter(rate_limit)
        self.clock = clock

    def handle(self, request: IntakeRequest) -> IntakeResponse:
        path = request.path.rstrip("/")
        action = path.removeprefix("/api/")
        if action in KINDS:
            if request.method != "POST":
                return _refusal(405, ("Allow", "POST"))
            return self.submit(cast(Kind, action), request)
        if action == "confirm":
            return self.confirm(request)
        if action == "unsubscribe":
            return self.unsubscribe(request)
        return _refusal(404)

    # -- submissions -----------------------------------------------------------------

    def submit(self, kind: Kind, request: IntakeRequest) -> IntakeResponse:
        declared = request.content_length or 0
        if max(declared, len(request.body)) > MAX_BODY_BYTES:
            return _refusal(413)
        if not self._same_network(request):
            return _refusal(403)
        allowed, wait = self.limiter.allow(request.client)
        if not allowed:
            return _refusal(429, ("Retry-After", str(wait)))
        if request.content_type.split(";")[0].strip().lower() != FORM_TYPE:
            return _refusal(415)
        try:
            grouped = form_fields.group(form_fields.parse_form(request.body))
        except form_fields.UnreadableForm:
            return _refusal(400)
        nation = self.directory.get(_first(grouped, "nation"))
        if nation is None:
            return _refusal(404)
        return self._accept(kind, nation, grouped, request)

    def _accept(
        self,
        kind: Kind,
        nation: NationEntry,
        grouped: dict[str, list[str]],
        request: IntakeRequest,
    ) -> IntakeResponse:
        lang = _first(grouped, "lang")
        source = _first(grouped, "source")
        rules = form_fields.Rules(nation.country, nation.postcode_pattern)
        form = form_fields.clean(kind, grouped, rules)
        if lang not in nation.languages:
            form.problems.insert(0, form_fields.FieldProblem("lang", "choice"))
            lang = nation.languages[0]
        if source not in nation.pages:
            form.problems.insert(0, form_fields.FieldProblem("source", "choice"))
        if form.problems:
            base = self._base_path(nation, request)
            body = pages.invalid_page(nation, lang, form.problems, base, source)
            return IntakeResponse(422, body, (("Content-Type", pages.HTML),))
        thanks = self._page_location(nation, "merci", lang, request)
        if _first(grouped, form_fields.HONEYPOT):
            log.info("intake %s %s: honeypot filled, dropped", nation.slug, kind)
            return _redirect(thanks)  # a robot learns nothing from the answer
        submission = self._submission(kind, nation, lang, source, form, request)
        confirm, unsubscribe = new_token(), new_token()
        expires = datetime.fromtimestamp(self.clock(), UTC) + CONFIRM_TTL
        tokens = Tokens(token_hash(confirm), token_hash(unsubscribe), expires.isoformat())
        try:
            self.store.add(submission, tokens)  # committed (on disk) when this returns
        except Exception as exc:  # any store failure: not acknowledged, the person retries
            log.error("intake %s %s: not stored (%s)", nation.slug, kind, type(exc).__name__)
            return _refusal(503, ("Retry-After", "30"))
        self._send_confirmation(nation, submission, request, confirm, unsubscribe)
        log.info("intake %s %s: stored", nation.slug, kind)
        return _redirect(thanks)

    def _submission(
        self,
        kind: Kind,
        nation: NationEntry,
        lang: str,
        source: str,
        form: form_fields.CleanForm,
        request: IntakeRequest,
    ) -> Submission:
        at = now_iso(self.clock)
        page = f"site:{nation.slug}/{source}"
        privacy = nation.privacy_version.get(lang, "")
        wording = nation.consent.get(lang, {})
        consents = tuple(
            ConsentProof(channel, wording.get(channel, ""), privacy, page, at)
            for channel in form.channels
        )
        return Submission(
            id=secrets.token_hex(12),
            kind=kind,
            nation=nation.slug,
            routed_to=self.directory.route(nation, form.postcode),
            lang=lang,
            source=page,
            first_name=form.first_name,
            last_name=form.last_name,
            email=form.email,
            phone=form.phone,
            postcode=form.postcode,
            tags=form.tags,
            message=form.message,
            consents=consents,
            client_hash=keyed_hash(self.secret, request.client),
            created_at=at,
        )

    def _send_confirmation(
        self,
        nation: NationEntry,
        submission: Submission,
        request: IntakeRequest,
        confirm: str,
        unsubscribe: str,
    ) -> None:
        """Mail the confirm link. A failure is logged, never raised: the row is stored."""
        template = self.templates.get(nation.slug, submission.lang, CONFIRM_EMAIL)
        if template is None:
            log.error("intake %s: no %s email template; deploy again", nation.slug, CONFIRM_EMAIL)
            return
        base = self._base_url(nation, request)
        unsubscribe_url = f"{base}/api/unsubscribe?t={unsubscribe}"
        values = {
            "first_name": submission.first_name,
            "last_name": submission.last_name,
            "email": submission.email,
            "confirm_url": f"{base}/api/confirm?t={confirm}",
            "unsubscribe_url": unsubscribe_url,
        }
        message = compose(template, nation.sender, submission.email, values, unsubscribe_url)
        try:
            self.outbox.send(message)
        except OutboxError as exc:
            log.error("intake %s: confirmation email not sent: %s", nation.slug, exc)

    # -- links from the emails -------------------------------------------------------

    def confirm(self, request: IntakeRequest) -> IntakeResponse:
        if request.method not in ("GET", "HEAD"):
            return _refusal(405, ("Allow", "GET"))
        token = request.query.get("t", "")
        found = (
            self.store.confirm(token_hash(token), now_iso(self.clock))
            if looks_like_token(token)
            else None
        )
        if found is None:
            return _refusal(410)
        log.info("intake %s %s: confirmed", found.nation, found.kind)
        return self._to_page(found.nation, "confirmation", found.lang, request)

    def unsubscribe(self, request: IntakeRequest) -> IntakeResponse:
        if request.method not in ("GET", "HEAD", "POST"):
            return _refusal(405, ("Allow", "GET, POST"))
        token = request.query.get("t", "")
        found = (
            self.store.unsubscribe(token_hash(token), now_iso(self.clock))
            if looks_like_token(token)
            else None
        )
        if found is None:
            return _refusal(410)
        log.info("intake %s: unsubscribed", found.nation)
        if request.method == "POST":  # RFC 8058 one-click, from the mail client
            return IntakeResponse(200, b"unsubscribed\n", (("Content-Type", "text/plain"),))
        return self._to_page(found.nation, "desinscription", found.lang, request)

    # -- where things are ------------------------------------------------------------

    def _to_page(
        self, slug: str, page_id: str, lang: str, request: IntakeRequest
    ) -> IntakeResponse:
        nation = self.directory.get(slug)
        if nation is None:  # the nation left the network since
            return _refusal(404)
        return _redirect(self._page_location(nation, page_id, lang, request))

    def _page_location(
        self, nation: NationEntry, page_id: str, lang: str, request: IntakeRequest
    ) -> str:
        path = nation.page_path(page_id, lang) or nation.page_path("home", lang) or ""
        return self._base_path(nation, request) + path

    def _base_path(self, nation: NationEntry, request: IntakeRequest) -> str:
        """`/` on the nation's own host, `/<slug>/` when sites are served by path."""
        served = self.directory.by_host(request.host)
        return "/" if served is not None and served.slug == nation.slug else f"/{nation.slug}/"

    def _base_url(self, nation: NationEntry, request: IntakeRequest) -> str:
        """Absolute origin for links in emails: where the form was, if it is ours."""
        if request.host and self.directory.is_network_host(request.host):
            return f"{request.scheme}://{request.host}"
        return f"https://{nation.domain}"

    def _same_network(self, request: IntakeRequest) -> bool:
        """The Origin (or, without one, the Referer) must be a host of the network.

        Browsers send Origin on every form POST; a client sending neither (curl, a
        script) is let through: the double opt-in still stands between it and a list.
        """
        if request.origin is not None:
            if request.origin == "null":  # an opaque origin: a sandboxed frame, a file
                return False
            return self.directory.is_network_host(urlsplit(request.origin).netloc)
        if request.referer:
            return self.directory.is_network_host(urlsplit(request.referer).netloc)
        return True


def _first(grouped: dict[str, list[str]], name: str) -> str:
    values = grouped.get(name)
    return values[0].strip() if values else ""


def _redirect(location: str) -> IntakeResponse:
    return IntakeResponse(303, b"", (("Location", location),))


def _refusal(status: int, *headers: tuple[str, str]) -> IntakeResponse:
    return IntakeResponse(
        status, messages.general_page(status), (("Content-Type", pages.HTML), *headers)
    )
