"""The Pulumi program over the whole sample network, with `pulumi.runtime.set_mocks`.

No cloud and no Pulumi CLI: every resource the program declares is recorded with its
inputs, and the tests read those inputs (policies as JSON, aliases, records, keys).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cloud_mocks import (  # first: puts infra/ on sys.path
    ACCOUNT,
    REPO,
    Recorder,
    run_entry_point,
    run_program,
)
from helpers import nation, write_spec
from horizon_infra.iam import role_name
from horizon_infra.policies import candidate_policy
from horizon_infra.routing import MAX_ALIASES, plan_routing, under_wildcard
from horizon_infra.settings import InfraSettings

from provisioner.network import Network
from provisioner.spec import load_network
from provisioner.targets.aws import resolve_settings

# pulumi_aws warns about its own deprecated classes as it loads them (not ours: we use
# the current names), which would bury real warnings.
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning")


@pytest.fixture(scope="module")
def network() -> Network:
    return load_network(REPO / "nations.yaml")


@pytest.fixture(scope="module")
def sample(network: Network) -> tuple[Recorder, dict[str, Any]]:
    return run_program(network, InfraSettings())


def grants(policy: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    """(effect, action, resource, condition) for every statement, flattened."""
    found = set()
    for statement in policy["Statement"]:
        actions, resources = statement["Action"], statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            for resource in [resources] if isinstance(resources, str) else resources:
                condition = json.dumps(statement.get("Condition"), sort_keys=True)
                found.add((statement["Effect"], action, resource, condition))
    return found


def expected_grants(slug: str, site: str, private: str) -> set[tuple[str, str, str, str]]:
    """Written out by hand, independently of the program's policy function."""
    listing = json.dumps({"StringLike": {"s3:prefix": [f"private/{slug}/*"]}})
    return {
        ("Allow", "s3:PutObject", f"{site}/sites/{slug}/*", "null"),
        ("Allow", "s3:DeleteObject", f"{site}/sites/{slug}/*", "null"),
        ("Allow", "s3:GetObject", f"{private}/private/{slug}/*", "null"),
        ("Allow", "s3:GetObjectVersion", f"{private}/private/{slug}/*", "null"),
        ("Allow", "s3:ListBucket", private, listing),
    }


def bucket_arns(outputs: dict[str, Any]) -> tuple[str, str]:
    return f"arn:aws:s3:::{outputs['site_bucket']}", f"arn:aws:s3:::{outputs['private_bucket']}"


def test_every_candidate_role_covers_only_its_own_prefixes(
    sample: tuple[Recorder, dict[str, Any]], network: Network
) -> None:
    recorder, outputs = sample
    site, private = bucket_arns(outputs)
    candidates = {n.slug for n in network if n.kind == "candidate"}
    policies = {
        r.name.removesuffix("-access"): r for r in recorder.of_type("iam/rolePolicy:RolePolicy")
    }
    assert len(candidates) >= 100 and set(outputs["candidate_roles"]) == candidates
    for slug in candidates:
        policy = json.loads(policies[role_name(slug)].inputs["policy"])
        assert grants(policy) == expected_grants(slug, site, private), slug


@pytest.mark.parametrize(
    "widen",
    [
        lambda p: p["Statement"][0]["Resource"].append("arn:aws:s3:::x/sites/*"),
        lambda p: p["Statement"][1]["Action"].append("s3:PutObject"),
        lambda p: p["Statement"][2]["Condition"]["StringLike"]["s3:prefix"].append("private/*"),
        lambda p: p["Statement"].append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
    ],
)
def test_the_policy_check_fails_when_a_policy_widens(widen: Callable[[Any], None]) -> None:
    policy = candidate_policy("liege", "arn:aws:s3:::s", "arn:aws:s3:::p")
    assert grants(policy) == expected_grants("liege", "arn:aws:s3:::s", "arn:aws:s3:::p")
    widen(policy)
    assert grants(policy) != expected_grants("liege", "arn:aws:s3:::s", "arn:aws:s3:::p")


