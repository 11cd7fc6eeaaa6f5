"""Shared SES email templates: each registered once per network, through the shared rate limit.

Template names end with a digest of their content (see provisioner/render/sestemplates.py), so
a name either exists with the right content or not at all: registering is CreateTemplate
once, never an update, and a changed email is a new name. Names no live nation uses any
more (an email the blueprint dropped, the previous version of a changed one) are
deleted when the run saves its index.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from provisioner.targets.ratelimit import RateLimits

ALREADY = {"AlreadyExists", "TemplateNameAlreadyExists"}
GONE = {"TemplateDoesNotExist", "NotFoundException"}


class SharedTemplates:
    """Thread-safe: when many nations need one template, one registers it, the rest wait."""

    def __init__(self, ses: Any, limits: RateLimits, known: Iterable[str] = ()):
        self.ses, self.limits = ses, limits
        self.known: set[str] = set(known)  # exist in SES (the index says a live nation uses them)
        self.registered: list[str] = []
        self.deleted: list[str] = []
        self._turns: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def ensure(self, templates: Mapping[str, bytes]) -> None:
        """Make sure every template exists before a nation that names it goes live."""
        for name in sorted(templates):
            if name in self.known:
                continue
            with self._lock:
                turn = self._turns.setdefault(name, threading.Lock())
            with turn:
                if name not in self.known:
                    self._create(json.loads(templates[name]))
                    with self._lock:
                        self.known.add(name)
                        self.registered.append(name)

    def _create(self, template: dict[str, Any]) -> None:
        self.limits.acquire("ses")
        try:
            self.ses.create_template(Template=template)
        except ClientError as exc:
            # Same name, same content: a shard of this run or an earlier crashed run made it.
            if exc.response.get("Error", {}).get("Code") not in ALREADY:
                raise

    def forget(self, names: Iterable[str]) -> None:
        """Delete templates no live nation uses (each call waits for its turn)."""
        for name in sorted(names):
            self.limits.acquire("ses")
            try:
                self.ses.delete_template(TemplateName=name)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in GONE:
                    raise
            self.known.discard(name)
            self.deleted.append(name)
