"""The S3 scenarios of `make bench` (issue 16): the sample network published to S3 and SES.

moto's server on loopback stands in for AWS, behind the tests' counting proxy, so every
request is counted per API on the wire. SES runs at AWS's real 1 request/s: the tool's
own shared rate limiter enforces it (moto has no quota). Three runs: a first deploy to
empty buckets, a no-op redeploy, and one shared blueprint email changed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the moto server and proxy the tests use

from s3_support import MotoServer, Proxy, Traffic  # noqa: E402

REGION = "eu-west-1"
SITE, PRIVATE = "bench-sites", "bench-private"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIABENCHBENCHBENCH1", "AWS_SECRET_ACCESS_KEY": "bench"}


def requests_per_api(traffic: Traffic) -> dict[str, dict[str, int]]:
    ses = dict(sorted(traffic.actions.items()))
    s3 = {method: count for method, count in sorted(traffic.methods.items())}
    s3["POST"] = s3.get("POST", 0) - sum(ses.values())  # SES calls are POSTs too
    s3 = {method: count for method, count in s3.items() if count}
    s3["of which server-side copies"] = traffic.copies
    return {"s3": s3, "ses": ses}


def _buckets(url: str) -> None:
    import boto3

    client = boto3.client("s3", endpoint_url=url, region_name=REGION, **_keys())
    for bucket in (SITE, PRIVATE):
        client.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": "bench"}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PROVISIONER_"))}
    return {**env, **CREDENTIALS, "AWS_REGION": REGION}


def s3_scenarios(work: Path, extra: list[str]) -> list[Any]:
    from bench import prepare_tree, run_cli

    tree = prepare_tree(work / "s3")
    out = tree / "build"
    server = MotoServer()
    proxy = Proxy(server.port)
    try:
        _buckets(server.url)
        proxy.reset()
        args = ["deploy", "-q", "--spec", str(tree / "nations.yaml"), "--out", str(out)]
        args += ["--target", "s3", "--endpoint-url", proxy.url, "--site-bucket", SITE]
        args += ["--private-bucket", PRIVATE, *extra]
        measures = []
        for name in ("s3 first deploy", "s3 no-op redeploy", "s3 email change"):
            if name == "s3 email change":
                email = tree / "blueprints" / "candidate" / "templates" / "emails" / "welcome"
                with (email / "text.txt.j2").open("a", encoding="utf-8") as text:
                    text.write("P.S. {{ t.email.signoff }}\n")
            measure = run_cli(name, args, out, env=_env())
            measure.requests = requests_per_api(proxy.reset())
            measures.append(measure)
        return measures
    finally:
        proxy.stop()
        server.stop()


def s3_verdicts(by_name: dict[str, Any]) -> dict[str, float]:
    if "s3 first deploy" not in by_name:
        return {}
    first, noop = by_name["s3 first deploy"], by_name["s3 no-op redeploy"]
    writes = noop.requests["s3"].get("PUT", 0) + sum(
        n for action, n in noop.requests["ses"].items() if action.endswith("Template")
    )
    return {
        "s3_first_deploy_s": first.wall_s,
        "s3_first_deploy_ses_templates": first.requests["ses"].get("CreateTemplate", 0),
        "s3_email_change_s": by_name["s3 email change"].wall_s,
        "s3_noop_writes": writes,
    }