def routed(recorder: Recorder) -> dict[str, set[str]]:
    """Domain -> names of the distributions its A/AAAA alias records point at."""
    records: dict[str, set[str]] = {}
    for record in recorder.of_type("route53/record:Record"):
        for alias in record.inputs.get("aliases", []):
            records.setdefault(record.inputs["name"], set()).add(alias["name"])
    return records


def test_every_custom_domain_is_routed(
    sample: tuple[Recorder, dict[str, Any]], network: Network
) -> None:
    recorder, _ = sample
    base = network.info.base_domain
    custom = {n.domain: n.slug for n in network if n.domain != f"{n.slug}.{base}"}
    assert custom, "the sample network has custom domains"
    keys = {
        r.inputs["key"]: r.inputs["value"]
        for r in recorder.of_type("cloudfront/keyvaluestoreKey:KeyvaluestoreKey")
    }
    aliases = {
        a
        for d in recorder.of_type("cloudfront/distribution:Distribution")
        for a in d.inputs["aliases"]
    }
    records = routed(recorder)
    for domain, slug in custom.items():
        assert keys[f"d:{domain}"] == slug
        assert domain in aliases or (under_wildcard(domain, base) and f"*.{base}" in aliases)
        assert records[domain] == {"d-main.cloudfront.net"}
    assert records[f"*.{base}"] == {"d-main.cloudfront.net"}


