"""The S3 target: releases in a site bucket, switched by a pointer written last.

Keys and prefixes are named in layout.py. A new release copies unchanged files
server-side from the current one and uploads only the others; the pointer (and the
CloudFront KeyValueStore entry when configured) moves only once every file is in place,
so nobody sees half a site. Private files are kept in place, not per release
(targets/base.py): rolling a site back must never bring back supporters who have since
withdrawn consent or been erased. A publish whose manifest equals the current one
writes nothing.

At campaign scale (see issue 16): email templates are shared per blueprint, email and
language (ses.py), the live releases come from a small index read once per run
(liveindex.py), and the first write of a run takes a lock with a lease in the private
bucket (s3lock.py), shared by the shards of one run. A run that writes nothing takes
no lock and makes no write.
"""

from __future__ import annotations

import mimetypes
import posixpath
import uuid
from collections.abc import Iterator

from botocore.exceptions import ClientError

from provisioner.errors import LockError, PublishError
from provisioner.render.build import Build
from provisioner.render.manifest import Manifest
from provisioner.run.shard import RunScope
from provisioner.targets import layout
from provisioner.targets.aws import Aws, S3Settings, publish_errors
from provisioner.targets.base import (
    PublishResult,
    Scrubber,
    Target,
    after_rollback,
    new_release_id,
)
from provisioner.targets.kvs import ReleaseStore
from provisioner.targets.ratelimit import RateLimits, shared_limits
from provisioner.targets.s3emails import ReleaseEmails, sends_changed
from provisioner.targets.s3run import S3Run

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
}
# CloudFront caches by the URI *after* the viewer function rewrote it to a release path,
# so the edge may keep an object for a year; browsers see the unversioned URL: briefly.
PAGE_CACHE = "public, max-age=60, s-maxage=31536000"
ASSET_CACHE = "public, max-age=3600, s-maxage=31536000"
PRIVATE_CACHE = "private, no-store"


def content_type(path: str) -> str:
    extension = posixpath.splitext(path)[1].lower()
    guessed = mimetypes.guess_type(path)[0]
    return TYPES.get(extension) or guessed or "application/octet-stream"


def cache_control(path: str) -> str:
    return PAGE_CACHE if path.endswith((".html", ".json")) else ASSET_CACHE


