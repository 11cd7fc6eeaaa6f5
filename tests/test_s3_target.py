"""The S3 target against a real S3 endpoint (moto_server), one nation at a time.

End-to-end runs of the CLI over the whole sample network are in test_s3_end_to_end.py.
"""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from s3_support import MotoServer, Proxy

from provisioner.errors import InputError, PublishError
from provisioner.render.build import Build
from provisioner.render.sestemplates import split, template_json, template_name
from provisioner.supporters.erasure import Person, scrub_csv
from provisioner.targets.aws import S3Settings, publish_errors, redactor, resolve_settings
from provisioner.targets.ratelimit import RateLimits
from provisioner.targets.s3 import S3Target, cache_control, content_type

REGION = "eu-west-1"
ACCESS_KEY = "AKIAPROVISIONERTEST1"
SECRET_KEY = "provisioner/test/secret+never+printed"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)


@pytest.fixture
def direct(moto: MotoServer, aws_env: None) -> Any:
    """A client straight to moto, for assertions (not counted by the proxy)."""
    return boto3.client("s3", endpoint_url=moto.url, region_name=REGION)


@pytest.fixture
def ses(moto: MotoServer, aws_env: None) -> Any:
    """SES straight from moto, for assertions (not counted by the proxy)."""
    return boto3.client("ses", endpoint_url=moto.url, region_name=REGION)


@pytest.fixture
def target(direct: Any, proxy: Proxy) -> Iterator[S3Target]:
    site, private = f"site-{uuid.uuid4().hex[:8]}", f"private-{uuid.uuid4().hex[:8]}"
    for bucket in (site, private):
        direct.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
    settings = S3Settings(site, private, endpoint_url=proxy.url, region=REGION, keep_releases=2)
    s3 = S3Target(settings, limits=RateLimits({"ses": 1000.0}))
    s3.check()
    proxy.reset()
    yield s3
    s3.close()


def welcome(slug: str, text: str) -> tuple[bytes, dict[str, bytes]]:
    """A nation's welcome email as the build writes it, and the shared template it names."""
    nation = {"name": slug.title(), "domain": f"{slug}.example.org"}
    rendered = {
        "SubjectPart": f"Bienvenue chez {slug.title()}",
        "TextPart": f"{text} https://{slug}.example.org/",
        "HtmlPart": f"<p>{text}</p>",
    }
    skeleton, data = split(rendered, nation)
    name = template_name("candidate", "welcome", "fr", skeleton)
    email = {"Template": name, "TemplateData": data, **rendered}
    return json.dumps(email).encode(), {name: template_json(name, skeleton)}


def make_build(
    slug: str = "liege", page: str = "v1", private: str = "a", email: str = "hi"
) -> Build:
    build = Build(slug, fingerprint=f"{page}{private}{email}")
    build.files["sites"] = {
        "index.html": f"<h1>{page}</h1>".encode(),
        "fr/agir.html": b"<p>agir</p>",
        "assets/style.css": b"body{}",
        "nation.json": b"{}",
    }
    build.files["private"] = {"segments/volunteers.csv": private.encode(), "exports/x.csv": b"x"}
    send, build.templates = welcome(slug, email)
    build.files["emails"] = {"fr/welcome.json": send, "fr/welcome.txt": b"t"}
    return build


def keys(client: Any, bucket: str, prefix: str = "") -> set[str]:
    listing = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return {obj["Key"] for obj in listing.get("Contents", [])}


