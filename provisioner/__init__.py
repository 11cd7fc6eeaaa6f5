"""Provision a federated network of campaign sites from one declarative file."""

__version__ = "0.1.0"
