"""Nation in, Build out: every file a nation is made of, computed without side effects."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from pathlib import Path
from typing import Any, Protocol

from provisioner import __version__
from provisioner.candidates.problems import Problem
from provisioner.candidates.rules import CandidateRuleError, rule_problems
from provisioner.candidates.site_content import load_site_content, site_fields
from provisioner.errors import NationError
from provisioner.render import budgets
from provisioner.render.blueprints import ASSETS, Blueprint, Catalog, tree_digest
from provisioner.render.callscripts import FOLDER as CALLS
from provisioner.render.callscripts import CallScripts
from provisioner.render.codecache import DiskCode
from provisioner.render.context import nation_data, network_data
from provisioner.render.fingerprint import fingerprint, spec_inputs
from provisioner.render.manifest import Manifest
from provisioner.render.messages import MessageBook
from provisioner.render.rendering import Renderer
from provisioner.render.renderplan import (
    ASSET,
    EMAIL,
    MANIFEST,
    Output,
    RenderPlan,
    plan_outputs,
    render_parts,
)
from provisioner.render.sestemplates import split, template_json, template_name
from provisioner.render.sharing import SharedCode, shared_modules
from provisioner.spec.network import Nation, Network
from provisioner.supporters.hunters import HunterSource

AREAS = ("sites", "private", "emails")
# Form strings (t.form.*) that are the consent wording, per channel (see intake/).
CONSENT_KEYS = {"email": "consent", "phone": "consent_phone", "sms": "consent_sms"}
# Bump when the output format changes, so every nation rebuilds once.
BUILD_FORMAT = 2


class BuildInputError(NationError):
    """A nation's own files cannot be published as they are."""


class PrivateSource(Protocol):
    """Where a nation's private files (supporter lists) come from; see audience.py."""

    def digest(self, nation: Nation) -> str: ...
    def load(self) -> None: ...
    def digests_known(self) -> bool: ...
    def private_files(
        self, nation: Nation, blueprint: Blueprint
    ) -> tuple[dict[str, bytes], dict[str, int]]: ...


@dataclass
class Build:
    """Everything published for one nation, by area (sites, private, emails) and path."""

    slug: str
    fingerprint: str
    files: dict[str, dict[str, bytes]] = field(default_factory=lambda: {a: {} for a in AREAS})
    # Private files that do not come from the supporter lists (call scripts from
    # templates, hunters.csv from intake): kept apart so that reused supporter lists
    # (see `set_private`) never bring back an old version of them.
    extra_private: dict[str, bytes] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    # Shared SES templates this nation's emails use: name -> CreateTemplate payload.
    # Not in the manifest: each name is a digest of its content, and the per-nation
    # emails/<lang>/<id>.json that name them are.
    templates: dict[str, bytes] = field(default_factory=dict)

    _manifest: Manifest | None = field(default=None, repr=False)

    def manifest(self) -> Manifest:
        """`area/path` -> sha256 of the content; what a target compares to skip writes.

        Computed once (in the build process) and carried with the build.
        """
        if self._manifest is None:
            self._manifest = Manifest.of_files({area: self.files[area] for area in AREAS})
        return self._manifest

    def sha256(self, area: str, path: str) -> str:
        return self.manifest()[f"{area}/{path}"]

    def set_private(self, files: dict[str, bytes], counts: dict[str, int]) -> None:
        """Fill in private lists produced elsewhere (reused from the live release)."""
        self.files["private"] = {**files, **self.extra_private}
        self.counts = counts
        if self._manifest is None:
            self.manifest()
            return
        # Only the private area changed: hash it alone (the pages and emails, some
        # thirty files a nation, were hashed again here for every build).
        private = Manifest.of_files({"private": self.files["private"]})
        self._manifest = Manifest(
            entry
            for area in AREAS
            for entry in (private if area == "private" else self._manifest.areas([area])).items()
        )

    @property
    def digest(self) -> str:
        return self.manifest().digest