def test_publish_lays_out_sites_private_files_and_pointer(target: S3Target, direct: Any) -> None:
    result = target.publish(make_build())
    release = result.release
    assert release is not None and target.current_release("liege") == release
    assert keys(direct, target.site) == {
        f"sites/liege/{release}/{path}"
        for path in ("index.html", "fr/agir.html", "assets/style.css", "nation.json")
    } | {"sites/liege/_current"}
    run_files = {"private/liege/segments/volunteers.csv", "private/liege/exports/x.csv"}
    run_files |= {f"manifests/liege/{release}.json", "emails/liege.json"}
    run_files |= {f"emails/liege/{release}.json"}  # the release's emails, for a rollback
    # Written at the first write: the lock, and the index marking the run's nations pending.
    assert keys(direct, target.private) == run_files | {"locks/deploy-0.json", "live/0-of-1.json"}
    index = json.loads(
        direct.get_object(Bucket=target.private, Key="live/0-of-1.json")["Body"].read()
    )
    assert index["pending"] == ["liege"]
    target.close()  # saves the live index, releases the lock
    assert keys(direct, target.private) == run_files | {"live/0-of-1.json"}
    index = json.loads(
        direct.get_object(Bucket=target.private, Key="live/0-of-1.json")["Body"].read()
    )
    assert index["pending"] == [] and index["nations"]["liege"][0] == release
    pointer = direct.get_object(Bucket=target.site, Key="sites/liege/_current")
    assert pointer["Body"].read().decode() == release
    page = direct.head_object(Bucket=target.site, Key=f"sites/liege/{release}/index.html")
    assert page["ContentType"] == "text/html; charset=utf-8"
    assert page["CacheControl"] == "public, max-age=60, s-maxage=31536000"
    secret = direct.head_object(Bucket=target.private, Key="private/liege/exports/x.csv")
    assert secret["ServerSideEncryption"] == "AES256"
    assert secret["CacheControl"] == "private, no-store"
    sends = json.loads(
        direct.get_object(Bucket=target.private, Key="emails/liege.json")["Body"].read()
    )
    assert set(sends) == {"fr/welcome.json"}
    assert sends["fr/welcome.json"]["TemplateData"] == {
        "nation_sender": "Liege",  # the nation's name, signing for a section
        "nation_domain": "liege.example.org",
    }


def test_pointer_moves_only_after_every_file_is_in_place(target: S3Target, proxy: Proxy) -> None:
    target.publish(make_build())
    puts = [path for method, path in proxy.traffic.paths if method == "PUT"]
    assert puts[-1].endswith("/sites/liege/_current")
    assert sum(path.endswith("/_current") for path in puts) == 1


def test_identical_build_writes_nothing(target: S3Target, proxy: Proxy) -> None:
    target.publish(make_build())
    target.close()
    proxy.reset()
    fresh = S3Target(target.settings, limits=target.limits)  # no cache: reads the bucket
    result = fresh.publish(make_build())
    fresh.close()
    assert result.release is None and not result.changed_anything
    assert proxy.traffic.writes == 0
    # The index listing and object, then the release's manifest: no pointer read.
    assert proxy.traffic.methods["GET"] == 3, proxy.traffic.paths


def test_new_release_copies_unchanged_files_and_uploads_the_rest(
    target: S3Target, proxy: Proxy, direct: Any
) -> None:
    target.publish(make_build(page="v1"))
    proxy.reset()
    result = target.publish(make_build(page="v2"))
    assert result.changed == ["sites/index.html"]
    # 3 copies + index.html + manifest + kept emails + pointer; private files, the live
    # send data and the template untouched.
    assert proxy.traffic.copies == 3
    assert proxy.traffic.writes == 7
    copied = direct.head_object(Bucket=target.site, Key=f"sites/liege/{result.release}/nation.json")
    assert copied["ContentType"] == "application/json"


def test_private_files_change_in_place_and_removed_ones_are_deleted(
    target: S3Target, direct: Any
) -> None:
    target.publish(make_build(private="a"))
    build = make_build(private="b")
    del build.files["private"]["exports/x.csv"]
    target.publish(build)
    assert keys(direct, target.private, "private/") == {"private/liege/segments/volunteers.csv"}
    body = direct.get_object(Bucket=target.private, Key="private/liege/segments/volunteers.csv")
    assert body["Body"].read() == b"b"
    assert not keys(direct, target.site) & {
        k.replace("private/", "sites/") for k in keys(direct, target.private)
    }


def template_names(ses: Any) -> set[str]:
    return {t["Name"] for t in ses.list_templates()["TemplatesMetadata"]}


def test_email_templates_are_shared_and_written_only_when_they_change(
    target: S3Target, proxy: Proxy, ses: Any
) -> None:
    target.publish(make_build("liege", email="hi"))
    target.publish(make_build("namur", email="hi"))
    assert proxy.reset().actions["CreateTemplate"] == 1  # one template for both nations
    (first,) = make_build("namur", email="hi").templates
    target.publish(make_build("liege", email="hi", page="v2"))
    assert not proxy.reset().actions
    target.publish(make_build("liege", email="hello", page="v3"))
    assert dict(proxy.reset().actions) == {"CreateTemplate": 1}
    target.close()  # the old one is still used by namur
    assert not proxy.reset().actions and first in template_names(ses)
    (second,) = make_build("liege", email="hello").templates
    text = ses.get_template(TemplateName=second)["Template"]["TextPart"]
    assert text == "hello https://{{{nation_domain}}}/"


