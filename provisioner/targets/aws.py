"""AWS plumbing shared by the S3 target: settings, one session with reused clients, errors.

Settings come from, in order: command-line options, environment variables, then the
Pulumi stack outputs (`pulumi stack output --json`). Credentials never pass through
here: boto3 finds them (environment, profile, SSO, instance role) and every message
that leaves this module has them scrubbed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

from provisioner.errors import InputError, PublishError

# Option name -> (environment variables, stack output key), in order of precedence.
SOURCES: dict[str, tuple[tuple[str, ...], str]] = {
    "endpoint_url": (("PROVISIONER_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL"), "endpoint_url"),
    "site_bucket": (("PROVISIONER_SITE_BUCKET",), "site_bucket"),
    "private_bucket": (("PROVISIONER_PRIVATE_BUCKET",), "private_bucket"),
    "region": (("AWS_REGION", "AWS_DEFAULT_REGION"), "region"),
    "profile": (("AWS_PROFILE",), ""),
    "base_domain": (("PROVISIONER_BASE_DOMAIN",), "base_domain"),
    "kvs_arn": (("PROVISIONER_KVS_ARN",), "kvs_arn"),
}
TRANSIENT_CODES = {
    *("SlowDown", "Throttling", "ThrottlingException", "ThrottledException"),
    *("RequestTimeout", "RequestTimeoutException", "InternalError", "ServiceUnavailable"),
    *("TooManyRequestsException", "RequestLimitExceeded", "ConflictException"),
}
# What to do about the errors a user can fix, appended to the message.
HINTS = {
    "AccessDenied": "attach the stack's deployer policy (output deployer_policy_arn)",
    "NoSuchBucket": "create the buckets (make infra-up) or fix --site-bucket/--private-bucket",
    "LimitExceeded": "SES keeps 20,000 templates per region: ask AWS for more, "
    "or set PROVISIONER_SES_TEMPLATES=off",
    "MessageRejected": "verify the SES domain identity (make infra-up creates it)",
}
ACCESS_KEY_RE = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{12,}\b")


@dataclass(frozen=True)
class S3Settings:
    """Where and how the S3 target publishes."""

    site_bucket: str
    private_bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    base_domain: str | None = None
    kvs_arn: str | None = None  # CloudFront KeyValueStore serving the current releases
    jobs: int = 4
    keep_releases: int = 5
    ses_templates: bool = True  # off for S3-compatible endpoints without SES
    rates: dict[str, float] = field(default_factory=dict)  # API -> requests per second
    lock_lease_s: float = 60.0  # a deploy lock not renewed for this long is taken over


def resolve_settings(
    options: Mapping[str, str | None],
    env: Mapping[str, str],
    stack_outputs: Path | None = None,
    jobs: int = 4,
) -> S3Settings:
    """Merge options, environment and stack outputs; InputError names what is missing."""
    outputs = _read_outputs(stack_outputs or _env_path(env, "PROVISIONER_STACK_OUTPUTS"))
    values: dict[str, str | None] = {}
    for name, (env_names, output_key) in SOURCES.items():
        candidates = [options.get(name), *(env.get(e) for e in env_names)]
        candidates.append(_text(outputs.get(output_key)) if output_key else None)
        values[name] = next((c for c in candidates if c), None)
    for name in ("site_bucket", "private_bucket"):
        if not values[name]:
            option = "--" + name.replace("_", "-")
            raise InputError(
                f"the s3 target needs a {name.replace('_', ' ')}: set {option}, "
                f"{SOURCES[name][0][0]}, or pass --stack-outputs from `pulumi stack output --json`"
            )
    ses_rate = env.get("PROVISIONER_SES_RATE")
    lease = env.get("PROVISIONER_LOCK_LEASE")
    return S3Settings(
        site_bucket=str(values["site_bucket"]),
        private_bucket=str(values["private_bucket"]),
        endpoint_url=values["endpoint_url"],
        region=values["region"],
        profile=values["profile"],
        base_domain=values["base_domain"],
        kvs_arn=values["kvs_arn"],
        jobs=jobs,
        ses_templates=env.get("PROVISIONER_SES_TEMPLATES", "on").lower() not in {"off", "0"},
        rates={"ses": _positive(ses_rate, "PROVISIONER_SES_RATE")} if ses_rate else {},
        lock_lease_s=_positive(lease, "PROVISIONER_LOCK_LEASE", "seconds") if lease else 60.0,
    )


def _env_path(env: Mapping[str, str], name: str) -> Path | None:
    return Path(env[name]) if env.get(name) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _positive(text: str, name: str, unit: str = "requests per second") -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise InputError(f"{name}={text!r}: must be a positive number of {unit}")
    return value


def _read_outputs(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"--stack-outputs {path}: cannot read: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(
            f"--stack-outputs {path}:{exc.lineno}: not JSON; "
            "write it with `pulumi stack output --json > FILE`"
        ) from exc
    if not isinstance(data, dict):
        raise InputError(f"--stack-outputs {path}: expected a JSON object of stack outputs")
    return data


class Aws:
    """One boto3 session and its clients, created once and shared by every worker."""

    def __init__(self, settings: S3Settings):
        try:
            self.session = boto3.Session(profile_name=settings.profile, region_name=settings.region)
        except ProfileNotFound as exc:
            raise InputError(f"--profile {settings.profile}: no such AWS profile") from exc
        region = self.session.region_name or ("us-east-1" if settings.endpoint_url else None)
        if region is None:
            raise InputError("no AWS region: set --region or AWS_REGION (e.g. eu-west-1)")
        self.region = region
        self.redact = redactor(session_secrets(self.session))
        self.config = Config(
            region_name=region,
            # Adaptive mode also slows the client down after throttling (503 SlowDown).
            retries={"mode": "adaptive", "max_attempts": 10},
            max_pool_connections=max(10, 2 * settings.jobs),
            connect_timeout=5,
            read_timeout=60,
            # Path-style URLs: S3-compatible endpoints rarely resolve bucket subdomains.
            s3={"addressing_style": "path" if settings.endpoint_url else "auto"},
        )
        self.endpoint_url = settings.endpoint_url
        self.s3 = self.client("s3")
        self.ses = self.client("ses")

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url, config=self.config)

    def check_bucket(self, bucket: str, option: str) -> None:
        """Fail fast, before any write, when a bucket is missing or out of reach."""
        where = self.endpoint_url or f"AWS {self.region}"
        try:
            self.s3.head_bucket(Bucket=bucket)
        except NoCredentialsError as exc:
            raise InputError(
                "no AWS credentials found: set --profile / AWS_PROFILE, or "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ) from exc
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            reason = "does not exist" if status == 404 else f"is not accessible ({status})"
            raise InputError(
                f"bucket {bucket!r} {reason} at {where}: create it (make infra-up) or set {option}"
            ) from exc
        except BotoCoreError as exc:
            message = f"cannot reach {where}: {exc}; check --endpoint-url"
            raise InputError(self.redact(message)) from exc


def session_secrets(session: boto3.Session) -> list[str]:
    """The keys and token the session signs with, to scrub from any message."""
    credentials = session.get_credentials()
    if credentials is None:
        return []
    frozen = credentials.get_frozen_credentials()
    return [s for s in (frozen.access_key, frozen.secret_key, frozen.token) if s]


def redactor(secrets: list[str]) -> Callable[[str], str]:
    """A function blanking `secrets`, and anything shaped like an access key, in text."""

    def redact(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "[redacted]")
        return ACCESS_KEY_RE.sub("[redacted]", text)

    return redact


@contextmanager
def publish_errors(action: str, redact: Callable[[str], str]) -> Iterator[None]:
    """Turn botocore errors into PublishError; throttling, 5xx and network ones are transient."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        hint = f"; {HINTS[code]}" if code in HINTS else ""
        message = f"{action}: {code}: {error.get('Message', '')}".strip() + hint
        failure = PublishError(redact(message))
        failure.transient = code in TRANSIENT_CODES or status >= 500
        raise failure from exc
    except BotoCoreError as exc:
        failure = PublishError(redact(f"{action}: {exc}"))
        failure.transient = not isinstance(exc, NoCredentialsError)
        raise failure from exc