class Builder:
    """Builds nations of one network; safe to share across threads once constructed."""

    def __init__(
        self,
        network: Network,
        catalog: Catalog,
        nations_dir: Path,
        audience: PrivateSource | None = None,
        hunters: HunterSource | None = None,
        code_cache: Path | None = None,
        code_writes: bool = True,
    ):
        """`code_cache`: where compiled templates are kept between runs (codecache.py),
        read only unless `code_writes`; None compiles every template afresh."""
        self.network = network
        self.catalog = catalog
        self.nations_dir = nations_dir
        self.audience = audience
        self.hunters = hunters
        used = sorted({nation.blueprint for nation in network})
        # Compiled code shared by the blueprints' environments, one cache per kind
        # (sandboxed or not); per Builder, so a new Builder without `code_cache`
        # compiles afresh.
        self._code = {
            trusted: SharedCode(
                None if code_cache is None else DiskCode(code_cache, kind, code_writes)
            )
            for trusted, kind in ((False, "sandboxed"), (True, "blueprint"))
        }
        self.renderers = {name: self._renderer(name) for name in used}
        self.strings = {name: self._strings(catalog.get(name)) for name in used}
        self.assets = {name: self._shared_assets(catalog.get(name)) for name in used}
        self.messages = {
            name: MessageBook(catalog.get(name), catalog.base, self.renderers[name].blueprint_env)
            for name in used
        }

    def prepare(self) -> None:
        """Load heavy inputs (supporters) once, before builds start or processes fork."""
        if self.audience is not None:
            self.audience.load()

    def _renderer(self, name: str) -> Renderer:
        base = self.catalog.base / "templates"
        return Renderer(self.catalog.get(name), base, self.nations_dir, self._code)

    def fingerprint(self, nation: Nation) -> str:
        """Hash of every input of the nation: rebuild only when this changes."""
        return fingerprint(self._inputs(nation))

    def fingerprints(self, nation: Nation, last: tuple[str | None, str | None]) -> tuple[str, str]:
        """`fingerprint`, and the same but for the bytes of the shared assets (when only
        those changed, the live pages and emails are still right: `reassemble`), from
        one reading of the inputs. `last`: the nation's last (fingerprint, pages
        fingerprint); same inputs, same pages, so that one is not made again."""
        inputs = self._inputs(nation)
        full = fingerprint(inputs)
        if full == last[0] and last[1] is not None:
            return full, last[1]
        pages = {**inputs, "blueprint": self.catalog.pages_digest(nation.blueprint)}
        return full, fingerprint(pages)

    def _inputs(self, nation: Nation) -> dict[str, Any]:
        inputs = {
            "format": [BUILD_FORMAT, __version__],
            "spec": spec_inputs(self.network, nation),
            "blueprint": self.catalog.digest(nation.blueprint),
            "own_files": tree_digest([self.nations_dir / nation.slug]),
            "private": self.audience.digest(nation) if self.audience else "",
        }
        if self.hunters is not None:  # only then: no intake leaves fingerprints as they were
            inputs["hunters"] = self.hunters.digest(nation.slug)
        return inputs

    def private_fingerprint(self, nation: Nation) -> str:
        """Hash of what a nation's private lists depend on; a page edit leaves it alone."""
        if self.audience is None:
            return ""
        manifest = self.catalog.get(nation.blueprint).manifest
        return fingerprint(
            {
                "format": [BUILD_FORMAT, __version__],
                "supporters": self.audience.digest(nation),
                "tags": list(nation.all_tags),
                "coverage": list(nation.coverage),
                "segments": manifest.segments,
                "dialers": manifest.dialers,
            }
        )

    def site_content(self, nation: Nation) -> dict[str, Any] | None:
        """The fields of the nation's site.yaml (None without one); raises when invalid."""
        return site_fields(load_site_content(self.nations_dir / nation.slug))

    def render_plan(self, nation: Nation, site: Mapping[str, Any] | None = None) -> RenderPlan:
        """Every output of `nation`, with its templates and context (see renderplan.py).

        `site`: site.yaml fields to use instead of reading the nation's file (`check`
        passes what it could read of a broken file, to find the other problems too).
        """
        blueprint = self.catalog.get(nation.blueprint)
        fields = self.site_content(nation) if site is None else site
        base = {
            "nation": nation_data(self.network, nation, fields),
            "network": network_data(self.network),
            "strings": self.strings[nation.blueprint],
        }
        base.update(self.volunteer_context(nation, base["nation"], base["network"]))
        own_assets = _folder_paths(self.nations_dir / nation.slug / ASSETS, f"{ASSETS}/")
        outputs = plan_outputs(
            blueprint, nation.languages, base, self.assets[nation.blueprint], own_assets
        )
        namespaced = self.renderers[nation.blueprint].has_overrides(nation.slug)
        return RenderPlan(nation.slug, nation.blueprint, namespaced, base, outputs)

    def volunteer_context(
        self, nation: Nation, data: dict[str, Any], network: dict[str, Any]
    ) -> dict[str, Any]:
        """`messages` (the filled scripts, per language) and `hunting` (public counts of
        the nation's pledge hunters) for every page."""
        book = self.messages[nation.blueprint]
        declared = bool(self.catalog.get(nation.blueprint).manifest.messages)
        messages = {
            lang: book.page_data(data, network, lang)
            for lang in (nation.languages if declared else ())
        }
        zero = {"hunters": 0, "pledges": 0, "signups": 0}
        hunting = self.hunters.public_counts(nation.slug) if self.hunters else zero
        return {"messages": messages, "hunting": hunting}

    def rule_problems(self, nation: Nation, plan: RenderPlan | None = None) -> list[Problem]:
        """Every breach of a candidate rule in the nation's own folder (rules.py); with
        `plan`, also names none of its contexts defines (a lint `check` adds)."""
        env = self.renderers[nation.blueprint].env
        names = plan.context_names() if plan is not None else None
        return rule_problems(env, self.nations_dir, nation.slug, names)

    def render(self, plan: RenderPlan, output: Output) -> dict[str, str]:
        """The rendered parts of one templated output; TemplateError with file:line."""
        renderer = self.renderers[plan.blueprint]

        def one(name: str, context: Mapping[str, Any]) -> str:
            return renderer.render(plan.slug, name, dict(context), plan.namespaced)

        with shared_modules():  # an email's three parts import the same partials
            return render_parts(output, one)

    def build(
        self, nation: Nation, fingerprint: str | None = None, with_private: bool = True
    ) -> Build:
        """Everything of `nation`; `with_private=False` leaves its private lists out, for
        a caller that sets them itself (`BuildPool`: composed there, or the live ones).

        Refuses (CandidateRuleError) a nation whose own files break a candidate rule.
        """
        plan = self.render_plan(nation)
        problems = self.rule_problems(nation)
        if problems:
            raise CandidateRuleError(problems)
        result = Build(nation.slug, fingerprint or self.fingerprint(nation))
        with budgets.rendering(nation.budgets), shared_modules():
            for output in plan.outputs:
                files = result.files[output.area]
                if output.kind == MANIFEST:
                    files[output.path] = self._nation_json(nation, plan, files).encode()
                elif output.kind == ASSET:
                    files[output.path] = _asset_bytes(output)
                else:
                    files.update(self._output_files(plan, output, result.templates))
            result.extra_private = self._extra_private(nation, plan)
        result.files["private"] = dict(result.extra_private)
        budgets.check_sizes(nation.slug, result.files, nation.budgets)
        if self.audience is not None and with_private:
            result.set_private(*self.private_files(nation))
        result.manifest()
        return result

    def reassemble(
        self, nation: Nation, fingerprint: str, live: Mapping[str, dict[str, bytes]]
    ) -> Build:
        """The build of a nation whose inputs changed only in shared asset bytes: its
        live pages and emails (`live`, by area) with the assets copied anew, in the
        order `build` copies them (own assets over shared ones). The candidate rules and
        the size budgets are checked as in `build`; the private lists are set after."""
        problems = self.rule_problems(nation)
        if problems:
            raise CandidateRuleError(problems)
        result = Build(nation.slug, fingerprint)
        sites = result.files["sites"] = dict(live["sites"])
        result.files["emails"] = dict(live["emails"])
        sites.update(self.assets[nation.blueprint])
        own = _folder_paths(self.nations_dir / nation.slug / ASSETS, f"{ASSETS}/")
        sites.update((name, path.read_bytes()) for name, path in own.items())
        budgets.check_sizes(nation.slug, result.files, nation.budgets)
        return result

    def _extra_private(self, nation: Nation, plan: RenderPlan) -> dict[str, bytes]:
        """Call scripts beside the dialer exports, and the nation's hunters.csv."""
        files: dict[str, bytes] = {}
        book = self.messages[nation.blueprint]
        if self.audience is not None and book.has_folder(CALLS):
            dialers = self.catalog.get(nation.blueprint).manifest.dialers
            nation_vars, network = dict(plan.base["nation"]), dict(plan.base["network"])
            files.update(CallScripts(book).files(nation_vars, network, dialers))
        if self.hunters is not None:
            files["hunters.csv"] = self.hunters.csv_bytes(nation.slug)
        return files

    def _nation_json(self, nation: Nation, plan: RenderPlan, files: dict[str, bytes]) -> str:
        blueprint = self.catalog.get(nation.blueprint)
        pages = {
            page_id: {
                lang: f"{lang}/{blueprint.page_path(page_id, lang)}" for lang in nation.languages
            }
            for page_id in blueprint.manifest.pages
        }
        intake = _intake_manifest(plan.base, files, pages)
        return _public_manifest(plan.base["nation"], sorted(files), pages, intake)

    def _output_files(
        self, plan: RenderPlan, output: Output, templates: dict[str, bytes]
    ) -> dict[str, bytes]:
        parts = self.render(plan, output)
        if output.kind == EMAIL:
            return _email_files(plan, output, parts, templates)
        return {output.path: parts["html"].encode()}

    @property
    def has_private_source(self) -> bool:
        """Whether nations have supporter lists at all (an export was given)."""
        return self.audience is not None

    def private_digests_known(self) -> bool:
        """Whether fingerprints can be made without reading the supporter rows."""
        return self.audience is None or self.audience.digests_known()

    def private_files(self, nation: Nation) -> tuple[dict[str, bytes], dict[str, int]]:
        if self.audience is None:
            return {}, {}
        return self.audience.private_files(nation, self.catalog.get(nation.blueprint))

    def _strings(self, blueprint: Blueprint) -> dict[str, dict[str, Any]]:
        languages = dict.fromkeys(lang for nation in self.network for lang in nation.languages)
        country = self.network.info.country
        return {
            lang: self.catalog.strings(blueprint.name, lang, country).values for lang in languages
        }

    def _shared_assets(self, blueprint: Blueprint) -> dict[str, bytes]:
        files = _folder_files(self.catalog.base / ASSETS, f"{ASSETS}/")
        files.update(_folder_files(blueprint.root / ASSETS, f"{ASSETS}/"))
        return files


