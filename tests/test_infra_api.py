"""The cloud intake in the Pulumi program (mocks): CloudFront `/api/*`, API Gateway,
the Lambda function, its role and the DynamoDB table.

Policies are evaluated, not compared with a snapshot: `allowed()` answers "may this
principal do this action on this resource, with these condition values?" the way IAM
does for Allow statements (wildcards in actions and resources, StringLike/StringEquals).
"""

from __future__ import annotations

import fnmatch
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cloud_mocks import ACCOUNT, REPO, Recorder, run_entry_point, run_program
from helpers import nation, write_spec
from horizon_infra.settings import InfraSettings

from provisioner.spec.load import load_network
from provisioner.spec.network import Network

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning")

# Written out here, independently of the program: AWS's managed "CachingDisabled" policy.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
EVERY_METHOD = {"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}
REGION = f"eu-west-1:{ACCOUNT}"
TABLE = f"arn:aws:dynamodb:{REGION}:table/intake-table-9f8e7d"
IDENTITY = f"arn:aws:ses:{REGION}:identity/horizon.example"
LOG_GROUP = f"arn:aws:logs:{REGION}:log-group:/aws/lambda/horizon-intake-stack"
API_HOST = "abc123.execute-api.eu-west-1.amazonaws.com"


@pytest.fixture(scope="module")
def network() -> Network:
    return load_network(REPO / "nations.yaml")


@pytest.fixture(scope="module")
def sample(network: Network) -> tuple[Recorder, dict[str, Any]]:
    return run_program(network, InfraSettings())


def one(recorder: Recorder, kind: str, name: str | None = None) -> dict[str, Any]:
    found = [r for r in recorder.of_type(kind) if name is None or r.name == name]
    assert len(found) == 1, [r.name for r in found]
    return dict(found[0].inputs)


def _matches(patterns: str | list[str], value: str) -> bool:
    return any(
        fnmatch.fnmatchcase(value, p)
        for p in ([patterns] if isinstance(patterns, str) else patterns)
    )


def _conditions_hold(condition: dict[str, Any] | None, context: dict[str, str]) -> bool:
    for operator, tests in (condition or {}).items():
        for key, expected in tests.items():
            if key not in context:
                return False
            wanted = [expected] if isinstance(expected, str) else expected
            if operator == "StringLike" and not _matches(wanted, context[key]):
                return False
            # One key per request here, so ForAllValues is StringEquals on that one value.
            if operator in ("StringEquals", "ForAllValues:StringEquals"):
                if context[key] not in wanted:
                    return False
            elif operator != "StringLike":
                raise AssertionError(f"the evaluator does not know {operator}")
    return True


def allowed(policy: dict[str, Any], action: str, resource: str, **context: str) -> bool:
    """True when an Allow statement grants it and no Deny statement refuses it."""
    verdict = False
    for statement in policy["Statement"]:
        if not (
            _matches(statement["Action"], action)
            and _matches(statement["Resource"], resource)
            and _conditions_hold(statement.get("Condition"), context)
        ):
            continue
        if statement["Effect"] == "Deny":
            return False
        verdict = True
    return verdict


def function_policy(recorder: Recorder) -> dict[str, Any]:
    return json.loads(one(recorder, "iam/rolePolicy:RolePolicy", "intake-access")["policy"])


def test_every_distribution_sends_api_to_api_gateway_uncached(
    sample: tuple[Recorder, dict[str, Any]],
) -> None:
    recorder, _ = sample
    distributions = recorder.of_type("cloudfront/distribution:Distribution")
    assert distributions
    secret = one(recorder, "lambda/function:Function")["environment"]["variables"]
    for distribution in distributions:
        behaviors = distribution.inputs["orderedCacheBehaviors"]
        assert [b["pathPattern"] for b in behaviors] == ["/api/*"], distribution.name
        api = behaviors[0]
        assert set(api["allowedMethods"]) == EVERY_METHOD
        assert api["cachePolicyId"] == CACHING_DISABLED
        assert api["viewerProtocolPolicy"] == "https-only"  # a redirect loses a POST body
        origins = {o["originId"]: o for o in distribution.inputs["origins"]}
        origin = origins[api["targetOriginId"]]
        assert origin["domainName"] == API_HOST
        assert origin["customOriginConfig"]["originProtocolPolicy"] == "https-only"
        # Not an OAC-signed origin: CloudFront would then demand x-amz-content-sha256.
        assert "originAccessControlId" not in origin
        headers = {h["name"]: h["value"] for h in origin["customHeaders"]}
        assert headers == {"x-horizon-origin-verify": secret["INTAKE_ORIGIN_SECRET"]}
        assert len(secret["INTAKE_ORIGIN_SECRET"]) > 8
        # The site router (Host -> release) stays on the default behaviour only.
        site = distribution.inputs["defaultCacheBehavior"]["functionAssociations"][0]
        assert api["functionAssociations"][0]["functionArn"] != site["functionArn"]


def test_cloudfront_forwards_what_the_handler_reads_and_never_the_host(
    sample: tuple[Recorder, dict[str, Any]],
) -> None:
    recorder, _ = sample
    policy = one(recorder, "cloudfront/originRequestPolicy:OriginRequestPolicy")
    headers = set(policy["headersConfig"]["headers"]["items"])
    assert {"origin", "referer", "x-horizon-host", "cloudfront-viewer-address"} <= headers
    assert "host" not in headers  # API Gateway answers 403 to a foreign Host
    assert policy["cookiesConfig"] == {"cookieBehavior": "none"}
    assert policy["queryStringsConfig"] == {"queryStringBehavior": "all"}  # ?t=TOKEN
    behavior = recorder.of_type("cloudfront/distribution:Distribution")[0].inputs
    assert behavior["orderedCacheBehaviors"][0]["originRequestPolicyId"] == "intake-forward-id"
    code = one(recorder, "cloudfront/function:Function", "intake-viewer-request")["code"]
    assert "request.headers['x-horizon-host'] = { value: host }" in code


def test_function_role_reaches_only_its_table_its_domain_and_its_logs(
    sample: tuple[Recorder, dict[str, Any]],
) -> None:
    recorder, _ = sample
    policy = function_policy(recorder)
    sender = {"ses:FromAddress": "no-reply@horizon.example"}
    for action in ("PutItem", "GetItem", "UpdateItem", "Query"):
        assert allowed(policy, f"dynamodb:{action}", TABLE)
        assert not allowed(policy, f"dynamodb:{action}", TABLE.replace("9f8e7d", "other"))
    for action in ("Scan", "DeleteTable", "BatchGetItem", "DeleteItem", "UpdateTable"):
        assert not allowed(policy, f"dynamodb:{action}", TABLE), action
    # A confirmation lifts a do-not-contact entry; no submission can be deleted.
    assert allowed(policy, "dynamodb:DeleteItem", TABLE, **{"dynamodb:LeadingKeys": "dnc"})
    assert not allowed(policy, "dynamodb:DeleteItem", TABLE, **{"dynamodb:LeadingKeys": "sub#1"})
    assert allowed(policy, "ses:SendRawEmail", IDENTITY, **sender)
    assert allowed(policy, "ses:SendEmail", IDENTITY, **sender)
    assert not allowed(
        policy, "ses:SendRawEmail", IDENTITY, **{"ses:FromAddress": "x@evil.example"}
    )
    assert not allowed(policy, "ses:SendRawEmail", IDENTITY.replace("horizon", "evil"), **sender)
    assert not allowed(policy, "ses:SendRawEmail", IDENTITY)  # no sender: no email
    assert not allowed(policy, "ses:CreateTemplate", IDENTITY, **sender)
    assert allowed(policy, "logs:PutLogEvents", f"{LOG_GROUP}:log-stream:2026/12/02")
    assert not allowed(policy, "logs:PutLogEvents", f"{LOG_GROUP}-other:log-stream:x")
    assert not allowed(policy, "s3:GetObject", "arn:aws:s3:::data-private-1a2b3c/private/x")
    assert not allowed(policy, "iam:PassRole", "*")
    trust = json.loads(one(recorder, "iam/role:Role", "intake-role")["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]


def test_the_evaluator_notices_a_widened_policy(sample: tuple[Recorder, dict[str, Any]]) -> None:
    recorder, _ = sample
    policy = function_policy(recorder)
    assert not allowed(policy, "dynamodb:Scan", TABLE)
    policy["Statement"][0]["Action"].append("dynamodb:*")
    assert allowed(policy, "dynamodb:Scan", TABLE)
    policy = function_policy(recorder)
    ses = next(s for s in policy["Statement"] if "ses:SendRawEmail" in s["Action"])
    del ses["Condition"]
    assert allowed(policy, "ses:SendRawEmail", IDENTITY, **{"ses:FromAddress": "x@evil.example"})


def test_pull_policy_only_reads_the_table(sample: tuple[Recorder, dict[str, Any]]) -> None:
    recorder, outputs = sample
    policy = json.loads(one(recorder, "iam/policy:Policy", "intake-pull")["policy"])
    for action in ("Scan", "GetItem", "Query"):
        assert allowed(policy, f"dynamodb:{action}", TABLE)
    for action in ("PutItem", "UpdateItem", "DeleteItem", "DeleteTable"):
        assert not allowed(policy, f"dynamodb:{action}", TABLE)
    assert outputs["intake_table"] == "intake-table-9f8e7d"
    assert outputs["intake_pull_policy_arn"].endswith(":intake-pull")


def routes_the_core_answers(tmp_path: Path, routes: set[str]) -> set[str]:
    """`METHOD /api/action` pairs the real intake core answers (neither 404 nor 405).

    Asked of the core, not written out here: the gateway must forward exactly what the
    Lambda function serves. The actions probed are the gateway's own, every form kind,
    the links sent by email (confirm, unsubscribe) and one that does not exist.
    """
    from intake_support import mini_directory

    from provisioner.intake.core import Intake, IntakeRequest
    from provisioner.intake.model import KINDS
    from provisioner.intake.outbox import EmlOutbox
    from provisioner.intake.sqlite_store import SqliteStore

    store = SqliteStore(tmp_path / "intake.db")
    core = Intake(mini_directory(), store, EmlOutbox(tmp_path / "outbox"), None, b"s")  # type: ignore[arg-type]
    actions = {route.split("/api/", 1)[1] for route in routes}
    actions |= {*KINDS, "confirm", "unsubscribe", "no-such-action"}
    answered = set()
    for action in actions:
        for method in ("GET", "POST"):
            if core.handle(IntakeRequest(method, f"/api/{action}")).status not in (404, 405):
                answered.add(f"{method} /api/{action}")
    store.close()
    return answered


def test_api_gateway_routes_the_intake_to_the_function_and_throttles(
    sample: tuple[Recorder, dict[str, Any]], tmp_path: Path
) -> None:
    recorder, _ = sample
    routes = {r.inputs["routeKey"] for r in recorder.of_type("apigatewayv2/route:Route")}
    assert routes == routes_the_core_answers(tmp_path, routes)
    assert {r.inputs["target"] for r in recorder.of_type("apigatewayv2/route:Route")} == {
        "integrations/intake-integration-id"
    }
    integration = one(recorder, "apigatewayv2/integration:Integration")
    assert integration["integrationType"] == "AWS_PROXY"
    assert integration["payloadFormatVersion"] == "2.0"
    assert integration["integrationUri"].endswith(":function:horizon-intake-stack")
    stage = one(recorder, "apigatewayv2/stage:Stage")
    assert stage["name"] == "$default" and stage["autoDeploy"] is True
    limits = stage["defaultRouteSettings"]
    assert (limits["throttlingRateLimit"], limits["throttlingBurstLimit"]) == (100, 200)
    permission = one(recorder, "lambda/permission:Permission")
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["sourceArn"] == f"arn:aws:execute-api:{REGION}:abc123/*/*"


def test_function_runs_the_intake_core_with_its_table_and_sender(
    sample: tuple[Recorder, dict[str, Any]],
) -> None:
    recorder, outputs = sample
    function = one(recorder, "lambda/function:Function")
    assert function["handler"] == "provisioner.intake.lambda_handler.handler"
    assert function["runtime"].startswith("python3.")
    variables = function["environment"]["variables"]
    assert variables["INTAKE_TABLE"] == outputs["intake_table"]
    assert variables["INTAKE_SENDER"] == "no-reply@horizon.example"
    assert variables["INTAKE_HASH_KEY"] != variables["INTAKE_ORIGIN_SECRET"]
    assert function["loggingConfig"]["logGroup"] == "/aws/lambda/horizon-intake-stack"
    logs = one(recorder, "cloudwatch/logGroup:LogGroup")
    assert logs["name"] == "/aws/lambda/horizon-intake-stack" and logs["retentionInDays"] > 0


def test_table_keeps_what_was_acknowledged(sample: tuple[Recorder, dict[str, Any]]) -> None:
    recorder, _ = sample
    table = one(recorder, "dynamodb/table:Table")
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert (table["hashKey"], table["rangeKey"]) == ("pk", "sk")
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["serverSideEncryption"] == {"enabled": True}
    assert table["deletionProtectionEnabled"] is True
    assert table["ttl"]["enabled"] is True


def test_stack_configuration_sets_the_intake_limits(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [nation("hq", domain="www.horizon.example")])
    shutil.copytree(REPO / "blueprints", tmp_path / "blueprints")
    config = {
        "horizon:spec": str(spec),
        "horizon:intakeRate": "7",
        "horizon:intakeBurst": "9",
        "horizon:intakeClientRate": "3",
        "horizon:intakePackage": str(tmp_path / "intake.zip"),
    }
    recorder = run_entry_point(config)
    limits = one(recorder, "apigatewayv2/stage:Stage")["defaultRouteSettings"]
    assert (limits["throttlingRateLimit"], limits["throttlingBurstLimit"]) == (7, 9)
    function = one(recorder, "lambda/function:Function")
    assert function["environment"]["variables"]["INTAKE_RATE_LIMIT"] == "3"


def test_every_form_kind_of_the_core_has_its_route(sample: tuple[Recorder, dict[str, Any]]) -> None:
    from provisioner.intake.model import KINDS

    recorder, _ = sample
    routes = {r.inputs["routeKey"] for r in recorder.of_type("apigatewayv2/route:Route")}
    assert {f"POST /api/{kind}" for kind in KINDS} <= routes
