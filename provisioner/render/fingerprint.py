"""Fingerprints: one hash over a nation's named inputs, so a build runs only when one moved.

Kept apart from the template context on purpose: what decides a rebuild is listed here
explicitly (the spec entry, the network, the blueprint, the nation's own files, its
supporters), not whatever the templates happen to be given.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from pydantic import BaseModel

from provisioner.spec.network import Nation, Network


def fingerprint(inputs: Mapping[str, Any]) -> str:
    """sha256 of `inputs` (JSON-serialisable, keys sorted)."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def spec_inputs(network: Network, nation: Nation) -> dict[str, Any]:
    """What a nation's outputs take from nations.yaml: its resolved entry (not its line:
    moving an entry changes nothing) and the names and domains of the nations it links to."""
    own = {f.name: _plain(getattr(nation, f.name)) for f in fields(nation) if f.name != "line"}
    related = [nation.parent] if nation.parent else []
    links = {
        slug: [network.nations[slug].name, network.nations[slug].domain]
        for slug in (*related, *nation.children)
    }
    return {"nation": own, "links": links, "network": network.info.model_dump(mode="json")}


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, tuple):
        return list(value)
    return value
