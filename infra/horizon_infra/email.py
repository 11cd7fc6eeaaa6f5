"""SES: the base domain as a verified sending identity, with DKIM, through Route 53."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

DKIM_TOKENS = 3  # SES always issues three Easy DKIM tokens


class EmailDomain(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        domain: str,
        zone_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("horizon:infra:EmailDomain", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.identity = aws.ses.DomainIdentity(f"{name}-identity", domain=domain, opts=child)
        verification = aws.route53.Record(
            f"{name}-verification",
            zone_id=zone_id,
            name=f"_amazonses.{domain}",
            type="TXT",
            ttl=600,
            records=[self.identity.verification_token],
            opts=child,
        )
        dkim = aws.ses.DomainDkim(f"{name}-dkim", domain=domain, opts=child)
        for index in range(DKIM_TOKENS):
            token = dkim.dkim_tokens[index]
            aws.route53.Record(
                f"{name}-dkim-{index}",
                zone_id=zone_id,
                name=token.apply(lambda t: f"{t}._domainkey.{domain}"),
                type="CNAME",
                ttl=600,
                records=[token.apply(lambda t: f"{t}.dkim.amazonses.com")],
                opts=child,
            )
        aws.ses.DomainIdentityVerification(
            f"{name}-verified",
            domain=self.identity.domain,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[verification]),
        )
        self.register_outputs({"identity": self.identity.arn})
