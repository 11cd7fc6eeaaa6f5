"""One target interface: `plan` and `rollback` on S3 as on local, one Manifest diff.

The real CLI runs against moto_server (the shared module server of conftest.py) on a
slice of the sample network: a Brussels candidate and her parents, with a small
generated supporter export, so that private lists are published too.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from helpers import copy_sample_network
from runs import Invoke, invoker
from s3_support import MotoServer, Proxy

from provisioner.render.build import Build
from provisioner.render.manifest import Manifest
from provisioner.supporters.generate import generate
from provisioner.targets.aws import S3Settings
from provisioner.targets.base import Target, after_rollback
from provisioner.targets.local import LocalTarget
from provisioner.targets.ratelimit import RateLimits
from provisioner.targets.s3 import S3Target

REGION = "eu-west-1"
ACCESS_KEY = "AKIAPROVISIONERTGT01"
SECRET_KEY = "targets/secret+key/never+logged"
CANDIDATE = "eline-mertens"  # postcode 1070
SLICE = [CANDIDATE, "anderlecht", "bruxelles-capitale", "hq"]


@pytest.fixture
def aws_env(proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's environment: moto behind the counting proxy, test credentials."""
    for name in [k for k in os.environ if k.startswith(("AWS_", "PROVISIONER_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("PROVISIONER_SES_RATE", "1000")  # moto does not throttle
    monkeypatch.setenv("PROVISIONER_S3_ENDPOINT_URL", proxy.url)


@pytest.fixture
def client(moto: MotoServer) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=moto.url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


@pytest.fixture
def buckets(client: Any, tmp_path: Path) -> Path:
    """Fresh buckets, named in a stack outputs file as `pulumi stack output --json` writes."""
    names = {"site_bucket": f"site-{uuid.uuid4().hex[:8]}"}
    names["private_bucket"] = f"private-{uuid.uuid4().hex[:8]}"
    for bucket in names.values():
        client.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({**names, "region": REGION}))
    return outputs


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("network")
    spec = copy_sample_network(root)
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    data["nations"] = [n for n in data["nations"] if n["slug"] in SLICE]  # cheap to load
    spec.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    generate(root / "data", [("1070", "nl"), ("1070", "fr")], count=120)
    return root


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


class Cli:
    """`provisioner <command> --target s3` on a copy of the network, against moto.

    The real entry point, run in-process (a process per command costs ~2 s of CPU).
    """

    def __init__(self, root: Path, outputs: Path, invoke: Invoke):
        self.root, self.outputs, self.invoke = root, outputs, invoke
        self.buckets = json.loads(outputs.read_text())

    def __call__(self, command: str, *args: str, out: str = "build") -> Done:
        spec = self.root / "nations.yaml"
        done = Done(
            *self.invoke(command, "--spec", spec, "--out", self.root / out, "--target", "s3",
                         "--stack-outputs", self.outputs, *args)
        )  # fmt: skip
        assert SECRET_KEY not in done.stdout + done.stderr
        return done

    def plan(self, *args: str) -> dict[str, Any]:
        done = self("plan", "--json", *args)
        assert done.returncode == 0, done.stdout + done.stderr
        return {n["slug"]: n for n in json.loads(done.stdout)["nations"]}

    def deploy(self) -> dict[str, Any]:
        done = self("deploy", "-q")
        assert done.returncode == 0, done.stdout + done.stderr
        report = json.loads((self.root / "build" / "reports" / "latest.json").read_text())
        return {n["slug"]: n for n in report["nations"]}


@pytest.fixture
def cli(
    network: Path,
    buckets: Path,
    aws_env: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    root = tmp_path / "net"
    shutil.copytree(network, root)  # each test edits its own copy
    return Cli(root, buckets, invoker(capsys, monkeypatch))


def s3_files(client: Any, bucket: str, prefix: str) -> dict[str, bytes]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
    return {k[len(prefix) :]: client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def live_site(client: Any, cli: Cli, slug: str) -> tuple[str, dict[str, bytes]]:
    site = cli.buckets["site_bucket"]
    release = client.get_object(Bucket=site, Key=f"sites/{slug}/_current")["Body"].read()
    return release.decode(), s3_files(client, site, f"sites/{slug}/{release.decode()}/")


def edit_slogan(root: Path) -> None:
    spec = root / "nations.yaml"
    text = spec.read_text(encoding="utf-8")
    old = "slogan: Anderlecht verdient beter / Anderlecht mérite mieux"
    assert old in text
    spec.write_text(text.replace(old, old + " !"), encoding="utf-8")


def drop_one_supporter(root: Path) -> str:
    """Remove one supporter from the export (as if they left); returns their email."""
    export = root / "data" / "supporters.csv"
    header, *rows = export.read_text(encoding="utf-8").splitlines(keepends=True)
    email_column = header.rstrip("\r\n").split(",").index("email")
    victim = next(r for r in rows if r.split(",")[email_column])
    export.write_text(header + "".join(r for r in rows if r != victim), encoding="utf-8")
    return victim.split(",")[email_column]


def test_plan_on_s3_says_create_then_unchanged_then_the_update_deploy_makes(
    cli: Cli, proxy: Proxy
) -> None:
    proxy.reset()
    fresh = cli.plan()
    assert {slug: n["action"] for slug, n in fresh.items()} == dict.fromkeys(SLICE, "create")
    assert proxy.reset().writes == 0  # a plan reads the buckets and writes nothing
    deployed = cli.deploy()
    for slug in SLICE:  # the plan counted every file the deploy then wrote
        assert fresh[slug]["added"] == deployed[slug]["files"]["added"] > 0, slug

    # From a machine without this state.db: every nation is built, and its manifest
    # equals the live one on S3.
    proxy.reset()
    clean = cli("plan", "--detailed-exitcode", out="elsewhere")
    assert (clean.returncode, clean.stderr) == (0, "")
    assert proxy.reset().writes == 0
    assert clean.stdout == "Plan: 0 to create, 0 to update, 0 to delete, 4 unchanged\n"
    assert not (cli.root / "elsewhere").exists()  # plan writes nothing

    edit_slogan(cli.root)
    pending = cli("plan", "--detailed-exitcode", "--json")
    assert pending.returncode == 3, pending.stderr
    planned = {n["slug"]: n for n in json.loads(pending.stdout)["nations"]}
    changed = [s for s, n in planned.items() if n["action"] != "unchanged"]
    assert changed == [CANDIDATE] and planned[CANDIDATE]["action"] == "update"
    after = cli.deploy()[CANDIDATE]
    counts = {k: planned[CANDIDATE][k] for k in ("added", "changed", "removed")}
    assert after["status"] == "deployed" and after["files"] == counts
    assert counts["changed"] > 0


def test_rollback_on_s3_switches_pages_back_and_keeps_the_current_lists(
    cli: Cli, client: Any, proxy: Proxy
) -> None:
    cli.deploy()
    first, first_pages = live_site(client, cli, CANDIDATE)
    edit_slogan(cli.root)
    gone = drop_one_supporter(cli.root)
    cli.deploy()
    second, second_pages = live_site(client, cli, CANDIDATE)
    private = cli.buckets["private_bucket"]
    lists = s3_files(client, private, f"private/{CANDIDATE}/")
    assert lists and not any(gone.encode() in data for data in lists.values())
    assert second != first and second_pages != first_pages

    proxy.reset()
    done = cli("rollback", CANDIDATE)
    assert done.returncode == 0, done.stderr
    site_puts = [p for m, p in proxy.reset().paths if m == "PUT" and "/sites/" in p]
    assert site_puts == [f"/{cli.buckets['site_bucket']}/sites/{CANDIDATE}/_current"]
    assert done.stdout.startswith(f"{CANDIDATE}: {second} -> {first} (run ")
    assert live_site(client, cli, CANDIDATE) == (first, first_pages)
    assert s3_files(client, private, f"private/{CANDIDATE}/") == lists  # still current
    assert not client.list_objects_v2(Bucket=private, Prefix="locks/").get("KeyCount")
    status = cli("status", "--json")
    nations = {n["slug"]: n for n in json.loads(status.stdout)["nations"]}
    assert nations[CANDIDATE]["live_release"] == first

    # The next deploy publishes the edited pages again and rewrites no list.
    planned = cli.plan()[CANDIDATE]
    assert planned["action"] == "update" and planned["changed"] > 0
    again = cli.deploy()[CANDIDATE]
    assert again["files"] == {k: planned[k] for k in ("added", "changed", "removed")}
    assert live_site(client, cli, CANDIDATE)[1] == second_pages
    assert s3_files(client, private, f"private/{CANDIDATE}/") == lists


def test_rollback_with_nothing_published_on_s3_exits_2(cli: Cli) -> None:
    done = cli("rollback", CANDIDATE)
    assert done.returncode == 2
    bucket = cli.buckets["site_bucket"]
    assert f"{CANDIDATE}: nothing published on s3://{bucket}; deploy it first" in done.stderr


# -- the same diff on both targets ---------------------------------------------------------
def make_build(page: str, private: str, email: str = "hi") -> Build:
    build = Build("liege", fingerprint=page + private + email)
    build.files["sites"] = {
        "index.html": f"<h1>{page}</h1>".encode(),
        "fr/agir.html": b"<p>agir</p>",
        "nation.json": b"{}",
    }
    build.files["private"] = {"segments/volunteers.csv": private.encode(), "x.csv": b"x"}
    build.files["emails"] = {"fr/welcome.txt": email.encode()}
    return build


@pytest.fixture
def both(client: Any, moto: MotoServer, tmp_path: Path, aws_env: None) -> Iterator[list[Target]]:
    site, private = f"site-{uuid.uuid4().hex[:8]}", f"private-{uuid.uuid4().hex[:8]}"
    for bucket in (site, private):
        client.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
    settings = S3Settings(site, private, endpoint_url=moto.url, region=REGION)
    targets: list[Target] = [
        LocalTarget(tmp_path / "build"),
        S3Target(settings, limits=RateLimits({"ses": 1000.0})),
    ]
    yield targets
    for target in targets:
        target.close()


def test_both_targets_diff_the_same_build_alike_and_roll_back_alike(
    both: list[Target],
) -> None:
    for target in both:
        assert target.diff(make_build("v1", "a")).added == list(make_build("v1", "a").manifest())
    first = [t.publish(make_build("v1", "a")).release for t in both]
    [t.publish(make_build("v2", "b")) for t in both]
    edited = make_build("v3", "b")
    del edited.files["sites"]["fr/agir.html"]
    edited.files["sites"]["fr/new.html"] = b"new"
    diffs = [t.diff(edited) for t in both]
    assert diffs[0] == diffs[1]
    assert (diffs[0].added, diffs[0].changed, diffs[0].removed) == (
        ["sites/fr/new.html"],
        ["sites/index.html"],
        ["sites/fr/agir.html"],
    )

    live = [t.live_manifest("liege") for t in both]
    for target, release in zip(both, first, strict=True):
        target.activate("liege", str(release))
    expected = after_rollback(make_build("v1", "a").manifest(), live[0])
    v1 = make_build("v1", "a")
    assert expected.area("sites")["index.html"] == v1.sha256("sites", "index.html")
    assert expected.area("private") == make_build("v2", "b").manifest().area("private")
    for target in both:
        assert target.live_manifest("liege") == expected, target.name
    rediff = [t.diff(make_build("v2", "b")) for t in both]
    assert rediff[0] == rediff[1] and rediff[0].changed == ["sites/index.html"]


def test_a_manifest_round_trips_and_diffs_in_entry_order() -> None:
    old = Manifest({"sites/a": "1", "sites/b": "2", "private/c": "3"})
    assert Manifest.from_json(old.to_json()) == old
    changes = old.diff({"sites/b": "9", "sites/d": "4", "private/c": "3"})
    assert changes.added == ["sites/d"] and changes.changed == ["sites/b"]
    assert changes.removed == ["sites/a"]
    assert old.same({"sites/a": "1", "private/c": "x"}) == {"sites/a"}
    assert old.areas(["private"]) == Manifest({"private/c": "3"})


def test_the_local_target_reads_a_tree_as_rglob_finds_it(tmp_path: Path) -> None:
    """Live files are walked with os.scandir for speed: the same files, in the same
    order, as `Path.rglob` (symlinked folders not entered, a symlinked file read)."""
    from provisioner.targets.local import _tree_files

    root = tmp_path / "live"
    for name in ("a/b/c.txt", "a-b/d.txt", "a.txt", "z/e.csv", "A/f"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.txt").write_text("x")
    (root / "linked-folder").symlink_to(tmp_path / "elsewhere")
    (root / "linked-file.txt").symlink_to(root / "a.txt")
    expected = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    found = dict(_tree_files(str(root)))
    assert set(found) == expected and "linked-file.txt" in found
    assert not any(name.startswith("linked-folder") for name in found)
    target = LocalTarget(tmp_path / "out")
    (tmp_path / "out" / "private" / "hq").symlink_to(root)
    by_path = [p.relative_to(root).as_posix() for p in sorted(root.rglob("*")) if p.is_file()]
    read = target.read_private("hq")
    assert read is not None and list(read) == by_path
    assert read["a/b/c.txt"] == b"a/b/c.txt"


def test_unchanged_lists_stay_in_their_folder_and_changed_ones_replace_it(
    tmp_path: Path,
) -> None:
    """A publish whose lists are the live ones keeps their folder (nothing linked anew
    or deleted); new lists get a folder of their own and the old one is deleted."""
    target = LocalTarget(tmp_path / "build")
    lists = tmp_path / "build" / "private" / "liege"
    first = target.publish(make_build("v1", "a")).release
    folder = lists.resolve()
    inode = (folder / "x.csv").stat().st_ino
    second = target.publish(make_build("v2", "a")).release  # a page edit only
    assert second not in (None, first) and target.current_release("liege") == second
    assert lists.resolve() == folder and (folder / "x.csv").stat().st_ino == inode
    assert (tmp_path / "build" / "sites" / "liege" / "index.html").read_text() == "<h1>v2</h1>"
    assert target.live_manifest("liege") == make_build("v2", "a").manifest()
    third = target.publish(make_build("v2", "b")).release  # new lists
    assert third is not None and lists.resolve() != folder and not folder.exists()
    assert (lists / "segments" / "volunteers.csv").read_bytes() == b"b"
    assert sorted(p.name for p in lists.resolve().parent.iterdir()) == [lists.resolve().name]
