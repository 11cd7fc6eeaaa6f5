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
from policy_eval import allowed, may_assume

from provisioner.render.security_headers import security_headers
from provisioner.spec.load import load_network
from provisioner.spec.network import Network
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


PRINCIPAL = "arn:aws:iam::" + ACCOUNT + ":role/sso/candidate-{slug}"


def principals(network: Network) -> dict[str, str]:
    return {n.slug: PRINCIPAL.format(slug=n.slug) for n in network if n.kind == "candidate"}


def bucket_arns(outputs: dict[str, Any]) -> tuple[str, str]:
    return f"arn:aws:s3:::{outputs['site_bucket']}", f"arn:aws:s3:::{outputs['private_bucket']}"


def checks(slug: str, other: str, site: str, private: str) -> list[tuple[str, str, bool]]:
    """(action, resource, allowed?) that must hold for the candidate `slug`."""
    return [
        ("s3:PutObject", f"{private}/inbox/{slug}/pages/home.html.j2", True),
        ("s3:GetObject", f"{private}/private/{slug}/supporters.csv", True),
        ("s3:PutObject", f"{site}/sites/{slug}/20260101T000000000000-abc/index.html", False),
        ("s3:PutObject", f"{site}/sites/{slug}/_current", False),
        ("s3:DeleteObject", f"{site}/sites/{slug}/_current", False),
        ("s3:PutObject", f"{private}/private/{slug}/supporters.csv", False),
        ("s3:GetObjectVersion", f"{private}/private/{slug}/supporters.csv", False),
        ("s3:ListBucketVersions", private, False),
        ("s3:PutObject", f"{private}/inbox/{other}/pages/home.html.j2", False),
        ("s3:GetObject", f"{private}/private/{other}/supporters.csv", False),
        ("s3:GetObject", f"{private}/manifests/{slug}/x.json", False),
    ]


def assert_scoped(policy: dict[str, Any], slug: str, other: str, outputs: Any, tags: Any) -> None:
    site, private = bucket_arns(outputs)
    for action, resource, expected in checks(slug, other, site, private):
        assert allowed([policy], action, resource, tags) is expected, (slug, action, resource)
    listing = {"s3:prefix": f"private/{other}/"}
    assert not allowed([policy], "s3:ListBucket", private, {**tags, **listing})


@pytest.fixture(scope="module")
def with_principals(network: Network) -> tuple[Recorder, dict[str, Any]]:
    return run_program(network, InfraSettings(candidate_principals=principals(network)))


def test_no_candidate_can_assume_anothers_role_or_write_a_live_release(
    with_principals: tuple[Recorder, dict[str, Any]], network: Network
) -> None:
    recorder, outputs = with_principals
    candidates = sorted(principals(network))
    roles = {
        r.name: json.loads(r.inputs["assumeRolePolicy"]) for r in recorder.of_type("iam/role:Role")
    }
    policies = {
        r.name.removesuffix("-access"): json.loads(r.inputs["policy"])
        for r in recorder.of_type("iam/rolePolicy:RolePolicy")
    }
    assert len(candidates) >= 100 and set(outputs["candidate_roles"]) == set(candidates)
    callers = [PRINCIPAL.format(slug=s) for s in candidates]
    callers += [f"arn:aws:iam::{ACCOUNT}:root", f"arn:aws:iam::{ACCOUNT}:user/ci"]
    for index, slug in enumerate(candidates):
        trust = roles[role_name(slug)]
        assert [c for c in callers if may_assume(trust, c)] == [PRINCIPAL.format(slug=slug)]
        other = candidates[index - 1]
        assert_scoped(policies[role_name(slug)], slug, other, outputs, {})


def test_a_candidate_without_a_principal_gets_no_role(network: Network) -> None:
    given = principals(network)
    missing = sorted(given)[0]
    del given[missing]
    recorder, outputs = run_program(network, InfraSettings(candidate_principals=given))
    assert outputs["candidates_without_principal"] == [missing]
    assert role_name(missing) not in {r.name for r in recorder.of_type("iam/role:Role")}
    assert missing not in outputs["candidate_roles"]


