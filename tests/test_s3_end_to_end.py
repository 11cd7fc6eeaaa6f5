"""The real CLI publishing the whole sample network to a real S3 endpoint (moto_server).

Every request goes through a proxy that counts it (so "a rerun makes zero PUTs" is
measured on the wire) and, in the fault test, answers 10% of requests with 503 SlowDown,
500 or a TCP reset. Each heavy scenario is one test with its own server, so that
pytest-xdist can run them side by side without deploying the network twice per worker.
Publishing all 444 nations to moto takes minutes of CPU (about 11,500 PUTs through two
Python servers on 2 cores), so the whole network on S3 is `make bench`'s job
(scripts/bench_s3.py); the first test publishes PUBLISH_SUBSET, a slice holding every
blueprint and language (the German-speaking candidates included), and the fault and shard
tests need only enough nations for worker threads and two shards (FAULT_SUBSET).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from helpers import copy_sample_network, mini_blueprints, nation, only_args, write_spec
from s3_support import MotoServer, Proxy, Traffic

from provisioner.spec.load import load_network
from provisioner.supporters import load_geography
from provisioner.supporters.generate import generate

pytestmark = [pytest.mark.slow, pytest.mark.spread]

REGION = "eu-west-1"
ACCESS_KEY = "AKIAPROVISIONERE2E01"
SECRET_KEY = "e2e/secret+key/that+must+never+be+logged"
SITE, PRIVATE = "horizon-sites", "horizon-private"
FAULT_SUBSET = ["hq", "a*"]
PUBLISH_SUBSET = ["hq", "a*", "marie-dubois", "laura-dupont", "marie-dumont", "eupen"]
# SES calls go through the shared rate limit at this pace (the default is AWS's 1/s, which
# test_s3_target checks): the first deploy's ~40 template writes then take 4 s, not 40.
SES_RATE = 10.0


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A snapshot of the sample network: templates edited meanwhile cannot change a run."""
    copy_sample_network(tmp_path)
    # A small supporter export beside the spec: deploy picks up data/supporters.csv, so
    # private lists are published too (and must land in the private bucket only).
    geography = load_geography(tmp_path / "nations.yaml")
    generate(tmp_path / "data", geography.postcode_languages(), count=3_000)
    return tmp_path / "nations.yaml"


@contextmanager
def s3_endpoint(fault_rate: float = 0.0) -> Iterator[tuple[Proxy, Any]]:
    """moto_server with both buckets, behind a counting proxy; both stopped at the end."""
    server = MotoServer()
    proxy = Proxy(server.port, fault_rate=0.0, seed=7)
    try:
        client = boto3.client(
            "s3",
            endpoint_url=server.url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )
        for bucket in (SITE, PRIVATE):
            client.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        proxy.reset(fault_rate=fault_rate)
        yield proxy, client
    finally:
        proxy.stop()
        server.stop()


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PROVISIONER_"))}
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_REGION=REGION,
        PROVISIONER_SES_RATE=str(SES_RATE),
    )
    return env


def deploy_s3(spec: Path, out: Path, proxy: Proxy, *extra: str) -> tuple[Any, Traffic, float]:
    """Run `provisioner deploy --target s3`; return the process, its traffic and duration."""
    command = [sys.executable, "-m", "provisioner", "deploy", "--spec", str(spec)]
    command += ["--out", str(out), "--target", "s3", "--endpoint-url", proxy.url]
    command += ["--site-bucket", SITE, "--private-bucket", PRIVATE, "-q", "-j", "8", *extra]
    start = time.monotonic()
    done = subprocess.run(command, env=cli_env(), capture_output=True, text=True, timeout=600)
    return done, proxy.reset(), time.monotonic() - start


def summary(out: Path) -> dict[str, int]:
    return dict(json.loads((out / "reports" / "latest.json").read_text())["summary"])