def _email_files(
    plan: RenderPlan, output: Output, parts: dict[str, str], templates: dict[str, bytes]
) -> dict[str, bytes]:
    """An email's send-time instruction (JSON) and its .html and .txt previews.

    The SES template itself is shared (see sestemplates.py): it goes into `templates`.
    """
    rendered = {
        "SubjectPart": parts["subject"].strip(),
        "TextPart": parts["text"],
        "HtmlPart": parts["html"],
    }
    skeleton, data = split(rendered, plan.base["nation"])
    name = template_name(plan.blueprint, output.id, output.lang, skeleton)
    templates[name] = template_json(name, skeleton)
    # Send-time instruction (SendTemplatedEmail's Template and TemplateData, recipient
    # fields added then) and this nation's full rendering.
    template = {"Template": name, "TemplateData": data, **rendered}
    return {
        f"{output.path}.json": _json(template).encode(),
        f"{output.path}.html": parts["html"].encode(),
        f"{output.path}.txt": parts["text"].encode(),
    }


def _asset_bytes(output: Output) -> bytes:
    if output.data is not None:
        return output.data
    assert output.source is not None
    return output.source.read_bytes()


def _folder_files(folder: Path, prefix: str) -> dict[str, bytes]:
    """Contents of the files under `folder` (see `_folder_paths`)."""
    return {name: path.read_bytes() for name, path in _folder_paths(folder, prefix).items()}


