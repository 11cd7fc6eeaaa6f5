"""The whole cloud side of a network, from its resolved nations.yaml.

`build()` declares every resource and returns the stack outputs; `__main__.py` only
reads the configuration and exports them. The S3 target reads the outputs
(`pulumi stack output --json`): bucket names, region, base domain, KeyValueStore.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from horizon_infra.buckets import Buckets
from horizon_infra.cdn import Cdn
from horizon_infra.dns import alias_records, base_zone, validated_certificate
from horizon_infra.email import EmailDomain
from horizon_infra.iam import CandidateAccess
from horizon_infra.intake import intake_api, intake_outputs
from horizon_infra.policies import deployer_policy
from horizon_infra.routing import plan_routing, zone_for
from horizon_infra.settings import InfraSettings
from provisioner.spec.network import Network

Zones = dict[str, pulumi.Input[str]]


def build(network: Network, settings: InfraSettings) -> dict[str, Any]:
    """Declare every resource of the network; return the stack outputs."""
    base = network.info.base_domain
    routing = plan_routing(((n.slug, n.domain) for n in network), base)
    us_east_1 = aws.Provider("us-east-1", region="us-east-1")  # CloudFront certificates
    zone_id, name_servers = base_zone(base, settings.zone_id)
    zones: dict[str, pulumi.Input[str]] = {**settings.zones, base: zone_id}
    buckets = Buckets("data", settings.private_version_days)
    cdn = Cdn("cdn", routing, buckets.site, settings.price_class)
    email = EmailDomain("email", base, zone_id)
    intake = intake_api(cdn, base, email, settings)
    manual = _main_distribution(cdn, settings.certificate_arn, zones, us_east_1)
    unrouted = _shard_distributions(cdn, zones, us_east_1, manual)
    buckets.allow_cloudfront([d.arn for d in cdn.distributions])
    access, deployer = _access(network, settings, buckets, cdn)
    return {
        "site_bucket": buckets.site.bucket,
        "private_bucket": buckets.private.bucket,
        "region": aws.get_region_output().region,
        "base_domain": base,
        "kvs_arn": cdn.kvs.arn,
        "distribution_ids": [d.id for d in cdn.distributions],
        "distribution_domains": [d.domain_name for d in cdn.distributions],
        "candidate_roles": access.roles,
        "candidates_without_principal": access.without_principal,
        "deployer_policy_arn": deployer.arn,
        "name_servers": name_servers,
        "cname_by_hand": unrouted,
        **intake_outputs(intake),
        "validate_by_hand": sorted(set(manual)),
    }


def _access(
    network: Network, settings: InfraSettings, buckets: Buckets, cdn: Cdn
) -> tuple[CandidateAccess, aws.iam.Policy]:
    """Candidate roles, and the policy the publishing (CI) role needs."""
    access = CandidateAccess(
        "candidates",
        [n.slug for n in network if n.kind == "candidate"],
        buckets.site,
        buckets.private,
        settings.candidate_principals,
        settings.candidate_principal or _account_root(),
        settings.max_candidate_roles,
    )
    deployer = aws.iam.Policy(
        "deployer",
        description="What `provisioner deploy --target s3` needs",
        policy=pulumi.Output.all(buckets.site.arn, buckets.private.arn, cdn.kvs.arn).apply(
            lambda arns: json.dumps(deployer_policy(*arns))
        ),
    )
    return access, deployer


def _main_distribution(
    cdn: Cdn, certificate_arn: str | None, zones: Zones, provider: aws.Provider
) -> list[str]:
    """The wildcard distribution and its records; returns domains to validate by hand."""
    routing, zone_id = cdn.routing, zones[cdn.routing.base_domain]
    manual: list[str] = []
    if certificate_arn:
        certificate: pulumi.Input[str] = certificate_arn
    else:
        certificate, manual = validated_certificate(
            "wildcard-certificate", routing.main_aliases, zones, provider
        )
    main = cdn.distribution("main", routing.main_aliases, certificate)
    alias_records("wildcard", zone_id, f"*.{routing.base_domain}", main)
    alias_records("apex", zone_id, routing.base_domain, main)
    for site in routing.covered:
        alias_records(f"domain-{site.domain}", zone_id, site.domain, main)
    return manual


def _shard_distributions(
    cdn: Cdn, zones: Zones, provider: aws.Provider, manual: list[str]
) -> dict[str, pulumi.Output[str]]:
    """One distribution per shard of custom domains; returns domains to CNAME by hand."""
    unrouted: dict[str, pulumi.Output[str]] = {}
    for index, shard in enumerate(cdn.routing.shards):
        domains = [site.domain for site in shard]
        certificate, missing = validated_certificate(
            f"shard-{index}-certificate", domains, zones, provider
        )
        manual += missing
        distribution = cdn.distribution(f"shard-{index}", domains, certificate)
        for domain in domains:
            zone = zone_for(domain, zones)
            if zone is None:  # DNS hosted elsewhere: a CNAME to create by hand
                unrouted[domain] = distribution.domain_name
            else:
                alias_records(f"domain-{domain}", zone, domain, distribution)
    return unrouted


def _account_root() -> pulumi.Output[str]:
    identity = aws.get_caller_identity_output()
    return identity.account_id.apply(lambda account: f"arn:aws:iam::{account}:root")
