"""IAM and bucket policy documents: pure functions of ARNs, so tests read them exactly.

Each candidate can change only their own nation: uploads under `inbox/<slug>/` of the
private bucket (published by the provisioner after its checks), reads of the current
objects under `private/<slug>/` (their supporter lists), nothing else. Past a few hundred
candidates one role per candidate meets IAM's role quota (1,000 by default, 5,000 at
most), so the same grants can be given to one role through a session tag (ABAC).
"""

from __future__ import annotations

from typing import Any

from provisioner.targets.layout import SITES, private_prefix

VERSION = "2012-10-17"
NATION_TAG = "nation"
TAGGED_SLUG = "${aws:PrincipalTag/nation}"  # IAM fills it in from the session tag

Policy = dict[str, Any]


INBOX = "inbox"  # private bucket: what a candidate uploads, checked then published by us


def candidate_policy(slug: str, site_bucket_arn: str, private_bucket_arn: str) -> Policy:
    """Upload to the nation's inbox, read its current private lists; nothing more.

    A candidate never writes a live release or the `_current` pointer (that would skip
    the sandbox and the legal locks): the provisioner checks the inbox with the same
    candidate rules as `deploy` and publishes. No old object versions either: a
    version from before an erasure must stay out of reach until the lifecycle deletes it.
    """
    inbox = f"{private_bucket_arn}/{INBOX}/{slug}/*"
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "UploadToOwnInbox",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                "Resource": [inbox],
            },
            {
                "Sid": "ReadOwnPrivateData",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"{private_bucket_arn}/{private_prefix(slug)}*"],
            },
            {
                "Sid": "ListOwnPrivateDataAndInbox",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [private_bucket_arn],
                "Condition": {
                    "StringLike": {"s3:prefix": [f"{private_prefix(slug)}*", f"{INBOX}/{slug}/*"]}
                },
            },
            {
                # Explicit: no other policy attached later can undo these.
                "Sid": "NeverLiveReleasesOrOldVersions",
                "Effect": "Deny",
                "Action": [
                    *("s3:PutObject", "s3:DeleteObject", "s3:GetObjectVersion"),
                    *("s3:DeleteObjectVersion", "s3:ListBucketVersions", "s3:PutObjectAcl"),
                ],
                "Resource": [f"{site_bucket_arn}/*", f"{private_bucket_arn}/private/*"],
            },
        ],
    }


def tagged_candidate_policy(site_bucket_arn: str, private_bucket_arn: str) -> Policy:
    """The same grants for whichever nation the session is tagged with (ABAC)."""
    return candidate_policy(TAGGED_SLUG, site_bucket_arn, private_bucket_arn)


def trust_policy(principal_arn: str, tagged: bool) -> Policy:
    """Who may assume a candidate role.

    One role per candidate: that candidate's own principal only (an IAM Identity
    Center role, a user), never the account root. The shared (tagged) role: any
    principal of `principal_arn`, but only with a session tag `nation` equal to the
    caller's own principal tag, so nobody can name someone else's nation.
    """
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": principal_arn},
        "Action": ["sts:AssumeRole"],
    }
    if tagged:
        statement["Action"] = ["sts:AssumeRole", "sts:TagSession"]
        statement["Condition"] = {
            "StringEquals": {f"aws:RequestTag/{NATION_TAG}": f"${{aws:PrincipalTag/{NATION_TAG}}}"},
            "Null": {f"aws:PrincipalTag/{NATION_TAG}": "false"},
            "ForAllValues:StringEquals": {"aws:TagKeys": [NATION_TAG]},
        }
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
                "Sid": "EraseOldVersionsOfPrivateLists",  # `provisioner erase`, at once
                "Effect": "Allow",
                "Action": ["s3:ListBucketVersions", "s3:DeleteObjectVersion"],
                "Resource": [private_bucket_arn, f"{private_bucket_arn}/private/*"],
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
