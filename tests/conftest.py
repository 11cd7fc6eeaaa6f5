import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import pytest

if TYPE_CHECKING:
    from s3_support import MotoServer, Proxy

sys.path.insert(0, str(Path(__file__).parent))

MEMORY_SCRATCH = Path("/dev/shm")
MEMORY_SCRATCH_MIN_FREE = 4 * 2**30  # the suite's scratch peaks near 0.5 GB


def scratch_in_memory() -> None:
    """Put the tests' scratch space (tmp_path, and every tempfile of the CLIs they run)
    on a tmpfs when the machine has one with room, unless TMPDIR says otherwise.

    The suite deploys networks thousands of times over, and creating a file on the
    development VM's ext4 costs ~0.5 ms of system time soon after many were deleted
    (scripts/bench.py, `discard`): 10 s of a 25 s end-to-end module, against 1.5 s
    on a tmpfs. The files stay real files; only the disk under them changes.
    """
    if "TMPDIR" in os.environ or not _is_tmpfs(MEMORY_SCRATCH):
        return
    stats = os.statvfs(MEMORY_SCRATCH)
    if stats.f_bavail * stats.f_frsize < MEMORY_SCRATCH_MIN_FREE:
        return
    scratch = MEMORY_SCRATCH / f"provisioner-tests-{os.getuid()}"
    scratch.mkdir(mode=0o700, exist_ok=True)
    os.environ["TMPDIR"] = str(scratch)  # xdist's workers and the CLIs inherit it
    tempfile.tempdir = None  # computed again from TMPDIR


def _is_tmpfs(path: Path) -> bool:
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return False
    return any(line.split()[1:3] == [str(path), "tmpfs"] for line in mounts)


scratch_in_memory()

# In CI everything a test needs is installed (.ci/run: chromium, node), so a skip can
# only mean a test silently stopped running: there it is a failure.
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> Iterator[None]:
    """Group each module's tests for xdist, then put the slow ones first.

    Under `--dist loadgroup` (pyproject's addopts) a module is one unit of work: its
    module-scoped fixtures (a deployed network, a browser, a moto server) are set up once
    per run, not once on each worker that happens to get one of its tests. A module
    marked `spread` gives that up: each of its tests has its own server and goes to
    whichever worker is free. Tests marked `slow` (the sample network's deploys) start
    first, so that no worker picks up a minute-long test while the other one has
    finished everything else.
    """
    # Collection happens on xdist's workers, where `dist` has already been reset to "no"
    # and the controller's choice kept as `loadgroup` (xdist/remote.py, setup_config).
    grouping = config.getoption("dist", None) == "loadgroup" or bool(
        getattr(config.option, "loadgroup", False)
    )
    groups: dict[pytest.Item, str] = {}
    if grouping:
        for item in items:
            if item.get_closest_marker("spread") is None and item.module is not None:
                groups[item] = item.module.__name__
                item.add_marker(pytest.mark.xdist_group(groups[item]))
    yield  # xdist names each test's group; pytest orders tests by their fixtures
    for item, group in groups.items():
        name_in_nodeid(item, group)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable


def name_in_nodeid(item: pytest.Item, group: str) -> None:
    """Suffix the test's id with `@group`, which is how xdist's scheduler sees a group.

    xdist 3.8 does it by assigning `item._nodeid`, which pytest 9 no longer reads (a
    node's id is `item._id`): without this, no module was ever one unit of work, and a
    module fixture was set up on both workers, each deploying the same network.
    """
    if item.nodeid.endswith(f"@{group}"):
        return  # an xdist that names groups itself
    from _pytest.nodeid import NodeId

    item._id = NodeId.parse(f"{item.nodeid}@{group}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (CI={os.environ['CI']}), which must run it: {reason}"


# A real S3/SES endpoint (moto's server on loopback) and a counting proxy in front of it,
# one per test module that asks for them.
# s3_support is imported inside: test_ci_skips runs this conftest in a bare folder.
@pytest.fixture(scope="module")
def moto() -> Iterator["MotoServer"]:
    from s3_support import MotoServer

    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxy(moto: "MotoServer") -> Iterator["Proxy"]:
    from s3_support import Proxy

    counting = Proxy(moto.port)
    yield counting
    counting.stop()


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names templates are compiled under (see render/codenames.py), in order."""
    seen: list[str] = []
    original = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: Any, name: Any = None, *a: Any, **k: Any) -> Any:
        seen.append(str(name))
        return original(self, source, name, *a, **k)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return seen