def test_a_dropped_email_loses_its_template(target: S3Target, proxy: Proxy, ses: Any) -> None:
    first = target.publish(make_build(email="dropped"))
    assert first.release and set(make_build(email="dropped").templates) <= template_names(ses)
    build = make_build(page="v2")
    build.files["emails"], build.templates = {}, {}
    target.publish(build)
    target.close()
    assert proxy.traffic.actions["DeleteTemplate"] == 1
    assert not set(make_build(email="dropped").templates) & template_names(ses)


def test_a_keyvaluestore_without_sigv4a_support_is_refused_up_front(
    proxy: Proxy, aws_env: None
) -> None:
    if importlib.util.find_spec("awscrt") is not None:
        pytest.skip("awscrt is installed: SigV4A works")
    arn = "arn:aws:cloudfront::123456789012:key-value-store/abc"
    settings = S3Settings("s", "p", endpoint_url=proxy.url, region=REGION, kvs_arn=arn)
    with pytest.raises(InputError, match=r"kvs_arn\) needs SigV4A signing: pip install"):
        S3Target(settings)


def test_releases_are_pruned_and_any_kept_one_can_be_activated(
    target: S3Target, direct: Any
) -> None:
    made = [target.publish(make_build(page=f"v{i}")).release for i in range(3)]
    assert target.releases("liege") == made[1:]  # keep_releases=2
    assert not keys(direct, target.site, f"sites/liege/{made[0]}/")
    assert not keys(direct, target.private, f"manifests/liege/{made[0]}")
    target.activate("liege", str(made[1]))
    fresh = S3Target(target.settings, limits=target.limits)
    assert fresh.current_release("liege") == made[1]
    with pytest.raises(PublishError, match="no release nope"):
        target.activate("liege", "nope")


def test_remove_deletes_the_nation_everywhere(target: S3Target, direct: Any, ses: Any) -> None:
    target.publish(make_build("liege"))
    target.publish(make_build("namur"))
    assert target.deployed_slugs() == {"liege", "namur"}
    target.remove("liege")
    assert target.deployed_slugs() == {"namur"}
    assert target.current_release("liege") is None
    assert not keys(direct, target.private, "private/liege/")
    assert not keys(direct, target.private, "emails/liege")
    target.close()
    shared = set(make_build("namur").templates)
    assert shared <= template_names(ses)  # namur still uses it
    again = S3Target(target.settings, limits=target.limits)
    assert again.deployed_slugs() == {"namur"}
    again.remove("namur")
    again.close()
    assert not shared & template_names(ses)


def test_missing_bucket_is_an_input_error_naming_the_option(proxy: Proxy, aws_env: None) -> None:
    settings = S3Settings("no-such-site", "no-such-private", endpoint_url=proxy.url, region=REGION)
    with pytest.raises(InputError, match=r"bucket 'no-such-site' does not exist .* --site-bucket"):
        S3Target(settings).check()


def test_settings_come_from_options_then_environment_then_stack_outputs(tmp_path: Any) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps({"site_bucket": "s-out", "private_bucket": "p-out", "region": "eu-west-3"})
    )
    env = {"PROVISIONER_PRIVATE_BUCKET": "p-env", "PROVISIONER_SES_RATE": "20"}
    settings = resolve_settings({"site_bucket": "s-opt"}, env, outputs)
    assert (settings.site_bucket, settings.private_bucket) == ("s-opt", "p-env")
    assert settings.region == "eu-west-3" and settings.rates == {"ses": 20.0}
    with pytest.raises(InputError, match="--site-bucket, PROVISIONER_SITE_BUCKET"):
        resolve_settings({}, {"PROVISIONER_PRIVATE_BUCKET": "p"})
    outputs.write_text("{nope")
    with pytest.raises(InputError, match="not JSON"):
        resolve_settings({}, {}, outputs)


