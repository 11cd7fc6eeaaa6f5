"""Route 53: the base zone, DNS-validated certificates and alias records to CloudFront.

Route 53 answers 5 API requests per second per account: `make infra-up` runs Pulumi
with `--parallel 5`, and the provider retries what is throttled anyway.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from horizon_infra.routing import zone_for

ZoneId = pulumi.Input[str]


def base_zone(base_domain: str, zone_id: str | None) -> tuple[ZoneId, pulumi.Output | None]:
    """The configured hosted zone, or a new one (whose name servers go to the registrar)."""
    if zone_id:
        return zone_id, None
    zone = aws.route53.Zone("base-zone", name=base_domain, comment="horizon network")
    return zone.zone_id, zone.name_servers


def validated_certificate(
    name: str, domains: list[str], zones: Mapping[str, ZoneId], provider: aws.Provider
) -> tuple[pulumi.Output[str], list[str]]:
    """An ACM certificate in us-east-1 (CloudFront's region) validated through Route 53.

    Returns its ARN and the domains whose zone is not ours: their validation record
    (shown in the ACM console) must be created by hand before the certificate is issued.
    """
    certificate = aws.acm.Certificate(
        name,
        domain_name=domains[0],
        subject_alternative_names=domains[1:],
        validation_method="DNS",
        opts=pulumi.ResourceOptions(provider=provider),
    )
    fqdns, unmanaged = _validation_records(name, certificate, domains, zones)
    if unmanaged:
        return certificate.arn, unmanaged
    validation = aws.acm.CertificateValidation(
        f"{name}-validated",
        certificate_arn=certificate.arn,
        validation_record_fqdns=fqdns,
        opts=pulumi.ResourceOptions(provider=provider),
    )
    return validation.certificate_arn, []


def _validation_records(
    name: str,
    certificate: aws.acm.Certificate,
    domains: list[str],
    zones: Mapping[str, ZoneId],
) -> tuple[list[pulumi.Output[str]], list[str]]:
    """Route 53 records proving we own `domains`; and the domains outside our zones."""
    fqdns: list[pulumi.Output[str]] = []
    unmanaged: list[str] = []
    # `*.x` and `x` are validated by the same record: create it once.
    for domain in dict.fromkeys(d.removeprefix("*.") for d in domains):
        zone = zone_for(domain, zones)
        if zone is None:
            unmanaged.append(domain)
            continue
        option = certificate.domain_validation_options.apply(
            functools.partial(_validation_option, domain)
        )
        record = aws.route53.Record(
            f"{name}-validation-{domain}",
            zone_id=zone,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=300,
            allow_overwrite=True,
        )
        fqdns.append(record.fqdn)
    return fqdns, unmanaged


def _validation_option(
    domain: str, options: list[aws.acm.outputs.CertificateDomainValidationOption]
) -> aws.acm.outputs.CertificateDomainValidationOption:
    return next(o for o in options if (o.domain_name or "").removeprefix("*.") == domain)


def alias_records(
    name: str, zone_id: ZoneId, domain: str, distribution: aws.cloudfront.Distribution
) -> None:
    """A and AAAA alias records: free queries, and they follow the distribution's IPs."""
    for record_type in ("A", "AAAA"):
        aws.route53.Record(
            f"{name}-{record_type.lower()}",
            zone_id=zone_id,
            name=domain,
            type=record_type,
            aliases=[
                {
                    "name": distribution.domain_name,
                    "zone_id": distribution.hosted_zone_id,
                    "evaluate_target_health": False,
                }
            ],
        )
