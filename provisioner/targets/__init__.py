"""Where builds are published: the local filesystem (default) or S3.

`open_target` is the one place a target is made, for every command that reads or
writes one (deploy, plan, rollback, status, erase, inbox), from the user's choice.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provisioner.errors import InputError

if TYPE_CHECKING:
    from provisioner.targets.base import Target

TARGETS = ("local", "s3")
S3_OPTIONS = ("endpoint_url", "site_bucket", "private_bucket", "profile", "region")


@dataclass(frozen=True)
class TargetChoice:
    """Which target a command works on: its name and, for s3, the options given.

    `options` holds the CLI values (None when not given: the environment and the
    stack outputs fill them in, see targets/aws.py).
    """

    name: str = "local"
    options: Mapping[str, Any] = field(default_factory=dict)
    stack_outputs: Path | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TargetChoice:
        """From the parameters of a command with the shared target options."""
        options = {key: params.get(key) for key in S3_OPTIONS}
        return cls(params.get("target") or "local", options, params.get("stack_outputs"))


def open_target(
    choice: TargetChoice,
    out: Path,
    jobs: int = 4,
    keep_releases: int = 5,
    create: bool = True,
    env: Mapping[str, str] | None = None,
) -> Target:
    """The target `choice` names, ready to read; `create=False` creates nothing locally.

    Open it once the spec is valid, so that bad input writes nothing. An S3 target
    checks its buckets here, before any write.
    """
    if choice.name == "local":
        from provisioner.targets.local import LocalTarget

        return LocalTarget(out, keep_releases=keep_releases, create=create)
    if choice.name != "s3":
        raise InputError(
            f"--target {choice.name}: unknown target; choose one of {', '.join(TARGETS)}"
        )
    # Imported here: boto3 takes a while to load and the local target never needs it.
    from provisioner.targets.aws import resolve_settings
    from provisioner.targets.s3 import S3Target

    environment = os.environ if env is None else env
    settings = resolve_settings(choice.options, environment, choice.stack_outputs, jobs)
    target = S3Target(replace(settings, keep_releases=keep_releases))
    target.check()
    return target
