"""Every key and prefix the S3 target writes, in one place.

    site bucket     sites/<slug>/<release>/<path>     public files of one release
                    sites/<slug>/_current             the release served (the per-nation truth)
    private bucket  private/<slug>/<path>             supporter lists, SSE, never public
                    manifests/<slug>/<release>.json   sha256 of every file of a release
                    emails/<slug>.json                the nation's send-time email data
                    emails/<slug>/<release>.json      a release's send data and templates
                    live/<index>-of-<count>.json      live-release index of one shard layout
                    locks/deploy-<index>.json         the deploy lock of one shard (lease)
    KeyValueStore   r:<slug>                          the release the edge serves
                    d:<domain>                        a custom domain's slug (infra/ writes it)

The Pulumi program of `infra/` takes its prefixes from here too: the IAM and bucket
policies, and the CloudFront viewer function, whose JavaScript gets these constants
rendered in (infra/horizon_infra/cdn.py).
"""

from __future__ import annotations

SITES = "sites/"
POINTER = "_current"
PRIVATE = "private/"
MANIFESTS = "manifests/"
EMAILS = "emails/"
LIVE = "live/"
LOCKS = "locks/"
KVS_RELEASE_PREFIX = "r:"
KVS_DOMAIN_PREFIX = "d:"


def site_prefix(slug: str) -> str:
    return f"{SITES}{slug}/"


def release_prefix(slug: str, release: str) -> str:
    return f"{SITES}{slug}/{release}/"


def site_key(slug: str, release: str, path: str) -> str:
    return f"{SITES}{slug}/{release}/{path}"


def pointer_key(slug: str) -> str:
    return f"{SITES}{slug}/{POINTER}"


def private_prefix(slug: str) -> str:
    return f"{PRIVATE}{slug}/"


def private_key(slug: str, path: str) -> str:
    return f"{PRIVATE}{slug}/{path}"


def manifest_prefix(slug: str) -> str:
    return f"{MANIFESTS}{slug}/"


def manifest_key(slug: str, release: str) -> str:
    return f"{MANIFESTS}{slug}/{release}.json"


def emails_key(slug: str) -> str:
    return f"{EMAILS}{slug}.json"


def release_emails_prefix(slug: str) -> str:
    return f"{EMAILS}{slug}/"


def release_emails_key(slug: str, release: str) -> str:
    return f"{EMAILS}{slug}/{release}.json"


def live_key(index: int, count: int) -> str:
    return f"{LIVE}{index}-of-{count}.json"


def lock_key(index: int) -> str:
    return f"{LOCKS}deploy-{index}.json"


def kvs_release_key(slug: str) -> str:
    return f"{KVS_RELEASE_PREFIX}{slug}"


def kvs_domain_key(domain: str) -> str:
    return f"{KVS_DOMAIN_PREFIX}{domain}"
