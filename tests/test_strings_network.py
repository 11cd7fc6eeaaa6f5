"""A network's own strings (network.strings): a language only the network provides
validates and deploys; a missing string is a validation error naming file and key."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import NETWORK, REPO, build_file_tree, nation, write_spec

from provisioner.render.blueprints import Catalog
from provisioner.render.strings import load_strings
from provisioner.spec.yamlsource import deep_merge
from provisioner.supporters.generate import generate

SHIPPED = REPO / "blueprints"
# What the network translates, so the pages show it came from the network's files.
ITALIAN = {
    "i18n": {"nav": {"home": "Pagina iniziale"}, "lang_names": {"it": "Italiano"}},
    "messages": {
        "places": {"municipality": "a {name}"},
        "scripts": {"first": {"title": "Il primo messaggio"}},
    },
    "calls": {"pledge_question": "Possiamo contare sul tuo voto per {{ network }}?"},
}
# The French pages of an Italian and French nation name Italian in their language switch.
FRENCH_ADDITIONS = {"lang_names": {"it": "Italiano"}}


def french(folder: str) -> dict[str, Any]:
    """Every shipped French text of `folder`, merged as a Belgian network sees them."""
    layers = [SHIPPED / "_base" / folder]
    if folder == "i18n":
        layers += [layers[0] / "countries" / "BE", SHIPPED / "section" / folder]
        layers.append(SHIPPED / "candidate" / folder)
    merged: dict[str, Any] = {}
    for layer in layers:
        path = layer / "fr.yaml"
        if path.is_file():
            merged = deep_merge(merged, yaml.safe_load(path.read_text(encoding="utf-8")))
    return merged


def italian_network(root: Path, drop: str | None = None) -> Path:
    """An HQ and a candidate in Ixelles, shown in Italian then French, with the real
    blueprints; the Italian texts live only in the network's `strings/` folder.
    `drop`: a dotted i18n key left out of strings/i18n/it.yaml."""
    shutil.copytree(SHIPPED, root / "blueprints")
    files: dict[str, str | bytes] = {"strings/i18n/fr.yaml": yaml.safe_dump(FRENCH_ADDITIONS)}
    for folder, changes in ITALIAN.items():
        texts = deep_merge(french(folder), changes)
        if folder == "i18n" and drop:
            *parents, leaf = drop.split(".")
            holder = texts
            for part in parents:
                holder = holder[part]
            del holder[leaf]
        files[f"strings/{folder}/it.yaml"] = yaml.safe_dump(texts, allow_unicode=True)
    build_file_tree(root, files)
    hq = nation("hq", languages=["it", "fr"])
    candidate = nation(
        "ixelles",
        "hq",
        blueprint="candidate",
        geo={"municipality": "Ixelles", "postcodes": ["1050"]},
        candidate={"first_name": "Giulia", "last_name": "Rossi"},
    )
    network = {**NETWORK, "strings": "strings", "election_date": "2026-10-11"}
    return write_spec(root, [hq, candidate], network=network)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provisioner", *args], capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("italian")
    spec = italian_network(root)
    generate(root / "data", [("1050", "fr")], count=40)
    result = cli("deploy", "-q", "--spec", str(spec), "--out", str(root / "build"),
                 "--supporters", str(root / "data" / "supporters.csv"))  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_a_language_only_the_network_provides_validates(tmp_path: Path) -> None:
    result = cli("validate", "--spec", str(italian_network(tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid, 2 nations" in result.stdout


def test_it_deploys_with_pages_in_that_language(deployed: Path) -> None:
    site = deployed / "build" / "sites" / "ixelles"
    pages = json.loads((site / "nation.json").read_text("utf-8"))["pages"]
    assert pages["home"] == {"it": "it/index.html", "fr": "fr/index.html"}
    home = (site / "it" / "index.html").read_text("utf-8")
    assert '<html lang="it">' in home
    assert "Pagina iniziale" in home  # the network's string, not the blueprint's
    assert "Italiano" in (site / "fr" / "index.html").read_text("utf-8")
    messages = (site / pages["messages"]["it"]).read_text("utf-8")
    assert "Il primo messaggio" in messages and "a Ixelles" in messages
    assert "11 ottobre 2026" in messages  # the election day in Italian
    script = deployed / "build" / "private" / "ixelles" / "callhub-script.it.txt"
    assert "Possiamo contare sul tuo voto per Horizon?" in script.read_text("utf-8")


def test_editing_a_network_string_rebuilds_the_nations(deployed: Path) -> None:
    spec = deployed / "nations.yaml"
    args = ["deploy", "-q", "--spec", str(spec), "--out", str(deployed / "build"),
            "--supporters", str(deployed / "data" / "supporters.csv")]  # fmt: skip
    assert cli(*args).returncode == 0
    report = deployed / "build" / "reports" / "latest.json"
    assert {n["status"] for n in json.loads(report.read_text())["nations"]} == {"unchanged"}
    strings = deployed / "strings" / "i18n" / "it.yaml"
    strings.write_text(strings.read_text("utf-8").replace("Pagina iniziale", "Home"), "utf-8")
    assert cli(*args).returncode == 0
    assert {n["status"] for n in json.loads(report.read_text())["nations"]} == {"deployed"}
    home = deployed / "build" / "sites" / "hq" / "it" / "index.html"
    assert "Pagina iniziale" not in home.read_text("utf-8")


def test_a_missing_key_fails_validation_naming_the_file_and_the_key(tmp_path: Path) -> None:
    spec = italian_network(tmp_path, drop="nav.agir")
    result = cli("deploy", "--spec", str(spec), "--out", str(tmp_path / "build"))
    assert result.returncode == 2
    assert f"{tmp_path / 'strings' / 'i18n' / 'it.yaml'}: missing key(s) nav.agir" in result.stderr
    assert "network.strings" in result.stderr  # the fix says where a language's texts go
    assert not (tmp_path / "build").exists()  # nothing written


def test_a_language_switch_that_cannot_name_a_language_is_reported(tmp_path: Path) -> None:
    spec = italian_network(tmp_path)
    (tmp_path / "strings" / "i18n" / "fr.yaml").unlink()
    result = cli("validate", "--spec", str(spec))
    assert result.returncode == 2
    expected = f"{tmp_path / 'strings' / 'i18n' / 'fr.yaml'}: missing key(s) lang_names.it"
    assert expected in result.stderr


def test_missing_message_scripts_name_the_network_file_to_write(tmp_path: Path) -> None:
    spec = italian_network(tmp_path)
    (tmp_path / "strings" / "messages" / "it.yaml").unlink()
    result = cli("validate", "--spec", str(spec))
    assert result.returncode == 2
    assert f"{tmp_path / 'strings' / 'messages' / 'it.yaml'}: missing (" in result.stderr


def test_a_language_nobody_provides_names_the_blueprint_file(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED, tmp_path / "blueprints")
    spec = write_spec(tmp_path, [nation("hq", languages=["lb"])])
    result = cli("validate", "--spec", str(spec))
    assert result.returncode == 2
    assert "blueprints/_base/i18n/lb.yaml: missing (de.yaml, fr.yaml, nl.yaml" in result.stderr


def test_a_strings_folder_laid_out_wrong_is_reported(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED, tmp_path / "blueprints")
    build_file_tree(tmp_path, {"strings/it.yaml": "nav: {home: Pagina iniziale}\n"})
    network = {**NETWORK, "strings": "strings"}
    spec = write_spec(tmp_path, [nation("hq")], network=network)
    result = cli("validate", "--spec", str(spec))
    assert result.returncode == 2
    assert f"page strings go in {tmp_path / 'strings' / 'i18n' / 'it.yaml'}" in result.stderr
    missing = write_spec(tmp_path, [nation("hq")], network={**NETWORK, "strings": "nowhere"})
    result = cli("validate", "--spec", str(missing))
    assert result.returncode == 2 and "network.strings" in result.stderr


def test_a_network_file_may_hold_only_the_keys_it_changes(tmp_path: Path) -> None:
    """Over a shipped language the network's file rewords; for a language only it has,
    it stands in for every shipped file and must have all their keys."""
    build_file_tree(
        tmp_path,
        {
            "bp/i18n/fr.yaml": "a: Un\nb: Deux\n",
            "bp/i18n/nl.yaml": "a: Een\nb: Twee\n",
            "net/fr.yaml": "b: Deux (réseau)\n",
            "net/lb.yaml": "a: Een\n",
        },
    )
    shipped = [tmp_path / "bp" / "i18n"]
    fr = load_strings(shipped, "fr", tmp_path / "net")
    assert fr.problems == [] and fr.values == {"a": "Un", "b": "Deux (réseau)"}
    lb = load_strings(shipped, "lb", tmp_path / "net")
    expected = f"{tmp_path / 'net' / 'lb.yaml'}: missing key(s) b (as in {shipped[0] / 'fr.yaml'})"
    assert lb.problems == [expected]


def test_the_catalog_layers_the_network_last(tmp_path: Path) -> None:
    build_file_tree(tmp_path, {"net/i18n/fr.yaml": "nav: {home: Maison}\n"})
    catalog = Catalog(SHIPPED, tmp_path / "net")
    strings = catalog.strings("section", "fr", "BE")
    assert strings.values["nav"]["home"] == "Maison" and strings.problems == []
    assert strings.values["nav"]["agir"] == french("i18n")["nav"]["agir"]
    assert catalog.digest("section") != Catalog(SHIPPED).digest("section")


def test_sibling_keys_follow_each_edit_of_a_language_file(tmp_path: Path) -> None:
    """Keys are parsed once per version of a file; an edit is seen at once, even one
    that keeps the file's size and lands within the same timestamp tick."""
    from provisioner.render.strings import sibling_keys

    fr, nl = tmp_path / "fr.yaml", tmp_path / "nl.yaml"
    fr.write_text("a: x\n")
    nl.write_text("b: y\n")
    assert sibling_keys([fr, nl], fr) == {"b"}
    nl.write_text("c: y\n")  # same size, written at once
    assert sibling_keys([fr, nl], fr) == {"c"}
    old = nl.stat().st_mtime_ns - 5_000_000_000
    os.utime(nl, ns=(old, old))  # an old file: parsed once, then from memory
    assert sibling_keys([fr, nl], fr) == {"c"} == sibling_keys([fr, nl], fr)
    nl.write_text("d: y\n")
    assert sibling_keys([fr, nl], fr) == {"d"}
