"""A nation's emails on S3: what SES sends with, kept per release so rollback restores it.

On S3 the emails area of a release is the send-time data naming shared SES templates
(`emails/<slug>.json`, the live copy read at send time) and those templates. Emails are
versioned like pages (targets/base.py, VERSIONED_AREAS), so each release also keeps both
in `emails/<slug>/<release>.json`: activating a release registers its templates again
(unused ones are deleted at the end of a run) and makes its send data the live copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from provisioner.render.build import Build


@dataclass(frozen=True)
class ReleaseEmails:
    """The send data of a release (path -> template name and data) and its templates."""

    sends: dict[str, Any]
    templates: dict[str, bytes]  # name -> CreateTemplate payload (JSON)

    @classmethod
    def of(cls, build: Build) -> ReleaseEmails:
        sends = {}
        for path, data in sorted(build.files["emails"].items()):
            if path.endswith(".json"):
                email = json.loads(data)
                sends[path] = {"Template": email["Template"], "TemplateData": email["TemplateData"]}
        return cls(sends, dict(build.templates))

    def sends_json(self) -> bytes:
        return json.dumps(self.sends, sort_keys=True).encode()

    def to_json(self) -> bytes:
        templates = {name: json.loads(payload) for name, payload in self.templates.items()}
        return json.dumps({"sends": self.sends, "templates": templates}, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ReleaseEmails:
        loaded = json.loads(data)
        templates = {n: json.dumps(t).encode() for n, t in loaded.get("templates", {}).items()}
        return cls(loaded.get("sends", {}), templates)


def sends_changed(touched: list[str]) -> bool:
    """Did a publish touch any send-time email (emails/<lang>/<id>.json)?"""
    return any(e.startswith("emails/") and e.endswith(".json") for e in touched)
