"""The cloud intake: one Lambda function for the whole network, behind API Gateway.

    browser ─POST /api/pledge─► CloudFront (/api/* behaviour: no cache, all methods)
        ─► API Gateway HTTP API ─► Lambda (provisioner.intake.lambda_handler) ─► DynamoDB
                                                                     └─► SES (confirmation)

Why API Gateway and not a Lambda function URL: behind CloudFront with Origin Access
Control, a function URL requires the client to send the body's SHA-256
(`x-amz-content-sha256`), which a plain HTML form cannot do. API Gateway takes the
form as it is. It must see its own Host, so CloudFront forwards the viewer's Host as
`x-horizon-host` (set by a small viewer function) together with a secret origin
header; the function trusts the forwarded host and viewer address only when that
secret matches, so calling the API Gateway URL directly gains nothing.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from horizon_infra.cdn import Cdn
from horizon_infra.email import EmailDomain
from horizon_infra.intake_policies import (
    intake_function_policy,
    intake_pull_policy,
    lambda_trust_policy,
)
from horizon_infra.settings import InfraSettings

# The intake core's routes (provisioner.intake); anything else never reaches the function.
ROUTES = (
    "POST /api/pledge",
    "POST /api/volunteer",
    "POST /api/subscribe",
    "GET /api/confirm",
    "GET /api/unsubscribe",
    "POST /api/unsubscribe",  # RFC 8058 one-click unsubscribe from the mail client
)
HANDLER = "provisioner.intake.lambda_handler.handler"
ORIGIN_ID = "intake-api"
ORIGIN_SECRET_HEADER = "x-horizon-origin-verify"
FORWARDED_HOST_HEADER = "x-horizon-host"
# What the core reads: where the form came from, its type, the visitor's address.
FORWARDED_HEADERS = (
    "origin",
    "referer",
    "content-type",
    FORWARDED_HOST_HEADER,
    "cloudfront-viewer-address",
)
# AWS managed cache policy "CachingDisabled": every submission reaches the function.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
LOG_RETENTION_DAYS = 30  # the logs hold no supporter data, but requests ids and errors
TABLE_KEYS = ("pk", "sk")
TTL_ATTRIBUTE = "expires_epoch"


class IntakeApi(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        domain: str,
        identity_arn: pulumi.Input[str],
        settings: InfraSettings,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("horizon:infra:IntakeApi", name, None, opts)
        self._name, self._child = name, pulumi.ResourceOptions(parent=self)
        self.table = self._table()
        self.origin_secret = random.RandomPassword(
            f"{name}-origin-secret", length=40, special=False, opts=self._child
        )
        hash_key = random.RandomPassword(
            f"{name}-hash-key", length=48, special=False, opts=self._child
        )
        function_name = f"horizon-intake-{pulumi.get_stack()}"
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=LOG_RETENTION_DAYS,
            opts=self._child,
        )
        role = self._role(identity_arn, domain, logs)
        environment = {
            "INTAKE_TABLE": self.table.name,
            "INTAKE_SENDER": f"no-reply@{domain}",
            "INTAKE_ORIGIN_SECRET": self.origin_secret.result,
            "INTAKE_HASH_KEY": hash_key.result,
            "INTAKE_RATE_LIMIT": str(settings.intake_client_rate),
        }
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=function_name,
            role=role.arn,
            runtime="python3.12",
            architectures=["arm64"],
            handler=HANDLER,
            code=pulumi.FileArchive(settings.intake_package),
            memory_size=512,
            timeout=10,
            environment={"variables": environment},
            logging_config={"log_format": "JSON", "log_group": logs.name},
            opts=self._child,
        )
        self.api = self._api(settings)
        self.pull_policy = aws.iam.Policy(
            f"{name}-pull",
            description="What `provisioner intake pull` needs",
            policy=self.table.arn.apply(lambda arn: json.dumps(intake_pull_policy(arn))),
            opts=self._child,
        )
        self.origin_request_policy = self._origin_request_policy()
        self.viewer_function = aws.cloudfront.Function(
            f"{name}-viewer-request",
            runtime="cloudfront-js-2.0",
            code=viewer_function_code(),
            publish=True,
            opts=self._child,
        )
        self.register_outputs({"table": self.table.name, "endpoint": self.api.api_endpoint})

    def _table(self) -> aws.dynamodb.Table:
        """One table: submissions, token entries, do-not-contact (see dynamo_store.py)."""
        return aws.dynamodb.Table(
            f"{self._name}-table",
            billing_mode="PAY_PER_REQUEST",
            hash_key=TABLE_KEYS[0],
            range_key=TABLE_KEYS[1],
            attributes=[{"name": key, "type": "S"} for key in TABLE_KEYS],
            ttl={"attribute_name": TTL_ATTRIBUTE, "enabled": True},  # expired tokens go
            point_in_time_recovery={"enabled": True},  # an acknowledged pledge is kept
            server_side_encryption={"enabled": True},
            deletion_protection_enabled=True,
            opts=self._child,
        )

    def _role(
        self, identity_arn: pulumi.Input[str], domain: str, logs: aws.cloudwatch.LogGroup
    ) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{self._name}-role",
            assume_role_policy=json.dumps(lambda_trust_policy()),
            opts=self._child,
        )
        policy = pulumi.Output.all(self.table.arn, identity_arn, logs.arn).apply(
            lambda arns: json.dumps(intake_function_policy(arns[0], arns[1], domain, arns[2]))
        )
        aws.iam.RolePolicy(f"{self._name}-access", role=role.id, policy=policy, opts=self._child)
        return role

    def _api(self, settings: InfraSettings) -> aws.apigatewayv2.Api:
        api = aws.apigatewayv2.Api(f"{self._name}-api", protocol_type="HTTP", opts=self._child)
        integration = aws.apigatewayv2.Integration(
            f"{self._name}-integration",
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_uri=self.function.invoke_arn,
            payload_format_version="2.0",
            timeout_milliseconds=10_000,
            opts=self._child,
        )
        for route in ROUTES:
            aws.apigatewayv2.Route(
                f"{self._name}-route-{route.lower().replace(' /api/', '-')}",
                api_id=api.id,
                route_key=route,
                target=integration.id.apply(lambda i: f"integrations/{i}"),
                opts=self._child,
            )
        aws.apigatewayv2.Stage(
            f"{self._name}-stage",
            api_id=api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings={
                "throttling_rate_limit": settings.intake_rate,
                "throttling_burst_limit": settings.intake_burst,
            },
            opts=self._child,
        )
        aws.lambda_.Permission(
            f"{self._name}-invoke",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="apigateway.amazonaws.com",
            source_arn=api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
            opts=self._child,
        )
        return api

    def _origin_request_policy(self) -> aws.cloudfront.OriginRequestPolicy:
        """Exactly the headers the core reads, every query string (tokens), no cookies."""
        return aws.cloudfront.OriginRequestPolicy(
            f"{self._name}-forward",
            comment="horizon intake: the headers the intake function reads",
            headers_config={
                "header_behavior": "whitelist",
                "headers": {"items": list(FORWARDED_HEADERS)},
            },
            query_strings_config={"query_string_behavior": "all"},
            cookies_config={"cookie_behavior": "none"},
            opts=self._child,
        )

    def origin(self) -> dict[str, Any]:
        """The API Gateway as a CloudFront origin, with the secret header."""
        return {
            "origin_id": ORIGIN_ID,
            "domain_name": self.api.api_endpoint.apply(lambda url: url.removeprefix("https://")),
            "custom_origin_config": {
                "http_port": 80,
                "https_port": 443,
                "origin_protocol_policy": "https-only",
                "origin_ssl_protocols": ["TLSv1.2"],
            },
            "custom_headers": [{"name": ORIGIN_SECRET_HEADER, "value": self.origin_secret.result}],
        }

    def behavior(self) -> dict[str, Any]:
        """`/api/*`: never cached, every method, to the API Gateway origin."""
        return {
            "path_pattern": "/api/*",
            "target_origin_id": ORIGIN_ID,
            # A redirect would turn a POST into a GET and lose the form: refuse plain HTTP.
            "viewer_protocol_policy": "https-only",
            "allowed_methods": ALL_METHODS,
            "cached_methods": ["GET", "HEAD"],
            "cache_policy_id": CACHING_DISABLED,
            "origin_request_policy_id": self.origin_request_policy.id,
            "compress": False,
            "function_associations": [
                {"event_type": "viewer-request", "function_arn": self.viewer_function.arn}
            ],
        }


def viewer_function_code() -> str:
    return resources.files("horizon_infra").joinpath("api_viewer_request.js").read_text()


def intake_api(cdn: Cdn, domain: str, email: EmailDomain, settings: InfraSettings) -> IntakeApi:
    """The intake, routed under `/api/*` on every distribution `cdn` makes from now on."""
    intake = IntakeApi("intake", domain, email.identity.arn, settings)
    cdn.extra_origins.append(intake.origin())
    cdn.behaviors.append(intake.behavior())
    return intake


def intake_outputs(intake: IntakeApi) -> dict[str, pulumi.Output[str]]:
    """Stack outputs: the table `intake pull` reads, and the policy it needs."""
    return {
        "intake_table": intake.table.name,
        "intake_api_endpoint": intake.api.api_endpoint,
        "intake_function": intake.function.name,
        "intake_pull_policy_arn": intake.pull_policy.arn,
    }
