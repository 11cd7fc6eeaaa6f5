"""A real headless Chromium (Debian's) on a nation served by `provisioner serve`: it
fills the candidate's pledge form, lands on the thank-you page, follows the confirm link
from the outbox, and after a redeploy the supporter is in the nation's lists; the
unsubscribe link then removes them from every later export."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from intake_support import deploy, link, messages, mini_network, serving
from test_dashboard import CHROMIUM, CHROMIUM_ARGS
from test_intake_serve import private_emails

from provisioner.intake.sqlite_store import SqliteStore

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run)"
)
EMAIL = "browser@example.be"


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium.new_page()
        chromium.close()


def holders(build: Path) -> set[str]:
    return {name for name, emails in private_emails(build).items() if EMAIL in emails}


def test_a_browser_pledge_reaches_the_lists_and_its_unsubscribe_leaves_them(
    tmp_path: Path, page: Any
) -> None:
    mini_network(tmp_path)
    deploy(tmp_path)
    with serving(tmp_path) as server:
        page.goto(f"{server.url}/marie-dubois/fr/promesse.html")
        box = page.locator("#website").bounding_box()
        assert box["x"] + box["width"] <= 0  # the honeypot is off screen: for robots only
        page.fill("#first_name", "Chloé")
        page.fill("#email", EMAIL)
        page.fill("#postcode", "4020")
        page.check("#consent")
        page.click("button[type=submit]")
        page.wait_for_url("**/marie-dubois/fr/merci.html")
        assert "Vérifiez votre boîte mail" in page.inner_text("h1")
        store = SqliteStore(server.intake)
        (row,) = store.submissions()
        store.close()
        assert (row.email, row.first_name, row.postcode, row.state) == (
            EMAIL, "Chloé", "4020", "pending",
        )  # fmt: skip

        (message,) = messages(server.outbox)
        page.goto(link(message, "confirm"))
        page.wait_for_url("**/marie-dubois/fr/confirmation.html")
        assert "confirmé" in page.inner_text("h1")
        deploy(tmp_path)
        assert {"marie-dubois/supporters.csv", "marie-dubois/pledges.csv"} <= holders(
            tmp_path / "build"
        )

        page.goto(link(message, "unsubscribe"))
        page.wait_for_url("**/marie-dubois/fr/desinscription.html")
        deploy(tmp_path)
        assert holders(tmp_path / "build") == set()
