"""IAM and bucket policy documents: pure functions of ARNs, so tests read them exactly.

Each candidate can change only their own nation: writes under `sites/<slug>/`, reads
under `private/<slug>/` (their supporter lists), nothing else. Past a few hundred
candidates one role per candidate meets IAM's role quota (1,000 by default, 5,000 at
most), so the same grants can be given to one role through a session tag (ABAC).
"""

from __future__ import annotations

from typing import Any

from provisioner.targets.layout import SITES, private_prefix, site_prefix

VERSION = "2012-10-17"
NATION_TAG = "nation"
TAGGED_SLUG = "${aws:PrincipalTag/nation}"  # IAM fills it in from the session tag

Policy = dict[str, Any]


def candidate_policy(slug: str, site_bucket_arn: str, private_bucket_arn: str) -> Policy:
    """Write the nation's site prefix, read and list its private prefix; nothing more."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "WriteOwnSite",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": [f"{site_bucket_arn}/{site_prefix(slug)}*"],
            },
            {
                "Sid": "ReadOwnPrivateData",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": [f"{private_bucket_arn}/{private_prefix(slug)}*"],
            },
            {
                "Sid": "ListOwnPrivateData",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [private_bucket_arn],
                "Condition": {"StringLike": {"s3:prefix": [f"{private_prefix(slug)}*"]}},
            },
        ],
    }


def tagged_candidate_policy(site_bucket_arn: str, private_bucket_arn: str) -> Policy:
    """The same grants for whichever nation the session is tagged with (ABAC)."""
    return candidate_policy(TAGGED_SLUG, site_bucket_arn, private_bucket_arn)


def trust_policy(principal_arn: str, tagged: bool) -> Policy:
    """Who may assume a candidate role; a tagged role also requires the nation tag."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": principal_arn},
        "Action": ["sts:AssumeRole"],
    }
    if tagged:
        statement["Action"] = ["sts:AssumeRole", "sts:TagSession"]
        statement["Condition"] = {"StringLike": {f"aws:RequestTag/{NATION_TAG}": "?*"}}
    return {"Version": VERSION, "Statement": [statement]}


def tls_only(bucket_arn: str) -> dict[str, Any]:
    return {
        "Sid": "DenyPlainHttp",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def site_bucket_policy(bucket_arn: str, distribution_arns: list[str]) -> Policy:
    """Only our CloudFront distributions (Origin Access Control) read the site bucket."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "CloudFrontReadsSites",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/{SITES}*",
                "Condition": {"StringEquals": {"AWS:SourceArn": sorted(distribution_arns)}},
            },
            tls_only(bucket_arn),
        ],
    }


def private_bucket_policy(bucket_arn: str) -> Policy:
    return {"Version": VERSION, "Statement": [tls_only(bucket_arn)]}


def deployer_policy(site_bucket_arn: str, private_bucket_arn: str, kvs_arn: str) -> Policy:
    """What `provisioner deploy --target s3` needs, to attach to the CI role."""
    objects = [f"{site_bucket_arn}/{SITES}*", f"{private_bucket_arn}/*"]
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "PublishObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": objects,
            },
            {
                "Sid": "ListBuckets",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [site_bucket_arn, private_bucket_arn],
            },
            {
                "Sid": "EmailTemplates",
                "Effect": "Allow",
                "Action": [
                    *("ses:CreateTemplate", "ses:UpdateTemplate"),
                    *("ses:DeleteTemplate", "ses:GetTemplate"),
                ],
                "Resource": "*",
            },
            {
                "Sid": "CurrentReleases",
                "Effect": "Allow",
                "Action": [
                    "cloudfront-keyvaluestore:DescribeKeyValueStore",
                    "cloudfront-keyvaluestore:PutKey",
                    "cloudfront-keyvaluestore:DeleteKey",
                ],
                "Resource": kvs_arn,
            },
        ],
    }
