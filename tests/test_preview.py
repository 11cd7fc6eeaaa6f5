"""`preview` serves a nation on 127.0.0.1 and reloads it after every edit."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import build_file_tree, mini_blueprints, nation, write_spec

from provisioner.candidates.preview import PreviewServer, inject
from provisioner.run.deploy import Project

HOME = "nations/liege/overrides/pages/home.html.j2"
DEADLINE_S = 15  # file watching is asynchronous; generous for loaded CI machines


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.chdir(tmp_path)
    mini_blueprints(tmp_path)
    build_file_tree(tmp_path, {HOME: "{% block intro %}<p>first</p>{% endblock %}"})
    return Project(spec=write_spec(tmp_path, [nation("hq"), nation("liege", "hq")]))


@pytest.fixture
def server(project: Project) -> Iterator[PreviewServer]:
    with PreviewServer(project, "liege") as running:
        yield running


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def version(server: PreviewServer) -> int:
    return json.loads(get(server.url + "__reload")[1])["version"]


def edit_until_rebuilt(server: PreviewServer, edit: Callable[[], None]) -> None:
    """Apply `edit` (again, in case the watcher was not yet watching) until a rebuild."""
    before = version(server)
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        edit()
        for _ in range(10):
            time.sleep(0.1)
            if version(server) != before:
                return
    pytest.fail(f"no rebuild within {DEADLINE_S}s")


def write(project: Project, text: str) -> Callable[[], None]:
    return lambda: (project.root / HOME).write_text(text)


def test_serves_on_loopback_with_the_reload_script(server: PreviewServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    status, page = get(server.url + "fr/index.html")
    assert status == 200 and "<p>first</p>" in page
    assert page.index('fetch("/__reload"') < page.index("</body>")
    assert get(server.url)[1] == get(server.url + "index.html")[1]
    assert get(server.url + "assets/style.css")[1] == "body { color: #222; }\n"
    assert get(server.url + "nope.html")[0] == 404


def test_an_edit_rebuilds_and_changes_the_page(project: Project, server: PreviewServer) -> None:
    edit_until_rebuilt(server, write(project, "{% block intro %}<p>second</p>{% endblock %}"))
    assert "<p>second</p>" in get(server.url + "fr/index.html")[1]


def test_a_template_error_is_shown_in_the_page_then_fixed(
    project: Project, server: PreviewServer
) -> None:
    edit_until_rebuilt(server, write(project, "{% block intro %}\n{{ nope }}\n{% endblock %}"))
    status, page = get(server.url + "fr/index.html")
    assert status == 500
    assert f"{HOME}:2: undefined value: &#x27;nope&#x27; is undefined" in page
    assert 'fetch("/__reload"' in page  # so fixing the file reloads the page by itself
    edit_until_rebuilt(server, write(project, "{% block intro %}<p>fixed</p>{% endblock %}"))
    assert get(server.url + "fr/index.html")[0] == 200


def test_a_blueprint_edit_also_rebuilds(project: Project, server: PreviewServer) -> None:
    layout = project.blueprints_dir / "section/templates/pages/agir.html.j2"
    edit_until_rebuilt(
        server, lambda: layout.write_text(layout.read_text().replace("agir", "AGIR"))
    )
    assert "AGIR" in get(server.url + "fr/agir.html")[1]


def test_stop_closes_the_port(project: Project) -> None:
    running = PreviewServer(project, "liege")
    running.start()
    url = running.url
    running.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)


def test_inject_goes_before_the_last_body_end() -> None:
    assert inject(b"<body>a</body></html>", b"<s>") == b"<body>a<s></body></html>"
    assert inject(b"plain", b"<s>") == b"plain<s>"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_preview_command_answers_then_stops(project: Project) -> None:
    port = free_port()
    command = [sys.executable, "-m", "provisioner", "preview", "liege", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once the server answers
        assert line.startswith(f"liege: http://127.0.0.1:{port}/"), line
        assert "<p>first</p>" in get(f"http://127.0.0.1:{port}/fr/index.html")[1]
    finally:
        process.send_signal(2)  # Ctrl-C
        process.wait(timeout=10)
    assert process.returncode == 0


def test_unknown_nation_is_refused_before_serving(project: Project) -> None:
    from provisioner.errors import InputError

    with pytest.raises(InputError, match="'nobody' is not a nation"):
        PreviewServer(project, "nobody").start()
