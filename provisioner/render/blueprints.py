"""The blueprint catalog: which blueprints exist and what each manifest declares.

Rendering lives in `rendering.py`; this module only reads manifests and hashes files,
so the spec loader and the infra program can use it without Jinja.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from provisioner.errors import BlueprintError
from provisioner.render.strings import I18N, SafeLoader, Strings, load_strings

BASE_NAME = "_base"
ASSETS = "assets"  # a blueprint's (and the base's) files copied into every site as they are
Language = str  # a BCP 47 tag; the spec checks that strings exist for it
Kind = Literal["national", "region", "province", "section", "candidate"]
# What a message script is for, on the "pass the word" page (data-message-kind).
MessageKind = Literal["first", "variant", "follow-up", "reply"]


class PageSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: str
    path: dict[Language, str]
    nav: bool = True  # false: reached from a link or a redirect only (intake's pages)


class MessageSpec(BaseModel):
    """One message script a volunteer sends; its text is in `messages/<lang>.yaml`."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: MessageKind


class Manifest(BaseModel):
    """A blueprint's manifest.yaml."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    kind: Kind
    required: list[str] = Field(default_factory=list)
    pages: dict[str, PageSpec]
    emails: list[str] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list)
    dialers: list[str] = Field(default_factory=list)
    messages: list[MessageSpec] = Field(default_factory=list)


@dataclass(frozen=True)
class Blueprint:
    name: str
    root: Path
    manifest: Manifest
    network_strings: Path | None = None  # the network's strings folder, layered last

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    def page_path(self, page_id: str, lang: str) -> str:
        """The page's file name in `lang`; a language the manifest does not name gets the
        first path listed (a URL needs no translation to work)."""
        paths = self.manifest.pages[page_id].path
        return paths.get(lang) or next(iter(paths.values()))


class Catalog:
    """Blueprints found under one directory (`blueprints/` by default), with the
    network's own strings folder (`network.strings`) layered over their texts."""

    def __init__(self, root: Path, network_strings: Path | None = None):
        self.root = root
        self.network_strings = network_strings
        self._blueprints: dict[str, Blueprint] = {}
        self._digests: dict[str, tuple[str, str]] = {}  # name -> (digest, pages digest)
        self._strings: dict[tuple[str, str, str, str], Strings] = {}

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
        )

    def get(self, name: str) -> Blueprint:
        if name not in self._blueprints:
            self._blueprints[name] = self._load(name)
        return self._blueprints[name]

    def strings(self, name: str, lang: str, country: str, folder: str = I18N) -> Strings:
        """Texts of blueprint `name` in `lang` from `folder` (i18n, messages, calls):
        shared, then per country (i18n only), then its own, then the network's."""
        key = (name, lang, country, folder)
        if key not in self._strings:
            shared = self.base / folder
            countries = [shared / "countries" / country] if folder == I18N else []
            folders = [shared, *countries, self.root / name / folder]
            network = self.network_strings / folder if self.network_strings else None
            self._strings[key] = load_strings(folders, lang, network)
        return self._strings[key]

    @property
    def base(self) -> Path:
        return self.root / BASE_NAME

    def digest(self, name: str) -> str:
        """Hash of every file of the blueprint, the shared base and the network's
        strings (for fingerprints)."""
        return self._digests_of(name)[0]

    def pages_digest(self, name: str) -> str:
        """`digest` without the bytes of the shared assets (their names stay in): what
        a nation's pages and emails depend on. No page embeds an asset's bytes or hash
        (`asset()` is a plain relative link), so a stylesheet fix changes this not."""
        return self._digests_of(name)[1]

    def _digests_of(self, name: str) -> tuple[str, str]:
        if name not in self._digests:  # both from one reading of the files
            extra = [self.network_strings] if self.network_strings else []
            roots = [self.base, self.root / name, *extra]
            self._digests[name] = tree_digests(roots, names_only=ASSETS)
        return self._digests[name]

    def _load(self, name: str) -> Blueprint:
        root = self.root / name
        path = root / "manifest.yaml"
        if not path.is_file():
            known = ", ".join(self.names()) or "none"
            raise BlueprintError(
                f"{path}: blueprint {name!r} has no manifest.yaml; known blueprints: {known}"
            )
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=SafeLoader)
            manifest = Manifest.model_validate(data)
        except yaml.YAMLError as exc:
            raise BlueprintError(f"{path}: invalid YAML: {exc}") from exc
        except ValidationError as exc:
            details = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise BlueprintError(f"{path}: invalid manifest: {details}") from exc
        return Blueprint(name, root, manifest, self.network_strings)


def tree_digest(roots: list[Path]) -> str:
    """A stable hash of the names and contents of every file under `roots`."""
    return tree_digests(roots, names_only="")[0]


def tree_digests(roots: list[Path], names_only: str) -> tuple[str, str]:
    """`tree_digest`, and the same with only the names of the files under a root's
    `names_only` folder, from one reading of the files."""
    whole, names = hashlib.sha256(), hashlib.sha256()
    for root in roots:
        if not root.exists():
            continue
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = file.relative_to(root.parent)
            for digest in (whole, names):
                digest.update(str(relative).encode() + b"\0")
            content = hashlib.sha256(file.read_bytes()).digest()
            whole.update(content)
            if relative.parts[1:2] != (names_only,):
                names.update(content)
    return whole.hexdigest(), names.hexdigest()
