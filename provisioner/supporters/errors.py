"""Errors of the supporters package; every message is ready to show a user."""

from __future__ import annotations

from provisioner.errors import InputError


class SupporterFileError(InputError):
    """A supporter or do-not-contact file is missing, unreadable or not a usable CSV.

    The whole run stops (exit 2): nothing can be exported safely without the file.
    The message names the file and says how to fix it.
    """


class SupporterConfigError(InputError):
    """The network or a blueprint asks for something the supporters package cannot do.

    For example an unknown segment or dialer name in a manifest, or two unrelated
    nations claiming the same postcode. The message names the culprit and the fix.
    """
