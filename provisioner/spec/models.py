"""pydantic models of nations.yaml, as written by users (extra keys are errors)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from provisioner.render.blueprints import Kind, Language


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Controller(Strict):
    """The GDPR data controller named on every privacy page."""

    name: str
    address: str
    email: str
    dpo_email: str | None = None


class Budgets(Strict):
    """What one nation's build may take; see budgets.py. The defaults are generous
    for any real site and stop a runaway template long before it hurts the others."""

    file_mb: float = Field(default=5, gt=0, le=1024)  # one rendered file or asset
    nation_mb: float = Field(default=50, gt=0, le=10240)  # all public files and emails
    render_seconds: float = Field(default=20, gt=0, le=3600)  # rendering its templates


class BudgetOverride(Strict):
    """A nation's own budgets, over the network's: only the keys it names change."""

    file_mb: float | None = Field(default=None, gt=0, le=1024)
    nation_mb: float | None = Field(default=None, gt=0, le=10240)
    render_seconds: float | None = Field(default=None, gt=0, le=3600)


class NetworkInfo(Strict):
    name: str
    base_domain: str
    controller: Controller
    budgets: Budgets = Field(default_factory=Budgets)  # every nation's, unless it overrides
    country: str = "BE"  # ISO 3166-1 alpha-2; picks the geography, phones and postcodes
    geography: str | None = None  # a CSV geography file, relative to nations.yaml
    # The network's own strings folder (i18n/, messages/, calls/), relative to
    # nations.yaml, layered over the blueprints' texts: a language they lack, or rewordings.
    strings: str | None = None
    # The next election: message and call scripts name the day.
    election_date: date | None = None


class Geo(Strict):
    region: str | None = None
    province: str | None = None
    municipality: str | None = None
    postcodes: list[str] = Field(default_factory=list)
    areas: list[str] = Field(default_factory=list)  # area codes of the geography


class Contact(Strict):
    email: str | None = None
    phone: str | None = None
    address: str | None = None


class Candidate(Strict):
    first_name: str
    last_name: str
    list_name: str | None = None
    list_position: int | None = None
    role: str | None = None


class Colors(Strict):
    primary: str | None = None
    accent: str | None = None


class Content(Strict):
    slogan: str | None = None
    bio: str | None = None
    photo: str | None = None
    photo_alt: str | None = None
    colors: Colors | None = None
    social: dict[str, str] = Field(default_factory=dict)


class NationEntry(Strict):
    """One item of `nations:` after the blueprint defaults were merged under it."""

    slug: str
    name: str
    blueprint: str
    kind: Kind | None = None
    parent: str | None = None
    languages: list[Language] | None = None
    domain: str | None = None
    geo: Geo = Field(default_factory=Geo)
    tags: list[str] = Field(default_factory=list)
    contact: Contact | None = None
    candidate: Candidate | None = None
    content: Content = Field(default_factory=Content)
    budgets: BudgetOverride | None = None


class SpecFile(Strict):
    """The top level of nations.yaml; `nations` is validated item by item."""

    version: int = 1
    network: NetworkInfo
    defaults: dict[str, dict[str, Any]] = Field(default_factory=dict)
    nations: list[Any]
