"""The Lambda package (scripts/intake_package.py): unpacked, with only the declared
dependencies importable, its handler answers an API Gateway event against moto."""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cloud_mocks import REPO  # first: puts infra/ on sys.path
from horizon_infra.intake import HANDLER
from intake_cloud import (  # noqa: F401
    BASE,
    CREDENTIALS,
    HASH_KEY,
    SECRET,
    client,
    create_table,
    event,
    moto,
    pledge_form,
    write_network,
)
from s3_support import MotoServer

sys.path.insert(0, str(REPO / "scripts"))
import intake_package

# Run in the unpacked package, as Lambda would: `handler` from the handler path the
# stack configures, every import outside the standard library and the declared
# dependencies refused.
RUNNER = """
import importlib, json, sys
allowed = set(json.loads(sys.argv[1]))
class Refuse:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in sys.stdlib_module_names or top in allowed or top.startswith("_"):
            return None
        raise ImportError(f"{name} is not in the Lambda package")
sys.meta_path.insert(0, Refuse())
module, _, function = sys.argv[2].rpartition(".")
handler = getattr(importlib.import_module(module), function)
print(json.dumps({"file": sys.modules["provisioner"].__file__,
                  "answer": handler(json.loads(sys.argv[3]), None)}))
"""


def declared_modules() -> set[str]:
    """Top-level modules of the package's requirements and everything they require."""
    owners = metadata.packages_distributions()
    todo, seen = [name for name in intake_package.REQUIREMENTS], set()
    while todo:
        name = re.split(r"[<>=!~;\[ ]", todo.pop())[0].lower()
        if name in seen:
            continue
        seen.add(name)
        for requirement in metadata.requires(name) or []:
            if "extra ==" not in requirement:
                todo.append(requirement)
    return {module for module, dists in owners.items() if seen & {d.lower() for d in dists}}


def test_package_holds_code_and_network_and_its_handler_runs(
    tmp_path: Path,
    moto: MotoServer,  # noqa: F811
) -> None:
    out = write_network(tmp_path / "build")
    package = tmp_path / "intake.zip"
    assert intake_package.main(["--out", str(out), "--zip", str(package), "--no-dependencies"]) == 0
    names = zipfile.ZipFile(package).namelist()
    assert "provisioner/intake/lambda_handler.py" in names
    assert "network/sites/marie-dubois/nation.json" in names
    assert "network/emails/liege/fr/confirm.json" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/")]

    unpacked = tmp_path / "task"
    zipfile.ZipFile(package).extractall(unpacked)
    client(moto, "sesv2").create_email_identity(EmailIdentity=BASE)
    env = {**os.environ, **CREDENTIALS, "PYTHONPATH": str(unpacked)}
    env |= {"INTAKE_TABLE": create_table(moto), "INTAKE_SENDER": f"no-reply@{BASE}"}
    env |= {"INTAKE_ORIGIN_SECRET": SECRET, "INTAKE_HASH_KEY": HASH_KEY}
    env |= {"INTAKE_ENDPOINT_URL": moto.url}
    env.pop("INTAKE_BUNDLE", None)  # the package's own network/ folder
    allowed = sorted(declared_modules() | {"provisioner"})
    request = json.dumps(event("POST", "/api/pledge", pledge_form()))
    run = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(allowed), HANDLER, request],
        cwd=unpacked,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert Path(result["file"]).is_relative_to(unpacked)  # not the checkout's copy
    assert result["answer"]["statusCode"] == 303
    assert result["answer"]["headers"]["Location"] == "/fr/merci.html"


def test_same_network_gives_the_same_zip(tmp_path: Path) -> None:
    out = write_network(tmp_path / "build")
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    for target in (first, second):
        assert (
            intake_package.main(["--out", str(out), "--zip", str(target), "--no-dependencies"]) == 0
        )
    assert first.read_bytes() == second.read_bytes()  # Pulumi sees no change


def test_nothing_deployed_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "intake.zip"
    assert intake_package.main(["--out", str(tmp_path / "none"), "--zip", str(target)]) == 2
    assert "run `make deploy` first" in capsys.readouterr().err
    assert not target.exists()


def test_requirements_are_pinned_runtime_dependencies() -> None:
    pins = intake_package.pinned(intake_package.REQUIREMENTS)
    assert [p.split("==")[0] for p in pins] == list(intake_package.REQUIREMENTS)
    assert all(re.fullmatch(r"[a-z0-9-]+==[0-9.]+", p) for p in pins)
