"""A small IAM policy evaluator, for the policies the Pulumi program generates.

Enough of IAM's logic to answer "may this caller do this action on this resource":
explicit Deny wins, then any Allow; Action and Resource wildcards (`*`, `?`); policy
variables (`${aws:PrincipalTag/nation}`) filled from the request context, a statement
with an unknown variable matching nothing; the condition operators our policies use
(StringEquals, StringLike, Null, Bool, ForAllValues:StringEquals); trust policies with
AWS principals, where `arn:aws:iam::<account>:root` stands for any principal of it.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any

Context = dict[str, str | list[str]]
_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class Unresolved(Exception):
    """A policy variable the context does not have: the statement matches nothing."""


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _fill(text: str, context: Context) -> str:
    def value(match: re.Match[str]) -> str:
        found = context.get(match.group(1))
        if not isinstance(found, str):
            raise Unresolved(match.group(1))
        return found

    return _VARIABLE.sub(value, text)


def _glob(pattern: str, value: str) -> bool:
    return fnmatchcase(value, pattern.replace("[", "[[]"))


def _condition(operator: str, key: str, expected: Any, context: Context) -> bool:
    wanted = [_fill(str(v), context) for v in _listed(expected)]
    present = context.get(key)
    if operator == "Null":
        return (present is None) == (wanted[0] == "true")
    if operator.startswith("ForAllValues:"):
        return all(v in wanted for v in _listed(present or []))
    if present is None:
        return False
    values = _listed(present)
    if operator == "StringEquals":
        return any(v in wanted for v in values)
    if operator == "StringLike":
        return any(_glob(w, v) for w in wanted for v in values)
    if operator == "Bool":
        return any(v.lower() in [w.lower() for w in wanted] for v in values)
    raise NotImplementedError(f"condition operator {operator}")


def _conditions_hold(statement: dict[str, Any], context: Context) -> bool:
    for operator, pairs in statement.get("Condition", {}).items():
        for key, expected in pairs.items():
            if not _condition(operator, key, expected, context):
                return False
    return True


def _matches(statement: dict[str, Any], action: str, resource: str, context: Context) -> bool:
    try:
        actions = _listed(statement["Action"])
        resources = [_fill(r, context) for r in _listed(statement.get("Resource", "*"))]
        return (
            any(_glob(a.lower(), action.lower()) for a in actions)
            and any(_glob(r, resource) for r in resources)
            and _conditions_hold(statement, context)
        )
    except Unresolved:
        return False


def allowed(
    policies: list[dict[str, Any]], action: str, resource: str, context: Context | None = None
) -> bool:
    """Identity policies: may the holder do `action` on `resource`?"""
    context = context or {}
    statements = [s for p in policies for s in p["Statement"]]
    hits = [s for s in statements if _matches(s, action, resource, context)]
    return (
        bool(hits)
        and all(s["Effect"] != "Deny" for s in hits)
        and any(s["Effect"] == "Allow" for s in hits)
    )


def _principal_matches(principal: Any, caller: str) -> bool:
    if principal == "*":
        return True
    for arn in _listed(principal.get("AWS", [])):
        if arn == caller or arn == "*":
            return True
        account = re.fullmatch(r"arn:aws:iam::(\d+):root", arn)
        if account and caller.startswith(f"arn:aws:iam::{account.group(1)}:"):
            return True
    return False


def may_assume(trust: dict[str, Any], caller: str, context: Context | None = None) -> bool:
    """Trust policy: may `caller` (with these principal and request tags) assume the role?"""
    context = context or {}
    actions = ["sts:AssumeRole"] + (
        ["sts:TagSession"] if any(k.startswith("aws:RequestTag/") for k in context) else []
    )
    for action in actions:
        hits = [
            s
            for s in trust["Statement"]
            if _principal_matches(s.get("Principal", {}), caller)
            and _matches({**s, "Resource": "*"}, action, "*", context)
        ]
        if not hits or any(s["Effect"] == "Deny" for s in hits):
            return False
    return True
