"""Nation in, Build out: every file a nation is made of, computed without side effects."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from provisioner import __version__
from provisioner.blueprints import Blueprint, Catalog, tree_digest
from provisioner.callscripts import FOLDER as CALLS
from provisioner.callscripts import CallScripts
from provisioner.context import email_context, nation_data, network_data, page_context
from provisioner.errors import BlueprintError, NationError
from provisioner.hunters import HunterSource
from provisioner.messages import MessageBook
from provisioner.network import Nation, Network
from provisioner.rendering import Renderer
from provisioner.yamlsource import deep_merge

AREAS = ("sites", "private", "emails")
EMAIL_PARTS = {"subject": "subject.txt.j2", "text": "text.txt.j2", "html": "html.html.j2"}
# Bump when the output format changes, so every nation rebuilds once.
BUILD_FORMAT = 1


class BuildInputError(NationError):
    """A nation's own files cannot be published as they are."""


class PrivateSource(Protocol):
    """Where a nation's private files (supporter lists) come from; see audience.py."""

    def digest(self, nation: Nation) -> str: ...
    def load(self) -> None: ...
    def input_bytes(self) -> int: ...
    def private_files(
        self, nation: Nation, blueprint: Blueprint
    ) -> tuple[dict[str, bytes], dict[str, int]]: ...


@dataclass
class Build:
    """Everything published for one nation, by area (sites, private, emails) and path."""

    slug: str
    fingerprint: str
    files: dict[str, dict[str, bytes]] = field(default_factory=lambda: {a: {} for a in AREAS})
    counts: dict[str, int] = field(default_factory=dict)
    # Private files that do not come from the supporter lists (call scripts from
    # templates, hunters.csv from intake): kept apart so that reused supporter lists
    # (see `set_private`) never bring back an old version of them.
    extra_private: dict[str, bytes] = field(default_factory=dict)

    _manifest: dict[str, str] | None = field(default=None, repr=False)

    def manifest(self) -> dict[str, str]:
        """`area/path` -> sha256 of the content; what a target compares to skip writes.

        Computed once (in the build process) and carried with the build.
        """
        if self._manifest is None:
            self._manifest = {
                f"{area}/{path}": hashlib.sha256(data).hexdigest()
                for area in AREAS
                for path, data in sorted(self.files[area].items())
            }
        return self._manifest

    def sha256(self, area: str, path: str) -> str:
        return self.manifest()[f"{area}/{path}"]

    def set_private(self, files: dict[str, bytes], counts: dict[str, int]) -> None:
        """Fill in private lists produced elsewhere (reused from the live release)."""
        self.files["private"] = {**files, **self.extra_private}
        self.counts, self._manifest = counts, None
        self.manifest()

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.manifest(), sort_keys=True).encode()).hexdigest()


