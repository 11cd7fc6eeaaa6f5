"""The render's stand-ins for MarkupSafe's escape and Jinja's urlencode return exactly
what the originals return (provisioner/render/speedups.py)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import markupsafe
import pytest
from helpers import mini_blueprints
from jinja2.filters import do_urlencode

from provisioner.render import speedups
from provisioner.render.blueprints import Catalog
from provisioner.render.rendering import make_environment

ALPHABET = "aZ09 _.-~/&<>\"'%+?=#\n\t\x00\x7féèàüß€œ中文😀\u200b\ud7ff"


def random_texts(count: int, seed: int = 18) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(ALPHABET, k=rng.randrange(0, 40))) for _ in range(count)]


class Html:
    def __html__(self) -> str:
        return "<b>safe</b>"


OTHERS: list[Any] = [None, 0, 12.5, True, markupsafe.Markup("<i>x</i>"), Html(), b"a b"]


def test_escape_is_markupsafes() -> None:
    for value in [*random_texts(2000), *OTHERS]:
        ours, theirs = speedups.escape(value), markupsafe.escape(value)
        assert (type(ours), str(ours)) == (type(theirs), str(theirs)), repr(value)


def test_urlencode_is_jinjas() -> None:
    mappings: list[Any] = [7, [("a", "b c"), ("k", "v/w")], {"q": "é &"}]
    for value in [*random_texts(2000), *mappings]:
        assert speedups.urlencode(value) == do_urlencode(value), repr(value)


@pytest.mark.parametrize("trusted", [True, False], ids=["blueprint", "sandbox"])
def test_both_environments_render_with_them(tmp_path: Path, trusted: bool) -> None:
    mini_blueprints(tmp_path)
    catalog = Catalog(tmp_path / "blueprints")
    env = make_environment(catalog.get("section"), catalog.base / "templates", None, trusted)
    template = env.from_string("{{ text }}|{{ text|urlencode }}")
    assert template.root_render_func.__globals__["escape"] is speedups.escape
    assert env.filters["urlencode"] is speedups.urlencode
    # An HTML template (autoescaped by name) renders as it did with the originals.
    env.loader.layers.insert(0, tmp_path)  # type: ignore[union-attr]
    (tmp_path / "probe.html.j2").write_text("{{ text }}|{{ text|urlencode }}", encoding="utf-8")
    text = "Liège & <Namur> 😀"
    expected = f"{markupsafe.escape(text)}|{do_urlencode(text)}"
    assert env.get_template("probe.html.j2").render(text=text) == expected