def all_keys(client: Any, bucket: str) -> set[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {obj["Key"] for page in pages for obj in page.get("Contents", [])}


def live_manifests(client: Any, slugs: list[str]) -> dict[str, tuple[str, dict[str, str]]]:
    """slug -> (current release, its manifest), read back from the buckets."""
    found = {}
    for slug in slugs:
        pointer = client.get_object(Bucket=SITE, Key=f"sites/{slug}/_current")
        release = pointer["Body"].read().decode()
        manifest = client.get_object(Bucket=PRIVATE, Key=f"manifests/{slug}/{release}.json")
        found[slug] = (release, json.loads(manifest["Body"].read()))
    return found


def check_published(client: Any, live: dict[str, tuple[str, dict[str, str]]]) -> None:
    """Every file of every manifest is where it belongs, in the right bucket only."""
    site_keys, private_keys = all_keys(client, SITE), all_keys(client, PRIVATE)
    assert all(key.startswith("sites/") for key in site_keys)
    assert all(
        key.startswith(("private/", "manifests/", "emails/", "live/")) for key in private_keys
    )
    for slug, (release, manifest) in live.items():
        assert f"sites/{slug}/{release}/index.html" in site_keys, slug
        for entry in manifest:
            area, path = entry.split("/", 1)
            if area == "sites":
                assert f"sites/{slug}/{release}/{path}" in site_keys, entry
            elif area == "private":
                assert f"private/{slug}/{path}" in private_keys, entry
                assert not any(key.endswith(f"/{path}") for key in site_keys), entry
    templates = set()
    for slug in live:
        sends = client.get_object(Bucket=PRIVATE, Key=f"emails/{slug}.json")["Body"].read()
        templates |= {email["Template"] for email in json.loads(sends).values()}
    assert templates and set(ses_template_names(client)) == templates


def ses_template_names(s3: Any) -> list[str]:
    ses = boto3.client(
        "ses",
        endpoint_url=s3.meta.endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    pages = ses.get_paginator("list_templates").paginate()
    return [t["Name"] for page in pages for t in page["TemplatesMetadata"]]


def assert_paced(times: list[float]) -> None:
    """8 worker threads wrote templates through one bucket: no faster than SES_RATE."""
    assert len(times) >= 10, times
    # n calls at `rate` with a burst of 1 span at least n-1 intervals, whatever the jitter.
    assert max(times) - min(times) >= (len(times) - 1) / SES_RATE * 0.9


def check_content(client: Any, slug: str, release: str, manifest: dict[str, str]) -> None:
    """Bytes match the build's sha256, with the content type a browser needs."""
    expected = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8"}
    expected[".json"] = "application/json"
    for entry, digest in manifest.items():
        area, path = entry.split("/", 1)
        if area != "sites":
            continue
        obj = client.get_object(Bucket=SITE, Key=f"sites/{slug}/{release}/{path}")
        assert hashlib.sha256(obj["Body"].read()).hexdigest() == digest, entry
        suffix = Path(path).suffix
        if suffix in expected:
            assert obj["ContentType"] == expected[suffix], entry


def no_secrets_in(out: Path, *texts: str) -> None:
    blobs = [text.encode() for text in texts]
    blobs += [path.read_bytes() for path in out.rglob("*") if path.is_file()]
    for secret in (ACCESS_KEY, SECRET_KEY):
        assert not any(secret.encode() in blob for blob in blobs), "credential leaked"


def test_a_slice_of_the_sample_network_publishes_and_a_rerun_writes_nothing(
    sample: Path, tmp_path: Path
) -> None:
    network = load_network(sample)
    picked = [n for n in network if fnmatch_any(n.slug, PUBLISH_SUBSET)]
    slugs = [n.slug for n in picked]
    assert {lang for n in picked for lang in n.languages} == {"fr", "nl", "de"}
    assert {n.blueprint for n in picked} == {n.blueprint for n in network}
    only = only_args(PUBLISH_SUBSET)
    with s3_endpoint() as (proxy, client):
        first, traffic, seconds = deploy_s3(sample, tmp_path / "out", proxy, *only)
        assert first.returncode == 0, first.stderr + first.stdout
        assert summary(tmp_path / "out")["deployed"] == len(slugs)
        live = live_manifests(client, slugs)
        check_published(client, live)
        for slug in ("hq", "marie-dubois", slugs[-1]):
            check_content(client, slug, *live[slug])
        created = traffic.actions["CreateTemplate"]
        assert 0 < created <= 50 and created == len(ses_template_names(client))
        assert_paced(traffic.ses_times)
        print(f"\nfirst deploy: {len(slugs)} nations in {seconds:.1f}s, {traffic.writes} writes")
        print(f"SES templates: {created}, requests: {dict(traffic.methods)}")

        again, rerun, seconds = deploy_s3(sample, tmp_path / "out", proxy, *only)
        assert again.returncode == 0 and summary(tmp_path / "out")["unchanged"] == len(slugs)
        assert rerun.writes == 0, rerun.methods
        # Two bucket checks, the index listing and its one object: no read per nation.
        assert dict(rerun.methods) == {"HEAD": 2, "GET": 2}, rerun.paths
        print(f"rerun: {seconds:.1f}s, {rerun.writes} writes, {dict(rerun.methods)}")

        # A new machine without state.db: the target compares manifests, still no writes.
        cold, stateless, seconds = deploy_s3(sample, tmp_path / "fresh", proxy, *only)
        assert cold.returncode == 0 and summary(tmp_path / "fresh")["unchanged"] == len(slugs)
        assert stateless.writes == 0, stateless.methods
        print(f"rerun without state: {seconds:.1f}s, {dict(stateless.methods)}")
        assert live_manifests(client, slugs) == live
        assert not all_keys(client, PRIVATE) & {"locks/deploy-0.json"}  # released

        # One shared email changes: its template in each language of the candidates (fr,
        # nl and, for the German-speaking municipalities, de) is replaced, nothing else.
        email = sample.parent / "blueprints" / "candidate" / "templates" / "emails" / "welcome"
        with (email / "text.txt.j2").open("a", encoding="utf-8") as text:
            text.write("P.S. {{ t.email.signoff }}\n")
        changed, edit, seconds = deploy_s3(sample, tmp_path / "out", proxy, *only)
        assert changed.returncode == 0, changed.stderr
        candidates = [n for n in picked if n.blueprint == "candidate"]
        assert summary(tmp_path / "out")["deployed"] == len(candidates)
        languages = len({lang for n in candidates for lang in n.languages})
        writes = {k: v for k, v in edit.actions.items() if k.endswith("Template")}
        assert writes == {"CreateTemplate": languages, "DeleteTemplate": languages}, edit.actions
        assert len(ses_template_names(client)) == created
        print(f"email change: {seconds:.1f}s, {dict(edit.methods)}, {dict(edit.actions)}")
    no_secrets_in(tmp_path, first.stdout, first.stderr, again.stdout, cold.stderr)


def test_deploy_through_injected_faults_converges(sample: Path, tmp_path: Path) -> None:
    only = only_args(FAULT_SUBSET)
    with s3_endpoint(fault_rate=0.10) as (proxy, client):
        faulty, traffic, seconds = deploy_s3(sample, tmp_path / "out", proxy, *only)
        assert set(traffic.faults) == {"slowdown", "unavailable", "error-after", "reset"}
        assert sum(traffic.faults.values()) >= 0.05 * sum(traffic.methods.values())
        report = json.loads((tmp_path / "out" / "reports" / "latest.json").read_text())
        slugs = [n["slug"] for n in report["nations"]]
        assert faulty.returncode == 0, faulty.stdout
        assert report["summary"]["deployed"] == len(slugs) > 20
        requests = sum(traffic.methods.values())
        attempts = sum(n["attempts"] for n in report["nations"])
        print(f"\nfaults: {dict(traffic.faults)} in {requests} requests, {len(slugs)} nations")
        print(f"faulty run: {seconds:.1f}s, {attempts} engine attempts")

        live = live_manifests(client, slugs)
        check_published(client, live)
        for slug, (release, manifest) in live.items():
            check_content(client, slug, release, manifest)
        proxy.reset(fault_rate=0.0)
        clean, after, _ = deploy_s3(sample, tmp_path / "fresh", proxy, *only)
        assert clean.returncode == 0 and after.writes == 0  # nothing left half-written
    no_secrets_in(tmp_path, faulty.stdout, faulty.stderr)


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "provisioner", "deploy", "--target", "s3", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_missing_bucket_option_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    mini_blueprints(tmp_path)
    spec = write_spec(tmp_path, [nation("hq")])
    done = run_cli("--spec", str(spec), "--out", str(tmp_path / "out"), env=cli_env())
    assert done.returncode == 2
    assert "needs a site bucket: set --site-bucket, PROVISIONER_SITE_BUCKET" in done.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_bucket_exits_2_naming_the_option(tmp_path: Path) -> None:
    mini_blueprints(tmp_path)
    spec = write_spec(tmp_path, [nation("hq")])
    with s3_endpoint() as (proxy, _):
        args = ["--spec", str(spec), "--out", str(tmp_path / "out"), "--endpoint-url", proxy.url]
        done = run_cli(*args, "--site-bucket", SITE, "--private-bucket", "nope", env=cli_env())
    assert done.returncode == 2
    assert "bucket 'nope' does not exist" in done.stderr and "--private-bucket" in done.stderr
    no_secrets_in(tmp_path, done.stdout, done.stderr)


def deploy_command(spec: Path, out: Path, proxy: Proxy, *extra: str) -> list[str]:
    command = [sys.executable, "-m", "provisioner", "deploy", "--spec", str(spec)]
    command += ["--out", str(out), "--target", "s3", "--endpoint-url", proxy.url]
    return [*command, "--site-bucket", SITE, "--private-bucket", PRIVATE, "-q", *extra]


def wait_for_keys(client: Any, prefix: str, count: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.list_objects_v2(Bucket=PRIVATE, Prefix=prefix).get("KeyCount", 0) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} {prefix} keys within {timeout}s")


def test_two_shards_deploy_together_and_an_unsharded_deploy_is_refused(
    sample: Path, tmp_path: Path
) -> None:
    only = only_args(FAULT_SUBSET)
    slugs = {n.slug for n in load_network(sample) if fnmatch_any(n.slug, FAULT_SUBSET)}
    with s3_endpoint() as (proxy, client):
        # Each shard stops at its first page upload, holding its lock, until the intruder
        # has met those locks: no race between a fast machine and a slow one.
        release = proxy.hold("PUT", f"/{SITE}/")
        shards = [
            subprocess.Popen(
                deploy_command(sample, tmp_path / f"shard-{i}", proxy, "--shard", f"{i}/2", *only),
                env=cli_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(2)
        ]
        try:
            wait_for_keys(client, "locks/", count=2)
            command = deploy_command(sample, tmp_path / "intruder", proxy, *only)
            intruder = subprocess.run(
                command, env=cli_env(), capture_output=True, text=True, timeout=600
            )
            assert proxy.held >= 1  # the shards were still publishing
            release.set()
            outputs = [shard.communicate(timeout=600) for shard in shards]
        finally:
            release.set()
            for shard in shards:
                shard.kill()
        assert intruder.returncode == 1, intruder.stdout + intruder.stderr
        assert "another deploy holds the lock s3://horizon-private/locks/deploy-" in intruder.stderr
        assert "/2, started" in intruder.stderr and "run spec-" in intruder.stderr
        assert [shard.returncode for shard in shards] == [0, 0], outputs
        published = set()
        for i in range(2):
            report = json.loads((tmp_path / f"shard-{i}" / "reports" / "latest.json").read_text())
            assert {n["status"] for n in report["nations"]} == {"deployed"}
            published |= {n["slug"] for n in report["nations"]}
        assert published == slugs and len(slugs) > 20
        check_published(client, live_manifests(client, sorted(slugs)))
        assert not client.list_objects_v2(Bucket=PRIVATE, Prefix="locks/").get("KeyCount")
        # The next unsharded run reads both shards' index objects and writes nothing.
        proxy.reset()
        again, rerun, _ = deploy_s3(sample, tmp_path / "after", proxy, *only)
        assert again.returncode == 0 and rerun.writes == 0, rerun.methods


def fnmatch_any(slug: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(slug, pattern) for pattern in patterns)
