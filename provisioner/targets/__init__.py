"""Where builds are published: the local filesystem (default) or S3."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provisioner.errors import InputError

if TYPE_CHECKING:
    from provisioner.targets.base import Target

TARGETS = ("local", "s3")
S3_OPTIONS = ("endpoint_url", "site_bucket", "private_bucket", "profile", "region")


def make_target(
    name: str,
    params: Mapping[str, Any],
    jobs: int = 4,
    keep_releases: int = 5,
    env: Mapping[str, str] | None = None,
) -> Target | None:
    """The target `name` configured from CLI params, environment and stack outputs.

    None for `local`: `deploy()` creates it once the spec is valid, so that bad input
    writes nothing. An S3 target checks its buckets here, before any write.
    """
    if name == "local":
        return None
    if name != "s3":
        raise InputError(f"--target {name}: unknown target; choose one of {', '.join(TARGETS)}")
    # Imported here: boto3 takes a while to load and the local target never needs it.
    from provisioner.targets.aws import resolve_settings
    from provisioner.targets.s3 import S3Target

    options = {key: params.get(key) for key in S3_OPTIONS}
    outputs: Path | None = params.get("stack_outputs")
    settings = resolve_settings(options, os.environ if env is None else env, outputs, jobs)
    target = S3Target(replace(settings, keep_releases=keep_releases))
    target.check()
    return target
