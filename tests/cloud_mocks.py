"""Pulumi mocks that record every resource the infra program declares."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Any

import pulumi

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "infra"))

from horizon_infra.settings import InfraSettings  # noqa: E402

from provisioner.spec.network import Network  # noqa: E402

ACCOUNT = "123456789012"


class Recorder(pulumi.runtime.Mocks):
    """Records every resource; answers with the outputs AWS would compute."""

    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        state = {"arn": f"arn:aws:mock::{ACCOUNT}:{args.name}", **args.inputs}
        if args.typ == "aws:s3/bucket:Bucket":
            name = f"{args.name}-1a2b3c"
            state.update(bucket=name, arn=f"arn:aws:s3:::{name}")
            state["bucketRegionalDomainName"] = f"{name}.s3.eu-west-1.amazonaws.com"
        elif args.typ == "aws:acm/certificate:Certificate":
            names = [args.inputs["domainName"], *args.inputs.get("subjectAlternativeNames", [])]
            state["domainValidationOptions"] = [
                {"domainName": n, "resourceRecordName": f"_v.{n.removeprefix('*.')}."}
                | {"resourceRecordType": "CNAME", "resourceRecordValue": "_w.acm-validations.aws."}
                for n in names
            ]
        elif args.typ == "aws:cloudfront/distribution:Distribution":
            state.update(domainName=f"d-{args.name}.cloudfront.net", hostedZoneId="Z2FDTNDATAQYW2")
        elif args.typ == "aws:ses/domainDkim:DomainDkim":
            state["dkimTokens"] = ["dkim1", "dkim2", "dkim3"]
        elif args.typ == "aws:route53/zone:Zone":
            state.update(zoneId="ZBASE", nameServers=["ns-1.awsdns.example"])
        else:
            state.update(_intake_state(args))
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "userId": "u"}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": "eu-west-1", "region": "eu-west-1"}
        return {}

    def of_type(self, kind: str) -> list[pulumi.runtime.MockResourceArgs]:
        return [r for r in self.resources if r.typ == f"aws:{kind}"]


def run_program(network: Network, settings: InfraSettings) -> tuple[Recorder, dict[str, Any]]:
    """Declare every resource under mocks; return them and the resolved stack outputs."""
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, preview=False)
    from horizon_infra.program import build  # imported once mocks are in place

    outputs: dict[str, Any] = {}

    @pulumi.runtime.test
    def declare() -> Any:
        return pulumi.Output.all(**build(network, settings)).apply(outputs.update)

    declare()
    return recorder, outputs


def run_entry_point(config: dict[str, str]) -> Recorder:
    """Run infra/__main__.py as `pulumi up` would, with this stack configuration."""
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project="horizon", stack="test", preview=False)
    for key, value in config.items():
        pulumi.runtime.set_config(key, value)

    @pulumi.runtime.test
    def declare() -> None:
        runpy.run_path(str(REPO / "infra" / "__main__.py"), run_name="__main__")

    declare()
    return recorder


def _intake_state(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    """What AWS (and pulumi-random) compute for the cloud intake's resources."""
    region = f"eu-west-1:{ACCOUNT}"
    if args.typ == "random:index/randomPassword:RandomPassword":
        return {"result": f"secret-of-{args.name}"}
    if args.typ == "aws:apigatewayv2/api:Api":
        return {
            "apiEndpoint": "https://abc123.execute-api.eu-west-1.amazonaws.com",
            "executionArn": f"arn:aws:execute-api:{region}:abc123",
        }
    if args.typ == "aws:lambda/function:Function":
        arn = f"arn:aws:lambda:{region}:function:{args.inputs['name']}"
        return {"arn": arn, "invokeArn": f"arn:aws:apigateway:eu-west-1:lambda:path/{arn}"}
    if args.typ == "aws:dynamodb/table:Table":
        name = f"{args.name}-9f8e7d"
        return {"name": name, "arn": f"arn:aws:dynamodb:{region}:table/{name}"}
    if args.typ == "aws:cloudwatch/logGroup:LogGroup":
        return {"arn": f"arn:aws:logs:{region}:log-group:{args.inputs['name']}"}
    if args.typ == "aws:ses/domainIdentity:DomainIdentity":
        return {"arn": f"arn:aws:ses:{region}:identity/{args.inputs['domain']}"}
    return {}