class Builder:
    """Builds nations of one network; safe to share across threads once constructed."""

    def __init__(
        self,
        network: Network,
        catalog: Catalog,
        nations_dir: Path,
        audience: PrivateSource | None = None,
        hunters: HunterSource | None = None,
    ):
        self.network = network
        self.hunters = hunters
        self.catalog = catalog
        self.nations_dir = nations_dir
        self.audience = audience
        used = sorted({nation.blueprint for nation in network})
        self.renderers = {name: self._renderer(name) for name in used}
        self.strings = {name: self._strings(catalog.get(name)) for name in used}
        self.assets = {name: self._shared_assets(catalog.get(name)) for name in used}
        self.messages = {
            name: MessageBook(catalog.get(name), catalog.base, self.renderers[name].env)
            for name in used
        }

    def prepare(self) -> None:
        """Load heavy inputs (supporters) once, before builds start or processes fork."""
        if self.audience is not None:
            self.audience.load()

    def _renderer(self, name: str) -> Renderer:
        return Renderer(self.catalog.get(name), self.catalog.base / "templates", self.nations_dir)

    def fingerprint(self, nation: Nation) -> str:
        """Hash of every input of the nation: rebuild only when this changes."""
        inputs = {
            "format": [BUILD_FORMAT, __version__],
            "nation": nation_data(self.network, nation),
            "network": network_data(self.network),
            "blueprint": self.catalog.digest(nation.blueprint),
            "own_files": tree_digest([self.nations_dir / nation.slug]),
            "private": self.audience.digest(nation) if self.audience else "",
        }
        if self.hunters is not None:  # only then: no intake leaves fingerprints as they were
            inputs["hunters"] = self.hunters.digest(nation.slug)
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()

    def private_fingerprint(self, nation: Nation) -> str:
        """Hash of what a nation's private lists depend on; a page edit leaves it alone."""
        if self.audience is None:
            return ""
        manifest = self.catalog.get(nation.blueprint).manifest
        inputs = {
            "format": [BUILD_FORMAT, __version__],
            "supporters": self.audience.digest(nation),
            "tags": list(nation.all_tags),
            "coverage": list(nation.coverage),
            "segments": manifest.segments,
            "dialers": manifest.dialers,
        }
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()

    def build(
        self, nation: Nation, fingerprint: str | None = None, with_private: bool = True
    ) -> Build:
        """Everything of `nation`; `with_private=False` leaves its private lists out, for
        a caller that reuses the live ones (see `Engine`)."""
        blueprint = self.catalog.get(nation.blueprint)
        result = Build(nation.slug, fingerprint or self.fingerprint(nation))
        base = self.base_context(
            nation, nation_data(self.network, nation, self.nations_dir / nation.slug)
        )
        book = self.messages[nation.blueprint]
        namespaced = self.renderers[nation.blueprint].has_overrides(nation.slug)
        result.files["sites"] = self._site(nation, blueprint, base, namespaced)
        result.files["emails"] = self._emails(nation, blueprint, base, namespaced)
        if self.audience is not None and book.has_folder(CALLS):
            dialers = blueprint.manifest.dialers
            result.extra_private = CallScripts(book).files(base["nation"], base["network"], dialers)
        if self.hunters is not None:
            result.extra_private["hunters.csv"] = self.hunters.csv_bytes(nation.slug)
        result.files["private"] = dict(result.extra_private)
        if self.audience is not None and with_private:
            result.set_private(*self.audience.private_files(nation, blueprint))
        result.manifest()
        return result

    def base_context(self, nation: Nation, data: dict[str, Any]) -> dict[str, Any]:
        """What every page and email of `nation` sees; `data` is its `nation` variable."""
        base = {
            "nation": data,
            "network": network_data(self.network),
            "strings": self.strings[nation.blueprint],
        }
        book = self.messages[nation.blueprint]
        declared = bool(self.catalog.get(nation.blueprint).manifest.messages)
        base["messages"] = {
            lang: book.page_data(data, base["network"], lang)
            for lang in (nation.languages if declared else ())
        }
        zero = {"hunters": 0, "pledges": 0, "signups": 0}
        base["hunting"] = self.hunters.public_counts(nation.slug) if self.hunters else zero
        return base

    def private_input_bytes(self) -> int:
        """Size of the supporter export (0 without one): decides where lists are built."""
        return self.audience.input_bytes() if self.audience is not None else 0

    def private_files(self, nation: Nation) -> tuple[dict[str, bytes], dict[str, int]]:
        if self.audience is None:
            return {}, {}
        return self.audience.private_files(nation, self.catalog.get(nation.blueprint))

    def _site(
        self, nation: Nation, blueprint: Blueprint, base: dict[str, Any], namespaced: bool
    ) -> dict[str, bytes]:
        renderer = self.renderers[nation.blueprint]
        files: dict[str, bytes] = {}
        for lang in nation.languages:
            for page_id, page in blueprint.manifest.pages.items():
                ctx = page_context(base, blueprint, page_id, lang, at_root=False)
                html = renderer.render(nation.slug, page.template, ctx, namespaced)
                files[f"{lang}/{blueprint.page_path(page_id, lang)}"] = html.encode()
        home = blueprint.manifest.pages["home"].template
        root_ctx = page_context(base, blueprint, "home", nation.languages[0], at_root=True)
        files["index.html"] = renderer.render(nation.slug, home, root_ctx, namespaced).encode()
        files.update(self.assets[nation.blueprint])
        files.update(_folder_files(self.nations_dir / nation.slug / "assets", "assets/"))
        pages = {
            page_id: {lang: blueprint.page_path(page_id, lang) for lang in nation.languages}
            for page_id in blueprint.manifest.pages
        }
        files["nation.json"] = _public_manifest(base["nation"], sorted(files), pages).encode()
        return files

    def _emails(
        self, nation: Nation, blueprint: Blueprint, base: dict[str, Any], namespaced: bool
    ) -> dict[str, bytes]:
        renderer = self.renderers[nation.blueprint]
        files: dict[str, bytes] = {}
        for lang in nation.languages:
            for email_id in blueprint.manifest.emails:
                ctx = email_context(base, email_id, lang)
                parts = {
                    part: renderer.render(nation.slug, f"emails/{email_id}/{name}", ctx, namespaced)
                    for part, name in EMAIL_PARTS.items()
                }
                template = {
                    "TemplateName": f"{nation.slug}--{email_id}--{lang}",
                    "SubjectPart": parts["subject"].strip(),
                    "TextPart": parts["text"],
                    "HtmlPart": parts["html"],
                }
                files[f"{lang}/{email_id}.json"] = _json(template).encode()
                files[f"{lang}/{email_id}.html"] = parts["html"].encode()
                files[f"{lang}/{email_id}.txt"] = parts["text"].encode()
        return files

    def _strings(self, blueprint: Blueprint) -> dict[str, dict[str, Any]]:
        strings: dict[str, dict[str, Any]] = {}
        for lang in ("fr", "nl"):
            merged: dict[str, Any] = {}
            for folder in (self.catalog.base, blueprint.root):
                path = folder / "i18n" / f"{lang}.yaml"
                if path.is_file():
                    merged = deep_merge(merged, _read_yaml(path))
            strings[lang] = merged
        return strings

    def _shared_assets(self, blueprint: Blueprint) -> dict[str, bytes]:
        files = _folder_files(self.catalog.base / "assets", "assets/")
        files.update(_folder_files(blueprint.root / "assets", "assets/"))
        return files


