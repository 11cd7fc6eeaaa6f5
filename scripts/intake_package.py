"""Build the cloud intake's Lambda package: `make intake-package` (after `make deploy`).

The zip holds what the function runs and reads:

    provisioner/                  the project's code (the same core as `serve`)
    yaml/, phonenumbers/, ...     its runtime dependencies, for Lambda's platform
    network/sites/<slug>/nation.json        every nation's pages, hosts, consent texts
    network/emails/<slug>/<lang>/*.json     its rendered email templates

The Pulumi program (infra/horizon_infra/intake.py) uploads it (`horizon:intakePackage`,
default build/intake-lambda.zip). Run it again, then `make infra-up`, when nations or
their emails change. The zip is reproducible (sorted entries, fixed times), so an
unchanged network gives the same bytes and Pulumi updates nothing.

Exit codes: 0 written, 2 nothing deployed to package or pip failed (nothing written).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What the intake imports at run time, by distribution name (versions: pyproject.toml).
REQUIREMENTS = ("pyyaml", "phonenumbers", "langcodes", "boto3")
# Lambda: python3.12 on arm64 (infra/horizon_infra/intake.py).
PLATFORM, PYTHON = "manylinux2014_aarch64", "3.12"
FIXED_TIME = (2026, 1, 1, 0, 0, 0)


def pinned(names: tuple[str, ...]) -> list[str]:
    """`name==version` for each name, as pyproject.toml pins it."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    pins = {spec.split("==")[0].lower(): spec for spec in project["dependencies"]}
    return [pins[name] for name in names]


def network_files(out: Path) -> dict[str, bytes]:
    """Archive name -> bytes of every nation.json and email template of a deploy."""
    files: dict[str, bytes] = {}
    for path in sorted((out / "sites").glob("*/nation.json")):
        if not path.parent.name.startswith("."):
            files[f"network/sites/{path.parent.name}/nation.json"] = path.read_bytes()
    emails = out / "emails"
    for path in sorted(emails.glob("*/*/*.json")):
        files[f"network/emails/{path.relative_to(emails).as_posix()}"] = path.read_bytes()
    return files


def code_files() -> dict[str, bytes]:
    package = REPO / "provisioner"
    return {
        f"provisioner/{p.relative_to(package).as_posix()}": p.read_bytes()
        for p in sorted(package.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def dependency_files(target: Path) -> dict[str, bytes]:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile"]
    command += ["--target", str(target), "--platform", PLATFORM, "--python-version", PYTHON]
    command += ["--only-binary=:all:", "--implementation", "cp", *pinned(REQUIREMENTS)]
    subprocess.run(command, check=True)
    return {
        p.relative_to(target).as_posix(): p.read_bytes()
        for p in sorted(target.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def write_zip(files: dict[str, bytes], destination: Path) -> None:
    """Atomically: a half-written zip never replaces a good one."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            entry = zipfile.ZipInfo(name, FIXED_TIME)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, files[name])
    partial.replace(destination)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build"), help="the deploy's --out")
    parser.add_argument("--zip", type=Path, default=Path("build/intake-lambda.zip"))
    parser.add_argument(
        "--no-dependencies",
        action="store_true",
        help="code and network only (tests; Lambda needs the dependencies)",
    )
    args = parser.parse_args(argv)
    network = network_files(args.out)
    if not any(name.endswith("nation.json") for name in network):
        print(f"error: no {args.out}/sites/*/nation.json: run `make deploy` first", file=sys.stderr)
        return 2
    files = {**code_files(), **network}
    if not args.no_dependencies:
        with tempfile.TemporaryDirectory() as target:
            try:
                files |= dependency_files(Path(target))
            except subprocess.CalledProcessError as exc:
                print(f"error: pip could not fetch the dependencies ({exc})", file=sys.stderr)
                return 2
    write_zip(files, args.zip)
    nations = sum(name.endswith("nation.json") for name in network)
    print(f"wrote {args.zip}: {nations} nations, {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
