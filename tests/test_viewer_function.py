"""The CloudFront viewer-request function, run by node with a stub KeyValueStore."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cloud_mocks import REPO  # noqa: F401 - first: puts infra/ on sys.path
from horizon_infra.cdn import function_code

FUNCTION_HARNESS = """
const store = new Map(Object.entries(JSON.parse(process.argv[2])));
async function get(key) {
  if (!store.has(key)) throw new Error('key not found');
  return store.get(key);
}
const cf = {kvs: () => ({get})};
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs the CloudFront function")
@pytest.mark.parametrize(
    ("host", "uri", "expected"),
    [
        ("liege.horizon.example", "/", "/sites/liege/r1/index.html"),
        ("LIEGE.horizon.example", "/fr/agir.html", "/sites/liege/r1/fr/agir.html"),
        ("www.horizon.example", "/nl", "/sites/hq/r2/nl/index.html"),
        ("marie.example.org", "/assets/style.css", "/sites/liege/r1/assets/style.css"),
        ("nobody.horizon.example", "/", 404),
        ("a.b.horizon.example", "/", 404),
        ("evil.example.com", "/", 404),
        ("liege.horizon.example", "/fr/..html", "/sites/liege/r1/fr/..html"),  # a name
        ("liege.horizon.example", "/.well-known/x.txt", "/sites/liege/r1/.well-known/x.txt"),
        # Hostile: anything that could climb out of the nation's release prefix.
        ("liege.horizon.example", "/../hq/r2/index.html", 400),
        ("liege.horizon.example", "/fr/../../namur/_current", 400),
        ("liege.horizon.example", "/%2e%2e/namur/index.html", 400),
        ("liege.horizon.example", "/%2E%2E/namur/index.html", 400),
        ("liege.horizon.example", "/.%2e/namur/", 400),
        ("liege.horizon.example", "/%252e%252e/namur/", 400),
        ("liege.horizon.example", "/fr/%2e%2e%2fnamur", 400),
        ("liege.horizon.example", "/fr/..%5cnamur", 400),
        ("liege.horizon.example", "/fr\\..\\namur", 400),
        ("liege.horizon.example", "/./index.html", 400),
        ("liege.horizon.example", "/fr/..", 400),
        ("liege.horizon.example", "/%00", 400),
        ("liege.horizon.example", "/%e0%a4%a", 400),  # malformed encoding
        ("liege.horizon.example", "relative", 400),
    ],
)
def test_viewer_function_routes_hosts_to_current_releases(
    host: str, uri: str, expected: Any, tmp_path: Path
) -> None:
    code = function_code("kvs-id", "horizon.example").replace(
        "import cf from 'cloudfront';", FUNCTION_HARNESS
    )
    event = {"request": {"uri": uri, "headers": {"host": {"value": host}}}}
    script = tmp_path / "fn.mjs"
    script.write_text(
        code + f"\nconsole.log(JSON.stringify(await handler({json.dumps(event)})));\n"
    )
    store = {
        "r:liege": "r1",
        "r:hq": "r2",
        "d:www.horizon.example": "hq",
        "d:marie.example.org": "liege",
    }
    done = subprocess.run(
        ["node", str(script), json.dumps(store)], capture_output=True, text=True, check=True
    )
    answer = json.loads(done.stdout)
    assert (answer.get("statusCode") or answer["uri"]) == expected