class S3Target(Target):
    name = "s3"

    def __init__(
        self, settings: S3Settings, aws: Aws | None = None, limits: RateLimits | None = None
    ):
        self.settings = settings
        self.aws = aws or Aws(settings)
        self.s3 = self.aws.s3
        self.site = settings.site_bucket
        self.private = settings.private_bucket
        self.limits = limits or shared_limits(settings.rates)
        self.router = ReleaseStore.create(self.aws, settings.kvs_arn)
        self._current: dict[str, str | None] = {}  # slug -> release, read once per run
        self.start(RunScope(key=uuid.uuid4().hex))

    def start(self, scope: RunScope) -> None:
        """Join run `scope` (shards of one run share its lock); before any read."""
        self.run = S3Run(
            self.s3,
            self.aws.ses,
            self.private,
            scope,
            self.limits,
            self.settings.lock_lease_s,
            lambda: (p[len(layout.SITES) : -1] for p in self._prefixes(self.site, layout.SITES)),
        )

    def check(self) -> None:
        """Fail with an InputError before any write when a bucket is out of reach."""
        self.aws.check_bucket(self.site, "--site-bucket")
        self.aws.check_bucket(self.private, "--private-bucket")

    @property
    def location(self) -> str:
        return f"s3://{self.site}"

    def url(self, slug: str) -> str:
        if self.settings.base_domain:  # the wildcard record serves every nation
            return f"https://{slug}.{self.settings.base_domain}/"
        return f"s3://{self.site}/{layout.site_prefix(slug)}"

    def current_release(self, slug: str) -> str | None:
        if slug not in self._current:
            with publish_errors(f"read release of {slug}", self.aws.redact):
                known, release = self.run.lookup(slug)
                if not known:  # the index is in doubt: the pointer is the truth
                    release = self._read_pointer(slug)
                    self.run.index.learn(slug, release)
                self._current[slug] = release
        return self._current[slug]

    def _read_pointer(self, slug: str) -> str | None:
        try:
            body = self.s3.get_object(Bucket=self.site, Key=layout.pointer_key(slug))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise
        return body.read().decode().strip() or None

    def publish(self, build: Build) -> PublishResult:
        with publish_errors(f"publish {build.slug}", self.aws.redact):
            try:
                return self._publish(build)
            except LockError:
                raise
            except Exception:
                self.run.index.doubt(build.slug)
                raise

    def _publish(self, build: Build) -> PublishResult:
        slug, current = build.slug, self.current_release(build.slug)
        old, new = self.live_manifest(slug), build.manifest()
        result = PublishResult.of(old.diff(new))
        if current is not None and not result.changed_anything:
            return result
        self.run.begin_write()
        release = new_release_id(build.digest)
        unchanged = old.same(new)
        self._put_site(slug, release, current, build.files["sites"], unchanged)
        self._put_private(slug, build.files["private"], unchanged)
        self._put_emails(build, result, release)
        self.put_manifest(slug, release, new)
        self._switch(slug, release, templates=list(build.templates))
        gone = [e.removeprefix("private/") for e in result.removed if e.startswith("private/")]
        self._delete_keys(self.private, [layout.private_key(slug, path) for path in gone])
        if current is not None:  # a first release has nothing to prune
            self._prune(slug, keep=release)
        result.release = release
        return result

    def _put(self, bucket: str, key: str, data: bytes, cache: str, **extra: str) -> None:
        headers = {"ContentType": content_type(key), "CacheControl": cache, **extra}
        self.s3.put_object(Bucket=bucket, Key=key, Body=data, **headers)

    def _put_site(
        self, slug: str, release: str, current: str | None, files: dict[str, bytes], same: set[str]
    ) -> None:
        for path, data in files.items():
            key = layout.site_key(slug, release, path)
            if current and f"sites/{path}" in same:  # copied inside S3: no upload
                source = {"Bucket": self.site, "Key": layout.site_key(slug, current, path)}
                self.s3.copy_object(Bucket=self.site, Key=key, CopySource=source)
            else:
                self._put(self.site, key, data, cache_control(path))

    def put_private(self, key: str, data: bytes) -> None:
        self._put(self.private, key, data, PRIVATE_CACHE, ServerSideEncryption="AES256")

    def live_manifest(self, slug: str) -> Manifest:
        """The manifest object of the release served now (written with each release)."""
        current = self.current_release(slug)
        return self.manifest(slug, current) if current else Manifest()

    def put_manifest(self, slug: str, release: str, manifest: Manifest) -> None:
        self.put_private(layout.manifest_key(slug, release), manifest.to_json())

    def _put_private(self, slug: str, files: dict[str, bytes], same: set[str]) -> None:
        for path, data in files.items():
            if f"private/{path}" not in same:  # kept in place: an unchanged file is there
                key = layout.private_key(slug, path)
                self._put(self.private, key, data, PRIVATE_CACHE, ServerSideEncryption="AES256")

    def _put_emails(self, build: Build, result: PublishResult, release: str) -> None:
        """Shared templates first, then the send-time data naming them, kept per release."""
        emails = ReleaseEmails.of(build)
        if sends_changed([*result.added, *result.changed, *result.removed]):
            self._put_sends(build.slug, emails)
        self.put_private(layout.release_emails_key(build.slug, release), emails.to_json())

    def _put_sends(self, slug: str, emails: ReleaseEmails) -> None:
        if self.settings.ses_templates:
            self.run.templates.ensure(emails.templates)
        self.put_private(layout.emails_key(slug), emails.sends_json())

    def _restore_emails(self, slug: str, release: str) -> list[str] | None:
        """Make `release`'s emails the live ones; its template names, None if not kept."""
        kept = self._read(self.private, layout.release_emails_key(slug, release))
        if kept is None:
            return None  # made before releases kept their emails: the live ones stay
        emails = ReleaseEmails.from_json(kept)
        self._put_sends(slug, emails)
        return list(emails.templates)

    def manifest(self, slug: str, release: str) -> Manifest:
        """The manifest of one kept release (empty for an unknown one: rewrite all)."""
        data = self._read(self.private, layout.manifest_key(slug, release))
        return Manifest() if data is None else Manifest.from_json(data)

    def _read(self, bucket: str, key: str) -> bytes | None:
        try:
            body: bytes = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise
        return body

    def _switch(self, slug: str, release: str, templates: list[str] | None = None) -> None:
        # The edge reads the KeyValueStore; the bucket pointer is the provisioner's own
        # record, written after it so that a failed switch is redone by the next run.
        self.router.set_release(slug, release)
        pointer = layout.pointer_key(slug)
        self._put(self.site, pointer, release.encode(), "no-store", ContentType="text/plain")
        self._current[slug] = release
        self.run.index.record(slug, release, templates)

    def releases(self, slug: str) -> list[str]:
        with publish_errors(f"list releases of {slug}", self.aws.redact):
            prefix = layout.site_prefix(slug)
            found = [p[len(prefix) : -1] for p in self._prefixes(self.site, prefix)]
        return sorted(found)

    def _prune(self, slug: str, keep: str) -> None:
        kept = self.releases(slug)
        protected = {keep, self._current.get(slug)}
        for release in kept[: max(0, len(kept) - self.settings.keep_releases)]:
            if release not in protected:
                self._delete_prefix(self.site, layout.release_prefix(slug, release))
                kept = [layout.manifest_key(slug, release)]
                kept.append(layout.release_emails_key(slug, release))
                self._delete_keys(self.private, kept)

    def activate(self, slug: str, release: str) -> None:
        with publish_errors(f"activate {slug} {release}", self.aws.redact):
            if release not in self.releases(slug):
                raise PublishError(f"{slug} has no release {release}; see `releases`")
            self.run.begin_write()
            templates = self._restore_emails(slug, release)
            self._describe_rollback(slug, release, emails_restored=templates is not None)
            self._switch(slug, release, templates=templates)  # None: unknown, no cleanup

    def _describe_rollback(self, slug: str, release: str, emails_restored: bool) -> None:
        """Make `release`'s manifest say what the nation serves once switched to it.

        Private objects are not versioned with releases (targets/base.py): a rollback
        leaves them as they are, so the manifest that the next publish compares with
        must describe them as they are, not as they were when `release` was made.
        """
        current = self.current_release(slug)
        if current is None or current == release:
            return
        chosen, live = self.manifest(slug, release), self.manifest(slug, current)
        served = after_rollback(chosen, live)
        if not emails_restored:  # an old release without kept emails: the live ones stay
            served = served.areas(["sites", "private"]).with_entries(live.areas(["emails"]))
        self.put_manifest(slug, release, served)

    def scrub_private(self, scrub: Scrubber) -> dict[str, int]:
        from provisioner.targets.s3_erase import scrub_private  # only `erase` needs it

        with publish_errors("erase from the private bucket", self.aws.redact):
            return scrub_private(self, scrub)

    def deployed_slugs(self) -> set[str]:
        with publish_errors("list deployed nations", self.aws.redact):
            self.run.load()
            index = self.run.index
            live = {slug for slug, entry in index.entries.items() if entry.release is not None}
            return live | index.pending

    def remove(self, slug: str) -> None:
        with publish_errors(f"remove {slug}", self.aws.redact):
            self.current_release(slug)
            self.run.begin_write()
            self.router.delete(slug)  # stop serving first
            self._delete_keys(self.site, [layout.pointer_key(slug)])
            self._current[slug] = None
            self.run.index.record(slug, None, ())
            for bucket, prefix in (
                (self.site, layout.site_prefix(slug)),
                (self.private, layout.private_prefix(slug)),
                (self.private, layout.manifest_prefix(slug)),
            ):
                self._delete_prefix(bucket, prefix)
            self._delete_keys(self.private, [layout.emails_key(slug)])
            self._delete_prefix(self.private, layout.release_emails_prefix(slug))

    def _prefixes(self, bucket: str, prefix: str) -> Iterator[str]:
        pages = self.s3.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
            yield from (p["Prefix"] for p in page.get("CommonPrefixes", []))

    def _delete_prefix(self, bucket: str, prefix: str) -> None:
        pages = self.s3.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=bucket, Prefix=prefix):
            self._delete_keys(bucket, [obj["Key"] for obj in page.get("Contents", [])])

    def _delete_keys(self, bucket: str, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # DeleteObjects takes 1,000 keys at most
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            self.s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})

    def close(self) -> None:
        try:
            with publish_errors("save the live index", self.aws.redact):
                self.run.finish(self.settings.ses_templates)
        finally:
            self.s3.close()
            self.aws.ses.close()