def test_errors_are_transient_or_not_and_never_show_credentials() -> None:
    def failing(code: str, status: int, message: str = "") -> ClientError:
        error = {"Error": {"Code": code, "Message": message}}
        return ClientError({**error, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")

    redact = redactor([SECRET_KEY])
    with pytest.raises(PublishError) as slow, publish_errors("publish liege", redact):
        raise failing("SlowDown", 503)
    assert slow.value.transient and "publish liege: SlowDown" in str(slow.value)
    with pytest.raises(PublishError) as denied, publish_errors("publish liege", redact):
        raise failing("AccessDenied", 403, f"key {ACCESS_KEY} secret {SECRET_KEY}")
    assert not denied.value.transient and "deployer policy" in str(denied.value)
    assert ACCESS_KEY not in str(denied.value) and SECRET_KEY not in str(denied.value)


@pytest.mark.parametrize(
    ("path", "kind", "cache"),
    [
        ("fr/index.html", "text/html; charset=utf-8", "public, max-age=60, s-maxage=31536000"),
        ("nation.json", "application/json", "public, max-age=60, s-maxage=31536000"),
        ("assets/style.css", "text/css; charset=utf-8", "public, max-age=3600, s-maxage=31536000"),
        ("assets/photo.jpg", "image/jpeg", "public, max-age=3600, s-maxage=31536000"),
        ("assets/blob", "application/octet-stream", "public, max-age=3600, s-maxage=31536000"),
    ],
)
def test_content_types_and_cache_headers(path: str, kind: str, cache: str) -> None:
    assert (content_type(path), cache_control(path)) == (kind, cache)


def test_clients_are_made_once_and_retry_adaptively(target: S3Target) -> None:
    assert target.aws.config.retries["mode"] == "adaptive"
    assert target.aws.config.max_pool_connections >= 2 * target.settings.jobs

    def no_new_clients(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a client was created while publishing")

    target.aws.session.client = no_new_clients  # type: ignore[method-assign]
    assert target.publish(make_build()).release is not None


def test_rollback_keeps_the_current_private_lists_and_the_next_publish_sees_them(
    target: S3Target, direct: Any
) -> None:
    first = target.publish(make_build(page="v1", private="with-erased-person")).release
    target.publish(make_build(page="v2", private="after-erasure"))
    target.activate("liege", str(first))

    def private_list() -> bytes:
        key = "private/liege/segments/volunteers.csv"
        body: bytes = direct.get_object(Bucket=target.private, Key=key)["Body"].read()
        return body

    assert private_list() == b"after-erasure"  # the rollback switched pages only
    # Republishing the old lists must write them: the manifest now says what is live.
    target.publish(make_build(page="v1", private="with-erased-person"))
    assert private_list() == b"with-erased-person"


def test_rollback_brings_back_the_releases_emails_and_their_deleted_template(
    target: S3Target, direct: Any, ses: Any
) -> None:
    first = target.publish(make_build(page="v1", email="old words")).release
    target.publish(make_build(page="v2", email="new words"))
    target.close()  # the run ends: the old template, used by no live nation, is deleted
    (old_template,) = make_build(email="old words").templates
    assert old_template not in template_names(ses)

    def sends() -> dict[str, Any]:
        body = direct.get_object(Bucket=target.private, Key="emails/liege.json")["Body"].read()
        data: dict[str, Any] = json.loads(body)
        return data

    rollback = S3Target(target.settings, limits=target.limits)
    rollback.activate("liege", str(first))
    assert old_template in template_names(ses)  # registered again before it is named
    assert sends()["fr/welcome.json"]["Template"] == old_template
    rollback.close()  # the template now live stays; the newer one is unused
    (new_template,) = make_build(email="new words").templates
    assert old_template in template_names(ses) and new_template not in template_names(ses)
    # Republishing the newer emails writes them again: the manifest says what is live.
    again = S3Target(target.settings, limits=target.limits)
    result = again.publish(make_build(page="v2", email="new words"))
    assert "emails/fr/welcome.json" in result.changed
    assert sends()["fr/welcome.json"]["Template"] == new_template
    again.close()


def test_erase_rewrites_private_objects_and_deletes_their_old_versions(
    target: S3Target, direct: Any
) -> None:
    direct.put_bucket_versioning(
        Bucket=target.private, VersioningConfiguration={"Status": "Enabled"}
    )
    target.publish(make_build(private="id,email\nHZ1,anna@example.be\nHZ2,bram@example.be\n"))
    target.publish(make_build(private="id,email\nHZ1,anna@example.be\nHZ3,chloe@example.be\n"))
    key = "private/liege/segments/volunteers.csv"
    listed = direct.list_object_versions(Bucket=target.private, Prefix=key)["Versions"]
    assert len(listed) == 2  # a version from the first publish: it names anna too
    person = Person("email", "anna@example.be")
    found = target.scrub_private(lambda path, data: scrub_csv(data, [person]))
    assert found == {"liege/segments/volunteers.csv": 1}
    (only,) = direct.list_object_versions(Bucket=target.private, Prefix=key)["Versions"]
    body = direct.get_object(Bucket=target.private, Key=key, VersionId=only["VersionId"])
    assert body["Body"].read() == b"id,email\nHZ3,chloe@example.be\n"
    # The live manifest describes the scrubbed list: republishing it writes nothing.
    result = target.publish(make_build(private="id,email\nHZ3,chloe@example.be\n"))
    assert result.release is None
