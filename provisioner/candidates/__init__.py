"""Candidates edit their own site: scaffold, site.yaml content, check, preview, scope.

Candidates are not programmers and must never break or read another nation's site, so
everything here reports problems as `file:line: message` they can act on.
"""
