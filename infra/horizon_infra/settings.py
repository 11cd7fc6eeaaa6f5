"""Stack configuration (`pulumi config set horizon:<key> ...`) with sensible defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pulumi

DEFAULT_SPEC = "../nations.yaml"  # Pulumi runs the program from infra/
DEFAULT_MAX_ROLES = 900  # leaves room under IAM's default quota of 1,000 roles
DEFAULT_INTAKE_PACKAGE = "../build/intake-lambda.zip"  # `make intake-package` writes it


@dataclass(frozen=True)
class InfraSettings:
    spec: Path = Path(DEFAULT_SPEC)
    # Hosted zone of the base domain; empty: the program creates the zone.
    zone_id: str | None = None
    # ACM certificate (us-east-1) for *.<base> and <base>; empty: created and validated.
    certificate_arn: str | None = None
    # Hosted zones of custom domains outside the base domain: zone name -> zone id.
    zones: dict[str, str] = field(default_factory=dict)
    # One role per candidate: the principal (IAM Identity Center role, user) of each
    # candidate, slug -> ARN; a candidate missing here gets no role.
    candidate_principals: dict[str, str] = field(default_factory=dict)
    # The shared (tagged) role: whose principals may assume it, each for the nation of
    # its own `nation` principal tag only; empty: this account's principals.
    candidate_principal: str | None = None
    # Days an overwritten or deleted private object (an old supporter list) is kept:
    # short, so that an erased person is gone from S3 within this window.
    private_version_days: int = 1
    max_candidate_roles: int = DEFAULT_MAX_ROLES
    price_class: str = "PriceClass_100"  # Europe and North America edges
    # The cloud intake (horizon_infra/intake.py): its code, and how fast it takes forms.
    intake_package: str = DEFAULT_INTAKE_PACKAGE
    intake_rate: int = 100  # submissions per second for the whole network (API Gateway)
    intake_burst: int = 200
    intake_client_rate: int = 10  # submissions per visitor per minute (the function)

    @staticmethod
    def from_config() -> InfraSettings:
        config = pulumi.Config("horizon")
        return InfraSettings(
            spec=Path(config.get("spec") or DEFAULT_SPEC),
            zone_id=config.get("zoneId"),
            certificate_arn=config.get("certificateArn"),
            zones=dict(config.get_object("zones") or {}),
            candidate_principals=dict(config.get_object("candidatePrincipals") or {}),
            candidate_principal=config.get("candidatePrincipal"),
            private_version_days=config.get_int("privateVersionDays") or 1,
            max_candidate_roles=config.get_int("maxCandidateRoles") or DEFAULT_MAX_ROLES,
            price_class=config.get("priceClass") or "PriceClass_100",
            intake_package=config.get("intakePackage") or DEFAULT_INTAKE_PACKAGE,
            intake_rate=config.get_int("intakeRate") or 100,
            intake_burst=config.get_int("intakeBurst") or 200,
            intake_client_rate=config.get_int("intakeClientRate") or 10,
        )
