"""`provisioner serve` end to end: a real uvicorn server in a child process, the real
CLI for deploy and intake, a small network with the real blueprints.

The loop of issue 11: a pledge posted to a candidate's form, the confirmation email in
the outbox, its confirm link, the redeploy that puts the person in the nation's lists,
the unsubscribe link and the redeploy after which no export has them.
"""

from __future__ import annotations

import csv
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from intake_support import (
    Server,
    deploy,
    link,
    messages,
    mini_network,
    pledge,
    run_cli,
    serving,
)

from provisioner.intake.sqlite_store import SqliteStore
from provisioner.intake.tokens import keyed_hash
from provisioner.render.security_headers import security_headers


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("intake-network")
    mini_network(root)
    deploy(root)
    return root


@pytest.fixture(scope="module")
def server(network: Path) -> Iterator[Server]:
    with serving(network, "--rate-limit", "0") as running:
        yield running


def post(server: Server, kind: str, fields: dict[str, str], **kwargs: object) -> httpx.Response:
    headers = {"Origin": server.url, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    return httpx.post(f"{server.url}/api/{kind}", data=fields, headers=headers, timeout=10)


def stats(root: Path, intake: Path | None = None) -> dict[tuple[str, str, str], int]:
    result = run_cli("intake", "stats", "--json", "--intake", intake or root / "data" / "intake.db")
    assert result.returncode == 0, result.stderr
    return {(r["nation"], r["kind"], r["state"]): r["count"] for r in json.loads(result.stdout)}


def private_emails(build: Path) -> dict[str, set[str]]:
    """Every email in every private CSV, by `<slug>/<file>`."""
    found: dict[str, set[str]] = {}
    for path in (build / "private").glob("*/*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            emails = {row.get("email", "") for row in csv.DictReader(handle)}
        found[f"{path.parent.name}/{path.name}"] = emails - {""}
    return found


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_nation_is_served_by_path_and_by_host(network: Path, server: Server) -> None:
    names = {"hq": "Horizon", "liege": "Liège", "marie-dubois": "Marie Dubois", "gent": "Gent"}
    for slug, name in names.items():
        response = httpx.get(f"{server.url}/{slug}/")
        assert response.status_code == 200, slug
        assert name in response.text
        assert 'action="/api/' in response.text  # the newsletter form posts to this server
    by_host = httpx.get(f"{server.url}/", headers={"Host": "gent.example.org"})
    assert '<html lang="nl">' in by_host.text and "Horizon Gent" in by_host.text
    assert httpx.get(f"{server.url}/liege").headers["location"] == "/liege/"
    index = httpx.get(f"{server.url}/")
    assert index.status_code == 200 and 'href="/marie-dubois/"' in index.text
    for hidden in ("/.releases/", "/liege/../../private/liege/supporters.csv", "/nope/"):
        assert httpx.get(server.url + hidden).status_code == 404, hidden
    assert httpx.post(f"{server.url}/liege/").status_code == 405


def test_every_response_carries_the_security_headers(server: Server) -> None:
    expected = {name.lower(): value for name, value in security_headers().items()}
    for response in (
        httpx.get(f"{server.url}/marie-dubois/"),
        httpx.get(f"{server.url}/liege/assets/style.css"),
        httpx.get(f"{server.url}/nope/"),
        post(server, "pledge", {"email": "not-an-address"}),
    ):
        got = {name: response.headers.get(name) for name in expected}
        assert got == expected, response.url
    csp = httpx.get(f"{server.url}/hq/").headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp


def test_pledge_confirm_and_unsubscribe_through_the_links_of_the_email(
    network: Path, server: Server
) -> None:
    # The redeploys between these steps are in test_intake_browser.py.
    response = post(server, "pledge", pledge(email="loop@example.be"))
    assert response.status_code == 303
    assert response.headers["location"] == "/marie-dubois/fr/merci.html"
    assert httpx.get(server.url + response.headers["location"]).status_code == 200
    (message,) = [m for m in messages(server.outbox) if m["To"] == "loop@example.be"]
    assert "Marie Dubois" in message["From"]
    confirmed = httpx.get(link(message, "confirm"))
    assert confirmed.headers["location"] == "/marie-dubois/fr/confirmation.html"
    exported = run_cli("intake", "export", "--intake", server.intake)
    assert "loop@example.be" in exported.stdout
    assert "site:marie-dubois/promesse" in exported.stdout
    assert stats(network)[("marie-dubois", "pledge", "confirmed")] >= 1

    one_click = httpx.post(
        link(message, "unsubscribe"), data={"List-Unsubscribe": "One-Click"}, headers={}
    )
    assert one_click.status_code == 200  # what a mail client's unsubscribe button sends
    assert "loop@example.be" not in run_cli("intake", "export", "--intake", server.intake).stdout


def test_sign_ups_land_in_segments_and_dialers_and_merge_with_central_rows(
    network: Path, server: Server
) -> None:
    fields = pledge(nation="gent", lang="nl", email="ELS@example.be", postcode="9000")
    assert post(server, "pledge", fields).status_code == 303
    volunteer = pledge(
        nation="liege", source="agir", last_name="Lima", email="vol@example.be",
        phone="0470 99 88 77", consent_phone="yes", help=["phoning", "leaflets"],
    )  # fmt: skip
    assert post(server, "volunteer", volunteer).status_code == 303
    stray = pledge(email="stray@example.be", postcode="8500")  # no nation covers 8500
    assert post(server, "pledge", stray).status_code == 303
    for address in ("els@example.be", "vol@example.be", "stray@example.be"):
        (message,) = [m for m in messages(server.outbox) if m["To"] == address]
        httpx.get(link(message, "confirm"))
    deploy(network)
    private = network / "build" / "private"
    rows = [
        r for r in csv_rows(private / "gent" / "supporters.csv") if r["email"] == "els@example.be"
    ]
    assert len(rows) == 1
    assert rows[0]["id"] == "c2"  # the central id is kept
    assert rows[0]["email_consent_source"] == "site:gent/promesse"  # newer than the CRM's
    (helper,) = [r for r in csv_rows(private / "liege" / "volunteers.csv") if r["email"]]
    assert (helper["email"], helper["tags"].split(",")[:2]) == (
        "vol@example.be", ["help:phoning", "help:leaflets"],
    )  # fmt: skip
    assert "+32470998877" in {r["contact"] for r in csv_rows(private / "liege" / "callhub.csv")}
    holding = {
        n for n, emails in private_emails(network / "build").items() if "stray@example.be" in emails
    }
    assert holding == {"hq/supporters.csv"}  # routed to the HQ


def stored(server: Server) -> int:
    store = SqliteStore(server.intake)
    try:
        return sum(row.count for row in store.stats())
    finally:
        store.close()


def test_invalid_email_is_422_and_a_20_kb_body_is_413_and_nothing_is_stored(
    network: Path, server: Server
) -> None:
    before = stored(server)
    invalid = post(server, "pledge", pledge(email="not-an-email"))
    assert invalid.status_code == 422
    assert "Adresse e-mail" in invalid.text and "pas une adresse e-mail" in invalid.text
    big = post(server, "pledge", pledge(first_name="A" * 20_480))
    assert big.status_code == 413
    foreign = post(server, "pledge", pledge(), headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert stored(server) == before


def test_300_submissions_from_16_concurrent_clients_are_all_stored(
    network: Path, server: Server
) -> None:
    before = sum(count for (n, k, s), count in stats(network).items() if k == "volunteer")
    statuses: list[int] = []

    def client(index: int) -> None:
        with httpx.Client(base_url=server.url, headers={"Origin": server.url}) as http:
            for n in range(index, 300, 16):
                fields = pledge(
                    nation="liege", source="agir", last_name="Load", email=f"c{n}@example.be"
                )
                statuses.append(http.post("/api/volunteer", data=fields).status_code)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(303) == 300
    after = sum(count for (n, k, s), count in stats(network).items() if k == "volunteer")
    assert after - before == 300


def test_every_acknowledged_submission_survives_sigkill_under_load(
    network: Path, tmp_path: Path
) -> None:
    intake = tmp_path / "killed.db"
    acknowledged: list[str] = []
    stop = threading.Event()
    server = Server(network, "--rate-limit", "0", intake=intake).start()

    def client(index: int) -> None:
        with httpx.Client(base_url=server.url, timeout=5) as http:
            n = 0
            while not stop.is_set():
                email = f"k{index}-{n}@example.be"
                n += 1
                try:
                    response = http.post("/api/pledge", data=pledge(email=email))
                except httpx.HTTPError:
                    return  # the server died under this request: not acknowledged
                if response.status_code == 303:
                    acknowledged.append(email)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(acknowledged) < 100 and time.monotonic() < deadline:
        time.sleep(0.02)
    server.kill()  # SIGKILL: no shutdown handler runs
    stop.set()
    for thread in threads:
        thread.join()
    assert len(acknowledged) >= 100
    restarted = Server(network, "--rate-limit", "0", intake=intake).start()
    try:
        store = SqliteStore(intake)
        emails = {s.email for s in store.submissions()}
        store.close()
    finally:
        restarted.kill()
    assert set(acknowledged) <= emails


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(network: Path, server: Server) -> None:
    ips = ["198.51.100.1", "198.51.100.1", "198.51.100.1", "198.51.100.2"]
    with serving(network, "--rate-limit", "2", "--trusted-proxy", "127.0.0.1") as proxied:
        answers = [post(proxied, "pledge", pledge(), headers={"X-Forwarded-For": ip}) for ip in ips]
        assert [r.status_code for r in answers] == [303, 303, 429, 303]  # one bucket per client
        assert answers[2].headers["retry-after"] == "30"
    # Without --trusted-proxy the header is anyone's to forge: the peer address counts.
    forged = pledge(email="forged@example.be")
    assert post(server, "pledge", forged, headers={"X-Forwarded-For": ips[0]}).status_code == 303
    secret = (network / "data" / "intake.key").read_text().strip().encode()
    store = SqliteStore(server.intake)
    (row,) = [s for s in store.submissions() if s.email == "forged@example.be"]
    store.close()
    assert row.client_hash == keyed_hash(secret, "127.0.0.1")
