"""`make infra-preview` and `make infra-up`: the Pulumi CLI when present, advice when not."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def make(target: str, path: str, *variables: str) -> subprocess.CompletedProcess[str]:
    # -o: never rebuild the virtualenv from a test, whatever its stamp says.
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", target, *variables]
    return subprocess.run(command, cwd=REPO, env={"PATH": path}, capture_output=True, text=True)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("target", ["infra-preview", "infra-up"])
def test_make_targets_say_what_to_install_without_the_pulumi_cli(target: str) -> None:
    if shutil.which("pulumi", path="/usr/bin:/bin"):
        pytest.skip("a Pulumi CLI is installed system-wide")
    done = make(target, "/usr/bin:/bin")
    assert done.returncode != 0
    assert "the Pulumi CLI is not installed: nothing was previewed or deployed" in done.stderr
    assert "https://www.pulumi.com/docs/install/" in done.stderr
    assert "pulumi preview" not in done.stdout and "pulumi up" not in done.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_targets_call_the_pulumi_cli_when_present(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "pulumi"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$(pwd) $*" >> {tmp_path}/calls\necho "{{}}"\n')
    fake.chmod(0o755)
    stack = f"pytest-{uuid.uuid4().hex[:8]}"  # never touches a real stack's outputs file
    path = f"{fake.parent}:/usr/bin:/bin"
    out = tmp_path / "build"
    out.mkdir()
    (out / "intake-lambda.zip").write_bytes(b"PK")  # what make intake-package writes
    assert make("infra-preview", path, f"STACK={stack}", f"OUT={out}").returncode == 0
    done = make("infra-up", path, f"STACK={stack}", f"OUT={out}")
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    infra = REPO / "infra"
    assert calls == [
        f"{infra} preview --stack {stack} --diff",
        f"{infra} up --stack {stack} --parallel 5",
        f"{infra} stack output --stack {stack} --json",
    ]
    outputs = infra / f"stack-outputs.{stack}.json"
    assert outputs.read_text().strip() == "{}"
    outputs.unlink()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("target", ["infra-preview", "infra-up"])
def test_make_targets_want_the_intake_package_first(target: str, tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "pulumi"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\necho called >> {tmp_path}/calls\n")
    fake.chmod(0o755)
    done = make(target, f"{fake.parent}:/usr/bin:/bin", f"OUT={tmp_path / 'none'}")
    assert done.returncode != 0
    assert "intake-lambda.zip is missing: run make deploy && make intake-package" in done.stderr
    assert not (tmp_path / "calls").exists()  # Pulumi never ran
