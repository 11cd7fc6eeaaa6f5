"""Candidate access: each candidate changes only their own nation.

Up to `max_roles` candidates, one role each (a role name in CloudTrail says who did
what), trusted by that candidate's own principal only (stack config
`horizon:candidatePrincipals`, slug -> ARN); a candidate without one gets no role.
Beyond, IAM's role quota is near, so one role grants the same prefixes to the nation
of the session tag `nation`, which must equal the caller's own principal tag (set by
the identity provider at sign-in).
"""

from __future__ import annotations

import hashlib
import json

import pulumi
import pulumi_aws as aws

from horizon_infra.policies import (
    NATION_TAG,
    candidate_policy,
    tagged_candidate_policy,
    trust_policy,
)

ROLE_NAME_MAX = 64


def role_name(slug: str) -> str:
    """`horizon-candidate-<slug>`, shortened with a hash when IAM's 64 characters run out."""
    name = f"horizon-candidate-{slug}"
    if len(name) <= ROLE_NAME_MAX:
        return name
    digest = hashlib.sha256(slug.encode()).hexdigest()[:8]
    return f"{name[: ROLE_NAME_MAX - 9]}-{digest}"


class CandidateAccess(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        candidates: list[str],
        site_bucket: aws.s3.Bucket,
        private_bucket: aws.s3.Bucket,
        principals: dict[str, str],
        shared_principal: pulumi.Input[str],
        max_roles: int,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("horizon:infra:CandidateAccess", name, None, opts)
        self.tagged = len(candidates) > max_roles
        self._buckets = (site_bucket.arn, private_bucket.arn)
        self.roles: dict[str, pulumi.Output[str]] = {}
        self.without_principal: list[str] = []
        if self.tagged:
            self.roles[f"${{aws:PrincipalTag/{NATION_TAG}}}"] = self._role(
                "horizon-candidates", None, shared_principal
            )
        else:
            for slug in candidates:
                if slug in principals:
                    self.roles[slug] = self._role(role_name(slug), slug, principals[slug])
                else:  # never a fallback to the account: nobody is better than anybody
                    self.without_principal.append(slug)
        self.register_outputs({"roles": self.roles})

    def _role(
        self, name: str, slug: str | None, principal: pulumi.Input[str]
    ) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        trust = pulumi.Output.from_input(principal).apply(
            lambda arn: json.dumps(trust_policy(arn, tagged=slug is None))
        )
        role = aws.iam.Role(
            name,
            name=name,
            assume_role_policy=trust,
            max_session_duration=3600,
            tags={NATION_TAG: slug} if slug else {},
            opts=child,
        )

        def document(arns: list[str]) -> str:
            site, private = arns
            grants = (
                tagged_candidate_policy(site, private)
                if slug is None
                else candidate_policy(slug, site, private)
            )
            return json.dumps(grants)

        aws.iam.RolePolicy(
            f"{name}-access",
            role=role.id,
            policy=pulumi.Output.all(*self._buckets).apply(document),
            opts=child,
        )
        return role.arn
