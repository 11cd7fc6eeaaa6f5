"""Candidates' inbox on a real S3 endpoint (moto_server): checked, then accepted or not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from helpers import copy_sample_network
from s3_support import MotoServer

from provisioner.candidates.inbox import S3Inbox, path_problems, take_inbox
from provisioner.run.deploy import Project, load

GOOD = '{% block intro %}<p class="lead">Bonjour Anderlecht.</p>{% endblock %}'
HOSTILE = "{% block intro %}<script>fetch('/api')</script>{% endblock %}"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server = MotoServer()
    client = boto3.client(
        "s3",
        endpoint_url=server.url,
        region_name="eu-west-1",
        aws_access_key_id="AKIAINBOXTEST0000000",
        aws_secret_access_key="inbox-test",
    )
    client.create_bucket(
        Bucket="private", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    yield client
    server.stop()


def keys(s3: Any) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket="private").get("Contents", [])}


def test_good_uploads_are_accepted_and_hostile_ones_stay_out(s3: Any, tmp_path: Path) -> None:
    project = Project(spec=copy_sample_network(tmp_path))
    uploads = {
        "inbox/eline-mertens/overrides/pages/home.html.j2": GOOD,
        "inbox/jan-peeters/overrides/pages/home.html.j2": HOSTILE,
        "inbox/marie-dubois/../../sites/hq/_current": "r0",
        "inbox/hq/overrides/pages/home.html.j2": GOOD,  # not a candidate
    }
    for key, body in uploads.items():
        s3.put_object(Bucket="private", Key=key, Body=body.encode())
    candidates = {n.slug for n in load(project) if n.kind == "candidate"}
    outcomes = {o.slug: o for o in take_inbox(project, S3Inbox(s3, "private"), candidates)}
    assert {s for s, o in outcomes.items() if o.accepted} == {"eline-mertens"}
    written = tmp_path / "nations" / "eline-mertens" / "overrides" / "pages" / "home.html.j2"
    assert written.read_text() == GOOD
    assert any("<script>" in p.message for p in outcomes["jan-peeters"].problems)
    assert (
        tmp_path / "nations" / "jan-peeters" / "overrides" / "pages" / "home.html.j2"
    ).read_text() != HOSTILE
    assert [p.message for p in outcomes["marie-dubois"].problems] == ["not a plain relative path"]
    assert not (tmp_path / "sites").exists()
    assert outcomes["hq"].problems[0].message == "not a nation of the spec"
    # Accepted uploads leave the inbox; rejected ones stay for the candidate to fix.
    assert keys(s3) == set(uploads) - {"inbox/eline-mertens/overrides/pages/home.html.j2"}


@pytest.mark.parametrize(
    "path",
    ["../site.yaml", "overrides/../../x", ".hidden", "overrides\\x", "/abs", "pages/home.html.j2"],
)
def test_misplaced_paths_are_refused_before_any_write(path: str) -> None:
    assert path_problems("liege", {path: b"x"})
