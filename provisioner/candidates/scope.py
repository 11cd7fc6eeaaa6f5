"""A candidate's change may only touch their own folder, `nations/<slug>/`.

Run on a pull request (`provisioner check --owner SLUG --diff origin/main`): every path
changed since REV, plus untracked files, must be under the candidate's folder, so one
candidate can never alter another's site, a blueprint or nations.yaml.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from provisioner.candidates.problems import Problem
from provisioner.errors import InputError


def scope_problems(nations_dir: Path, slug: str, rev: str) -> list[Problem]:
    """One problem per path changed since `rev` (or untracked) outside `nations/<slug>/`."""
    top = Path(_git(nations_dir, "rev-parse", "--show-toplevel").strip())
    own = (nations_dir / slug).resolve()
    try:
        allowed = own.relative_to(top.resolve()).as_posix() + "/"
    except ValueError as exc:
        raise InputError(f"{own} is not inside the git repository {top}") from exc
    changed = _paths(_git(top, "diff", "--name-only", "--no-renames", "-z", rev, "--"))
    changed |= _paths(_git(top, "ls-files", "--others", "--exclude-standard", "-z"))
    problems = []
    for path in sorted(changed):
        if not path.startswith(allowed):
            message = f"outside {allowed}: a candidate's change may only touch their own folder"
            problems.append(Problem(path, None, message))
        elif (top / path).is_symlink():
            problems.append(Problem(path, None, "symbolic links are not allowed"))
    return problems


def _paths(output: str) -> set[str]:
    return {path for path in output.split("\0") if path}


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
        )
    except FileNotFoundError as exc:
        raise InputError("git is not installed; the scope check needs it") from exc
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
        raise InputError(f"git {' '.join(args[:2])}: {detail}")
    return done.stdout