def _folder_files(folder: Path, prefix: str) -> dict[str, bytes]:
    """Files under `folder`; a symlink leading outside it is an error, never published."""
    if not folder.is_dir():
        return {}
    root = folder.resolve()
    files = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        if not path.resolve().is_relative_to(root):
            raise BuildInputError(
                f"{path} links outside {folder}; copy the file into the folder instead"
            )
        files[prefix + path.relative_to(folder).as_posix()] = path.read_bytes()
    return files


def _public_manifest(
    nation: dict[str, Any], files: list[str], pages: dict[str, dict[str, str]]
) -> str:
    public_keys = (
        *("slug", "name", "kind", "blueprint", "languages", "domain", "url"),
        *("geo", "coverage", "tags", "inherited_tags", "all_tags"),
    )
    data = {key: nation[key] for key in public_keys}
    data["parent"] = nation["parent"]["slug"] if nation["parent"] else None
    data["children"] = [child["slug"] for child in nation["children"]]
    data["pages"] = pages  # page id -> lang -> path in the language's folder (DESIGN.md)
    data["files"] = [*files, "nation.json"]
    data["generator"] = f"provisioner {__version__}"
    return _json(data)


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise BlueprintError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise BlueprintError(f"{path}: must be a mapping of strings")
    return data
