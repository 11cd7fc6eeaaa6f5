"""The one page intake writes itself: a refused form, in the form's language.

It names each field as the form labels it and says how to fix it; everything it
shows is escaped (the values come from a stranger). It uses the nation's stylesheet
and links back to the form, so it looks like the site it answers for.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from provisioner.intake import messages
from provisioner.intake.directory import NationEntry
from provisioner.intake.fields import FieldProblem

HTML = "text/html; charset=utf-8"


def invalid_page(
    nation: NationEntry, lang: str, problems: Sequence[FieldProblem], base: str, source: str
) -> bytes:
    """The 422 page; `base` is where the nation's site starts (`/` or `/<slug>/`),
    `source` the id of the page the form was on (the back link)."""
    text = messages.PAGE
    colon = text["colon"].get(lang, ":")
    items = "\n".join(
        f"<li><strong>{escape(messages.label(p.field, lang))}</strong>{colon} "
        f"{escape(messages.problem_text(p.code, lang, p.limit, nation.postcode_example))}</li>"
        for p in problems
    )
    title = escape(text["invalid_title"].get(lang, text["invalid_title"]["en"]))
    lead = escape(text["invalid_lead"].get(lang, text["invalid_lead"]["en"]))
    back = escape(text["back"].get(lang, text["back"]["en"]))
    form_page = nation.page_path(source, lang) or nation.page_path("home", lang) or ""
    back_href = escape(base + form_page)
    return f"""<!DOCTYPE html>
<html lang="{escape(lang)}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} · {escape(nation.name)}</title>
  <link rel="stylesheet" href="{escape(base)}assets/style.css">
</head>
<body class="page page--invalid">
  <main id="main" class="container">
    <h1>{title}</h1>
    <p class="lead">{lead}</p>
    <ul class="problems">
{items}
    </ul>
    <p><a href="{back_href}">{back}</a></p>
  </main>
</body>
</html>
""".encode()
