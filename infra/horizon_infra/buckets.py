"""The two buckets: sites (read only by CloudFront) and private data (read by no one public)."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from horizon_infra.policies import private_bucket_policy, site_bucket_policy


class Buckets(pulumi.ComponentResource):
    """Both buckets block every form of public access and encrypt at rest.

    The private bucket also keeps versions (a bad deploy cannot destroy supporter lists)
    but expires old versions after `version_days` (default 1): a list from before an
    erasure or a withdrawn consent is gone within that window (`provisioner erase`
    deletes them at once; this is the bound when anything else overwrote a list).
    """

    def __init__(
        self, name: str, version_days: int = 1, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("horizon:infra:Buckets", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.site = aws.s3.Bucket(f"{name}-sites", opts=child)
        self.private = aws.s3.Bucket(f"{name}-private", opts=child)
        for bucket, label in ((self.site, "sites"), (self.private, "private")):
            self._lock_down(bucket, f"{name}-{label}", child)
        aws.s3.BucketVersioning(
            f"{name}-private-versioning",
            bucket=self.private.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-private-lifecycle",
            bucket=self.private.id,
            rules=[
                {
                    "id": "expire-old-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": version_days},
                    "expiration": {"expired_object_delete_marker": True},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                }
            ],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-private-policy",
            bucket=self.private.id,
            policy=self.private.arn.apply(lambda arn: json.dumps(private_bucket_policy(arn))),
            opts=child,
        )
        self.register_outputs({"site": self.site.id, "private": self.private.id})

    def _lock_down(self, bucket: aws.s3.Bucket, name: str, opts: pulumi.ResourceOptions) -> None:
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=opts,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},  # ACLs off: policies only
            opts=opts,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=opts,
        )

    def allow_cloudfront(self, distribution_arns: list[pulumi.Output[str]]) -> None:
        """Let these distributions, and only them, read `sites/` through Origin Access Control."""
        policy = pulumi.Output.all(self.site.arn, *distribution_arns).apply(
            lambda arns: json.dumps(site_bucket_policy(arns[0], list(arns[1:])))
        )
        aws.s3.BucketPolicy(
            "sites-policy",
            bucket=self.site.id,
            policy=policy,
            opts=pulumi.ResourceOptions(parent=self),
        )
