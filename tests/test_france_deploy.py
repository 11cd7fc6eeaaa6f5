"""End to end: the French sample deploys with no code change and the same privacy
guarantees as the Belgian one; German-speaking Belgian sections get German pages."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, only_args

from provisioner.render.blueprints import Catalog
from provisioner.render.build import Builder
from provisioner.spec.load import load_network
from provisioner.supporters import load_geography
from provisioner.supporters.generate import generate

FRANCE = REPO / "examples" / "france" / "nations.yaml"
# The whole sample is 697 nations; the deploy takes a slice of every level (the
# segmentation still reads the whole network): Paris, the Ain, the French abroad.
ONLY = ["hq", "ile-de-france", "paris-75", "circo-75-*", "auvergne-rhone-alpes", "ain-01",
        "circo-01-*", "circo-99-*"]  # fmt: skip
CONTACT_TOKEN = re.compile(r"\+\d{8,12}|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("france")
    geography = load_geography(FRANCE)
    generate(root / "data", geography.postcode_languages(), count=3_000, country="FR")
    result = subprocess.run(
        [sys.executable, "-m", "provisioner", "deploy", "-q", "--spec", str(FRANCE),
         "--out", str(root / "build"), "--supporters", str(root / "data" / "supporters.csv"),
         *only_args(ONLY)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_circonscriptions_deploy_and_their_lists_stay_in_their_coverage(deployed: Path) -> None:
    build = deployed / "build"
    report = json.loads((build / "reports" / "latest.json").read_text())
    assert report["summary"]["failed"] == 0
    assert report["supporters"]["ambiguous"] > 0  # postcodes shared by circonscriptions
    assert report["supporters"]["unassigned"] == 0
    circos = [n["slug"] for n in report["nations"] if n["slug"].startswith("circo-")]
    assert len(circos) == 18 + 5 + 11  # Paris, the Ain, the French abroad
    listed_somewhere = 0
    for slug in circos:
        listed = rows(build / "private" / slug / "supporters.csv")
        coverage = set(json.loads((build / "sites" / slug / "nation.json").read_text())["coverage"])
        assert {row["postcode"] for row in listed} <= coverage, slug
        listed_somewhere += len(listed)
    assert listed_somewhere > 20
    phones = {r["phone"] for r in rows(build / "private" / "hq" / "supporters.csv") if r["phone"]}
    assert phones and all(p.startswith("+33") for p in phones)


def test_no_supporter_contact_is_public_and_the_ledger_is_honoured(deployed: Path) -> None:
    build = deployed / "build"
    private: set[str] = set()
    for file in (build / "private").rglob("*.csv"):
        for row in rows(file):
            private.update(v for k, v in row.items() if k in {"phone", "email", "contact"} and v)
    public: set[str] = set()
    for path in (build / "sites").rglob("*"):
        if path.is_file():
            public.update(CONTACT_TOKEN.findall(path.read_text(errors="ignore")))
    assert not (private & public) - {"+33142000000"}  # the HQ's own published number
    ledger = rows(deployed / "data" / "do-not-contact.csv")
    assert ledger and not {row["contact"] for row in ledger} & private


def test_french_pages_speak_of_france(deployed: Path) -> None:
    sites = deployed / "build" / "sites"
    home = (sites / "circo-75-01" / "fr" / "index.html").read_text()
    assert "INSEE" in home and "Licence Ouverte" in home and "Statbel" not in home
    form = (sites / "circo-75-01" / "fr" / "agir.html").read_text()
    assert 'pattern="[0-9]{5}"' in form and "Cinq chiffres" in form
    promesse = (sites / "circo-75-01" / "fr" / "promesse.html").read_text()
    assert "le vote est obligatoire" not in promesse and "procuration" in promesse
    assert "CNIL" in (sites / "hq" / "fr" / "vie-privee.html").read_text()


def test_german_speaking_belgian_sections_get_german_pages() -> None:
    network = load_network(REPO / "nations.yaml", REPO / "blueprints")
    builder = Builder(network, Catalog(REPO / "blueprints"), REPO / "nations")
    for slug in ("eupen", "la-calamine"):
        nation = network.nations[slug]
        assert nation.languages == ("de", "fr")
        files = builder.build(nation).files["sites"]
        german = files["de/index.html"].decode()
        assert '<html lang="de">' in german and "Ortsgruppe" in german
        assert "Statbel" in german and "de/mitmachen.html" in files and "fr/agir.html" in files
        promise = files["de/wahlversprechen.html"].decode()
        assert "In Belgien besteht Wahlpflicht" in promise
    candidate = next(c for c in network if c.parent == "eupen")
    emails = builder.build(candidate).files["emails"]
    assert "Willkommen im Team" in json.loads(emails["de/welcome.json"])["SubjectPart"]
