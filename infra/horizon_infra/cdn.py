"""CloudFront: one wildcard distribution for every nation, shards for other custom domains.

All distributions share one private origin (the site bucket, through Origin Access
Control) and one viewer-request function that maps the Host header to
`sites/<slug>/<release>/` with a KeyValueStore: custom domains are keys owned by this
program, current releases are keys written by the provisioner at each switch.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import pulumi
import pulumi_aws as aws

from horizon_infra.routing import Routing
from provisioner.render.security_headers import cloudfront_security_headers_config
from provisioner.targets import layout

# AWS managed cache policy "CachingOptimized": no cookies or query strings in the key.
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ORIGIN_ID = "sites"


def function_code(kvs_id: str, base_domain: str) -> str:
    """The viewer function, with the store, the domain and the storage layout filled in."""
    code = resources.files("horizon_infra").joinpath("viewer_request.js").read_text()
    constants = {
        "__KVS_ID__": kvs_id,
        "__BASE_DOMAIN__": base_domain,
        "__DOMAIN_KEY_PREFIX__": layout.KVS_DOMAIN_PREFIX,
        "__RELEASE_KEY_PREFIX__": layout.KVS_RELEASE_PREFIX,
        "__SITES_PREFIX__": layout.SITES,
    }
    for placeholder, value in constants.items():
        code = code.replace(placeholder, value)
    return code


class Cdn(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        routing: Routing,
        site_bucket: aws.s3.Bucket,
        price_class: str,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("horizon:infra:Cdn", name, None, opts)
        self.routing = routing
        self.site_bucket = site_bucket
        self.price_class = price_class
        child = pulumi.ResourceOptions(parent=self)
        self.kvs = aws.cloudfront.KeyValueStore(
            f"{name}-routes", comment="custom domains and current releases", opts=child
        )
        for key, slug in routing.kvs_entries().items():
            aws.cloudfront.KeyvaluestoreKey(
                f"{name}-route-{key[2:]}",
                key_value_store_arn=self.kvs.arn,
                key=key,
                value=slug,
                opts=child,
            )
        self.function = aws.cloudfront.Function(
            f"{name}-viewer-request",
            runtime="cloudfront-js-2.0",
            code=self.kvs.id.apply(lambda kvs_id: function_code(kvs_id, routing.base_domain)),
            key_value_store_associations=[self.kvs.arn],
            publish=True,
            opts=child,
        )
        self.oac = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        # The one definition of the headers (provisioner/render/security_headers.py), also used
        # by `provisioner serve`: the cloud and the local server cannot drift apart.
        self.headers = aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-security-headers",
            comment="HSTS, nosniff, CSP (own origin only), no framing, referrer policy",
            security_headers_config=cloudfront_security_headers_config(),
            opts=child,
        )
        self.distributions: list[aws.cloudfront.Distribution] = []
        # More origins and path behaviours every distribution gets (the intake API).
        self.extra_origins: list[dict[str, Any]] = []
        self.behaviors: list[dict[str, Any]] = []

    def distribution(
        self, name: str, aliases: list[str], certificate_arn: pulumi.Input[str]
    ) -> aws.cloudfront.Distribution:
        """A distribution serving `aliases` with the shared origin and function."""
        distribution = aws.cloudfront.Distribution(
            name,
            enabled=True,
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=self.price_class,
            aliases=aliases,
            comment=f"horizon {name}",
            origins=[
                {
                    "origin_id": ORIGIN_ID,
                    "domain_name": self.site_bucket.bucket_regional_domain_name,
                    "origin_access_control_id": self.oac.id,
                },
                *self.extra_origins,
            ],
            ordered_cache_behaviors=self.behaviors,
            default_cache_behavior={
                "target_origin_id": ORIGIN_ID,
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD"],
                "cached_methods": ["GET", "HEAD"],
                "cache_policy_id": CACHING_OPTIMIZED,
                "response_headers_policy_id": self.headers.id,
                "compress": True,
                "function_associations": [
                    {"event_type": "viewer-request", "function_arn": self.function.arn}
                ],
            },
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={
                "acm_certificate_arn": certificate_arn,
                "ssl_support_method": "sni-only",
                "minimum_protocol_version": "TLSv1.2_2021",
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.distributions.append(distribution)
        return distribution