def _folder_paths(folder: Path, prefix: str) -> dict[str, Path]:
    """Files under `folder` by published name; a symlink leading outside it is an error,
    never published."""
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
        files[prefix + path.relative_to(folder).as_posix()] = path
    return files


def _intake_manifest(
    base: Mapping[str, Any], files: dict[str, bytes], pages: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """What intake needs to prove consent and to write from the nation (all public):
    the exact consent wording per language and channel, the privacy notice's version
    (SHA-256 of its page), and the sender of its emails."""
    nation, strings = base["nation"], base["strings"]
    form = {lang: strings[lang].get("form", {}) for lang in nation["languages"]}
    address = nation["contact"].get("email") or base["network"]["controller"]["email"]
    return {
        "consent": {
            lang: {ch: f.get(key, "") for ch, key in CONSENT_KEYS.items()}
            for lang, f in form.items()
        },
        "privacy_version": {
            lang: hashlib.sha256(files[path]).hexdigest()
            for lang, path in pages.get("privacy", {}).items()
            if path in files
        },
        "sender": str(Address(display_name=nation["name"], addr_spec=address)),
        # How forms' phones and postcodes are checked: the network's geography.
        "country": base["network"].get("country") or "BE",
        "postcode_pattern": base["network"]["geo"].get("postcode_pattern"),
        "postcode_example": base["network"]["geo"].get("postcode_example") or "",
    }


def _public_manifest(
    nation: dict[str, Any],
    files: list[str],
    pages: dict[str, dict[str, str]],
    intake: dict[str, Any],
) -> str:
    public_keys = (
        *("slug", "name", "kind", "blueprint", "languages", "domain", "url"),
        *("geo", "coverage", "tags", "inherited_tags", "all_tags"),
    )
    data = {key: nation[key] for key in public_keys}
    data["parent"] = nation["parent"]["slug"] if nation["parent"] else None
    data["children"] = [child["slug"] for child in nation["children"]]
    data["pages"] = pages
    data["intake"] = intake
    data["files"] = [*files, "nation.json"]
    data["generator"] = f"provisioner {__version__}"
    return _json(data)


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
