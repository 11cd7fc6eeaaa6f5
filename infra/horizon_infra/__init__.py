"""Pulumi components for the Horizon network (see program.py for the whole picture)."""
