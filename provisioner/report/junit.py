"""JUnit XML of a run: one test case per nation, so CI shows failed nations natively.

Jenkins, GitLab and GitHub test reporters all read this format. A failed nation is a
`<failure>` with its error type, message and `file:line`; a skipped one (stopped by the
failure budget or a canary) is `<skipped>`. Test cases are grouped by parent nation
(`classname`), which CI tools display as a tree.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

# XML 1.0 cannot carry most control characters, even escaped; an error message quoting
# a binary file must not make the whole report unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
SKIPPED_MESSAGE = "not started: the failure budget or a failed canary stopped the run"


def junit_xml(report: dict[str, Any]) -> str:
    """The JUnit XML document of `report`."""
    summary = report["summary"]
    counts = {
        "tests": str(summary["total"]),
        "failures": str(summary["failed"]),
        "errors": "0",
        "skipped": str(summary["skipped"]),
        "time": f"{report['duration_s']:.3f}",
    }
    suites = ET.Element("testsuites", {"name": "provisioner", **counts})
    suite = ET.SubElement(
        suites,
        "testsuite",
        {
            "name": f"{report.get('command', 'deploy')} {report['target']}",
            "timestamp": report["started_at"],
            "id": report["run_id"],
            **counts,
        },
    )
    for nation in report["nations"]:
        suite.append(_test_case(nation))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(report: dict[str, Any], path: Path) -> Path:
    """Write the JUnit XML of `report` to `path` atomically; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(junit_xml(report), encoding="utf-8")
    os.replace(temp, path)
    return path


def _test_case(nation: dict[str, Any]) -> ET.Element:
    parent = nation.get("parent")
    case = ET.Element(
        "testcase",
        {
            "classname": f"nations.{parent}" if parent else "nations",
            "name": nation["slug"],
            "time": f"{nation['duration_s']:.3f}",
        },
    )
    if nation["status"] == "failed":
        error = nation.get("error") or {}
        message = _clean(str(error.get("message") or "failed"))
        location = error.get("location")
        failure = ET.SubElement(
            case,
            "failure",
            {"type": _clean(str(error.get("type") or "Error")), "message": message},
        )
        failure.text = f"{location}\n{message}" if location else message
    elif nation["status"] == "skipped":
        ET.SubElement(case, "skipped", {"message": SKIPPED_MESSAGE})
    else:
        out = ET.SubElement(case, "system-out")
        out.text = f"{nation['status']}: {nation.get('url') or ''}"
    return case


def _clean(text: str) -> str:
    return _NOT_XML.sub("?", text)
