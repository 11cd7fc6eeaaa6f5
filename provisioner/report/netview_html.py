"""The network view as one self-contained HTML page (`network.html`).

Server-side HTML: the tree is nested `<details>` (collapsible without JavaScript), the
charts are inline SVG. A Content-Security-Policy forbids every request, as for the run
dashboard; names from nations.yaml are escaped by Jinja's autoescape.

Every deploy writes it, a no-op too, so its template's compiled code is kept beside the
output's other compiled templates (`render/codecache.py`) when that folder exists:
compiling it was 20 ms of a 0.3 s no-op.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from provisioner.render.codecache import DiskCode
from provisioner.render.sharing import SharedCode
from provisioner.report.netview import CHART_DAYS, MEASURES

LABELS = {"pledges": "pledges", "volunteers": "volunteers", "signups": "sign-ups"}
LEVEL_NAMES = {
    "national": "HQ",
    "region": "Regions",
    "province": "Provinces",
    "section": "Sections",
    "candidate": "Candidates",
}
CHART_W, CHART_H = 300, 60


TEMPLATES = Path(str(files("provisioner").joinpath("templates")))
OPTIONS: dict[str, Any] = {"autoescape": True, "trim_blocks": True, "lstrip_blocks": True}
# The compiled code depends on the options too: another set is another folder.
KIND = "reports-" + hashlib.sha256(repr(sorted(OPTIONS.items())).encode()).hexdigest()[:8]
CACHE = Path(".cache") / "templates"  # under the output folder, as render/codecache.py


@cache
def _template(kept: Path | None = None) -> jinja2.Template:
    """network.html compiled, or loaded from `kept` (an output's template cache)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        bytecode_cache=None if kept is None else SharedCode(DiskCode(kept, KIND)),
        **OPTIONS,
    )
    env.filters["age"] = human_age
    return env.get_template("network.html")


def render_network(view: dict[str, Any], kept: Path | None = None) -> str:
    """The page; `kept`: where its compiled template is kept between runs, if anywhere."""
    statuses: dict[str, int] = {}
    for node in view["nations"].values():
        statuses[node["status"]] = statuses.get(node["status"], 0) + 1
    return _template(kept).render(
        view=view,
        measures=MEASURES,
        labels=LABELS,
        level_names=LEVEL_NAMES,
        statuses=dict(sorted(statuses.items())),
        chart=bar_chart,
        chart_days=CHART_DAYS,
    )


def write_network(view: dict[str, Any], reports_dir: Path) -> Path:
    """Write `network.html` atomically; returns its path."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / "network.html"
    temp = path.with_name(f".{path.name}.tmp")
    kept = reports_dir.parent / CACHE
    temp.write_text(render_network(view, kept if kept.parent.is_dir() else None), "utf-8")
    os.replace(temp, path)
    return path


def bar_chart(series: dict[str, Any]) -> Markup:
    """One bar per day; a day without sign-ups is a thin grey bar."""
    counts: list[int] = series["counts"]
    top = max(counts) or 1
    width = CHART_W / len(counts)
    bars: list[str] = []
    for day, count in zip(series["days"], counts, strict=True):
        height = max(1.0, (CHART_H - 2) * count / top)
        x = len(bars) * width
        css = "" if count else ' class="zero"'
        bars.append(
            f'<rect{css} x="{x:.1f}" y="{CHART_H - height:.1f}" width="{width * 0.8:.1f}" '
            f'height="{height:.1f}"><title>{day}: {count}</title></rect>'
        )
    label = f"{sum(counts)} sign-ups in {len(counts)} days, at most {max(counts)} a day"
    return Markup(
        f'<svg viewBox="0 0 {CHART_W} {CHART_H}" preserveAspectRatio="none" role="img" '
        f'aria-label="{label}">{"".join(bars)}</svg>'
    )


def human_age(seconds: float) -> str:
    """`42 s`, `5 min`, `3 h`, `2 d`."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"