def test_private_bucket_is_never_public(sample: tuple[Recorder, dict[str, Any]]) -> None:
    recorder, outputs = sample
    blocks = {
        r.name: r.inputs
        for r in recorder.of_type("s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    }
    for flags in blocks.values():
        assert all(
            flags[k]
            for k in (
                "blockPublicAcls",
                "blockPublicPolicy",
                "ignorePublicAcls",
                "restrictPublicBuckets",
            )
        )
    assert set(blocks) == {"data-sites-public-access", "data-private-public-access"}
    policies = {
        r.name: json.loads(r.inputs["policy"])
        for r in recorder.of_type("s3/bucketPolicy:BucketPolicy")
    }
    private_policy = policies["data-private-policy"]["Statement"]
    assert all(s["Effect"] == "Deny" for s in private_policy)
    origins = [
        o["domainName"]
        for d in recorder.of_type("cloudfront/distribution:Distribution")
        for o in d.inputs["origins"]
    ]
    assert origins and all(outputs["private_bucket"] not in origin for origin in origins)
    versioning = recorder.of_type("s3/bucketVersioning:BucketVersioning")
    assert [v.inputs["versioningConfiguration"]["status"] for v in versioning] == ["Enabled"]
    encryption = {
        r.name
        for r in recorder.of_type(
            "s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )
    }
    assert "data-private-encryption" in encryption


def test_site_bucket_is_read_only_by_our_distributions(
    sample: tuple[Recorder, dict[str, Any]],
) -> None:
    recorder, outputs = sample
    site, _ = bucket_arns(outputs)
    policy = next(
        json.loads(r.inputs["policy"])
        for r in recorder.of_type("s3/bucketPolicy:BucketPolicy")
        if r.name == "sites-policy"
    )
    allow = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow == [
        {
            "Sid": "CloudFrontReadsSites",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": f"{site}/sites/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": [f"arn:aws:mock::{ACCOUNT}:main"]}},
        }
    ]
    for distribution in recorder.of_type("cloudfront/distribution:Distribution"):
        assert distribution.inputs["origins"][0]["originAccessControlId"] == "cdn-oac-id"
        association = distribution.inputs["defaultCacheBehavior"]["functionAssociations"][0]
        assert association["eventType"] == "viewer-request"


def test_stack_outputs_are_what_the_s3_target_reads(
    sample: tuple[Recorder, dict[str, Any]], tmp_path: Path
) -> None:
    _, outputs = sample
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    settings = resolve_settings({}, {}, path)
    assert (settings.site_bucket, settings.private_bucket) == (
        outputs["site_bucket"],
        outputs["private_bucket"],
    )
    assert (settings.region, settings.base_domain) == ("eu-west-1", "horizon.example")
    assert settings.kvs_arn == outputs["kvs_arn"]


def test_aliases_are_sharded_past_100_custom_domains(tmp_path: Path) -> None:
    nations = [nation("hq")] + [
        nation(f"n{i}", "hq", domain=f"n{i}.example.org") for i in range(250)
    ]
    network = load_network(write_spec(tmp_path, nations), REPO / "blueprints")
    recorder, outputs = run_program(network, InfraSettings(zones={"example.org": "ZORG"}))
    distributions = recorder.of_type("cloudfront/distribution:Distribution")
    shards = sorted((d for d in distributions if d.name != "main"), key=lambda d: d.name)
    assert [len(d.inputs["aliases"]) for d in shards] == [100, 100, 50]
    served = [a for d in shards for a in d.inputs["aliases"]]
    assert sorted(served) == sorted(f"n{i}.example.org" for i in range(250))
    assert routed(recorder)["n249.example.org"] == {"d-shard-2.cloudfront.net"}
    assert len(outputs["distribution_ids"]) == 4 and not outputs["cname_by_hand"]


@pytest.mark.parametrize(
    ("count", "shards"), [(0, 0), (1, 1), (MAX_ALIASES, 1), (MAX_ALIASES + 1, 2)]
)
def test_shard_count(count: int, shards: int) -> None:
    routing = plan_routing(
        [(f"n{i}", f"n{i}.example.org") for i in range(count)], "horizon.example"
    )
    assert len(routing.shards) == shards
    assert all(len(shard) <= MAX_ALIASES for shard in routing.shards)


def candidates_network(tmp_path: Path, count: int) -> Network:
    people = [
        nation(
            f"c{i}",
            "hq",
            blueprint="candidate",
            candidate={"first_name": "A", "last_name": f"B{i}"},
        )
        for i in range(count)
    ]
    return load_network(write_spec(tmp_path, [nation("hq"), *people]), REPO / "blueprints")


def test_past_the_role_quota_candidates_share_one_tagged_role(tmp_path: Path) -> None:
    network = candidates_network(tmp_path, 3)
    recorder, outputs = run_program(network, InfraSettings(max_candidate_roles=2))
    roles = [r for r in recorder.of_type("iam/role:Role") if r.name != "intake-role"]
    assert [role.name for role in roles] == ["horizon-candidates"]
    trust = json.loads(roles[0].inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    policy = json.loads(
        next(
            r.inputs["policy"]
            for r in recorder.of_type("iam/rolePolicy:RolePolicy")
            if r.name == "horizon-candidates-access"
        )
    )
    site, private = bucket_arns(outputs)
    assert grants(policy) == expected_grants("${aws:PrincipalTag/nation}", site, private)


def test_entry_point_reads_the_stack_configuration(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [nation("hq", domain="www.horizon.example")])
    shutil.copytree(REPO / "blueprints", tmp_path / "blueprints")
    config = {"horizon:spec": str(spec), "horizon:zoneId": "ZCONFIGURED"}
    config["horizon:certificateArn"] = "arn:aws:acm:us-east-1:1:certificate/x"
    recorder = run_entry_point(config)
    assert recorder.of_type("route53/zone:Zone") == []  # the configured zone is used
    assert recorder.of_type("acm/certificate:Certificate") == []
    records = recorder.of_type("route53/record:Record")
    assert {r.inputs["zoneId"] for r in records} == {"ZCONFIGURED"}
    assert "www.horizon.example" in {r.inputs["name"] for r in records}


def test_role_names_fit_iam_limits() -> None:
    assert role_name("liege") == "horizon-candidate-liege"
    long = role_name("a" * 63)
    assert len(long) == 64 and long != role_name("a" * 62 + "b")