def without_deny(policy: dict[str, Any]) -> dict[str, Any]:
    policy["Statement"] = [s for s in policy["Statement"] if s["Effect"] != "Deny"]
    return policy


@pytest.mark.parametrize(
    "widen",
    [
        lambda p: without_deny(p)["Statement"][0]["Resource"].append("arn:aws:s3:::s/sites/*"),
        lambda p: without_deny(p)["Statement"][1]["Action"].append("s3:GetObjectVersion"),
        lambda p: p["Statement"][1]["Resource"].append("arn:aws:s3:::p/private/*"),
        lambda p: p["Statement"][0]["Resource"].append("arn:aws:s3:::p/inbox/*"),
    ],
)
def test_the_evaluator_finds_a_widened_policy(widen: Callable[[Any], None]) -> None:
    outputs = {"site_bucket": "s", "private_bucket": "p"}
    policy = candidate_policy("liege", "arn:aws:s3:::s", "arn:aws:s3:::p")
    assert_scoped(policy, "liege", "namur", outputs, {})
    widen(policy)
    with pytest.raises(AssertionError):
        assert_scoped(policy, "liege", "namur", outputs, {})


def test_the_explicit_deny_outweighs_a_broad_grant_attached_later() -> None:
    outputs = {"site_bucket": "s", "private_bucket": "p"}
    policy = candidate_policy("liege", "arn:aws:s3:::s", "arn:aws:s3:::p")
    broad = {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::s/sites/liege/*"}
    assert_scoped(
        {**policy, "Statement": [*policy["Statement"], broad]}, "liege", "namur", outputs, {}
    )


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
    trust = json.loads(roles[0].inputs["assumeRolePolicy"])
    policy = json.loads(
        next(
            r.inputs["policy"]
            for r in recorder.of_type("iam/rolePolicy:RolePolicy")
            if r.name == "horizon-candidates-access"
        )
    )
    slugs = [n.slug for n in network if n.kind == "candidate"]
    user = f"arn:aws:iam::{ACCOUNT}:user/someone"
    for slug in slugs:
        own = {"aws:PrincipalTag/nation": slug, "aws:TagKeys": ["nation"]}
        assert may_assume(trust, user, {**own, "aws:RequestTag/nation": slug})
        for other in (s for s in slugs if s != slug):
            assert not may_assume(trust, user, {**own, "aws:RequestTag/nation": other})
        untagged = {"aws:RequestTag/nation": slug, "aws:TagKeys": ["nation"]}
        assert not may_assume(trust, user, untagged)  # a caller without a nation of its own
        extra = {**own, "aws:RequestTag/nation": slug, "aws:TagKeys": ["nation", "admin"]}
        assert not may_assume(trust, user, extra)
        assert not may_assume(
            trust, "arn:aws:iam::999999999999:user/x", {**own, "aws:RequestTag/nation": slug}
        )
        other = next(s for s in slugs if s != slug)
        assert_scoped(policy, slug, other, outputs, {"aws:PrincipalTag/nation": slug})
    assert not allowed([policy], "s3:GetObject", f"{bucket_arns(outputs)[1]}/private/x/a.csv")


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


def test_old_private_versions_expire_within_a_day_and_pages_carry_the_headers(
    sample: tuple[Recorder, dict[str, Any]],
) -> None:
    recorder, _ = sample
    (lifecycle,) = recorder.of_type("s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    (rule,) = lifecycle.inputs["rules"]
    assert rule["status"] == "Enabled" and rule["filter"] == {}
    assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == 1
    (headers,) = recorder.of_type("cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    config = headers.inputs["securityHeadersConfig"]
    csp = config["contentSecurityPolicy"]["contentSecurityPolicy"]
    assert csp == security_headers()["Content-Security-Policy"]  # the one definition
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert config["strictTransportSecurity"]["accessControlMaxAgeSec"] >= 31_536_000
    assert config["contentTypeOptions"]["override"] is True
    assert config["referrerPolicy"]["referrerPolicy"] == security_headers()["Referrer-Policy"]
    distributions = recorder.of_type("cloudfront/distribution:Distribution")
    assert distributions and all(
        d.inputs["defaultCacheBehavior"]["responseHeadersPolicyId"] == f"{headers.name}-id"
        for d in distributions
    )
