"""Pulumi entry point: the Horizon network's buckets, CDN, DNS, email and access."""

import pulumi
from horizon_infra.program import build
from horizon_infra.settings import InfraSettings

from provisioner.spec.load import load_network

settings = InfraSettings.from_config()
network = load_network(settings.spec)  # validated exactly as `provisioner deploy` does
for key, value in build(network, settings).items():
    pulumi.export(key, value)
