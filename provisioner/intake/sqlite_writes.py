"""The writes of the SQLite store, each run by the group-commit writer in a transaction.

Each function takes the writer's connection; none commits (the writer does, once per
batch). Tokens are matched by their SHA-256; see store.py for the contract.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from provisioner.intake.model import DoNotContact, TokenResult

COLUMNS = (
    "id, kind, nation, routed_to, lang, source, first_name, last_name, email, phone, "
    "postcode, tags, message, consents, client_hash, created_at, state, confirmed_at, "
    "unsubscribed_at"
)
STATE_RANK = {"pending": 0, "confirmed": 1, "unsubscribed": 2}


def insert(conn: sqlite3.Connection, row: tuple[Any, ...], unsubscribe_hash: str) -> None:
    marks = ", ".join("?" * (len(row) + 1))
    conn.execute(
        f"INSERT INTO submissions ({COLUMNS}, confirm_hash, confirm_expires_at, "
        f"unsubscribe_hash) VALUES ({marks})",
        (*row, unsubscribe_hash),
    )


def _bump(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'")


def _result(conn: sqlite3.Connection, where: str, value: str) -> TokenResult | None:
    found = conn.execute(
        f"SELECT id, nation, lang, kind, state FROM submissions WHERE {where} = ?", (value,)
    ).fetchone()
    return TokenResult(*found) if found else None


def confirm(conn: sqlite3.Connection, confirm_hash: str, now: str) -> TokenResult | None:
    # Single use: the hash is cleared as the submission is confirmed.
    found = conn.execute(
        "SELECT id, email FROM submissions WHERE confirm_hash = ? AND state = 'pending' "
        "AND confirm_expires_at > ?",
        (confirm_hash, now),
    ).fetchone()
    if found is None:
        return None
    submission_id, email = found
    conn.execute(
        "UPDATE submissions SET state = 'confirmed', confirmed_at = ?, confirm_hash = NULL "
        "WHERE id = ?",
        (now, submission_id),
    )
    # Confirming proves the address is theirs and is a new consent: it lifts an earlier
    # unsubscribe of that address (never of a phone, which the link does not prove).
    conn.execute("DELETE FROM do_not_contact WHERE contact = ? AND channel = 'email'", (email,))
    _bump(conn)
    return _result(conn, "id", submission_id)


def unsubscribe(conn: sqlite3.Connection, unsubscribe_hash: str, now: str) -> TokenResult | None:
    found = conn.execute(
        "SELECT email, phone FROM submissions WHERE unsubscribe_hash = ?", (unsubscribe_hash,)
    ).fetchone()
    if found is None:
        return None
    email, phone = found
    for contact, channel in ((email, "email"), (phone, "phone")):
        if contact:
            conn.execute(
                "INSERT OR IGNORE INTO do_not_contact VALUES (?, ?, ?)", (contact, channel, now)
            )
    # Every submission of the person: one unsubscribe covers all their sign-ups.
    conn.execute(
        "UPDATE submissions SET state = 'unsubscribed', unsubscribed_at = ?, "
        "confirm_hash = NULL WHERE state != 'unsubscribed' AND "
        "(unsubscribe_hash = ? OR (email != '' AND email = ?) OR (phone != '' AND phone = ?))",
        (now, unsubscribe_hash, email, phone),
    )
    _bump(conn)
    return _result(conn, "unsubscribe_hash", unsubscribe_hash)


def erase(conn: sqlite3.Connection, email: str, phone: str) -> int:
    if not email and not phone:
        return 0
    cursor = conn.execute(
        "DELETE FROM submissions WHERE (? != '' AND email = ?) OR (? != '' AND phone = ?)",
        (email, email, phone, phone),
    )
    _bump(conn)
    return cursor.rowcount


def absorb(conn: sqlite3.Connection, rows: list[tuple[Any, ...]], dnc: DoNotContact) -> int:
    changed = 0
    for row in rows:
        known = conn.execute("SELECT state FROM submissions WHERE id = ?", (row[0],)).fetchone()
        if known is None:
            _insert_absorbed(conn, row)
            changed += 1
        elif STATE_RANK[row[16]] > STATE_RANK[known[0]]:
            conn.execute(
                "UPDATE submissions SET state = ?, confirmed_at = ?, unsubscribed_at = ? "
                "WHERE id = ?",
                (row[16], row[17], row[18], row[0]),
            )
            changed += 1
    for contacts, channel in ((dnc.emails, "email"), (dnc.phones, "phone")):
        conn.executemany(
            "INSERT OR IGNORE INTO do_not_contact VALUES (?, ?, '')",
            [(contact, channel) for contact in sorted(contacts)],
        )
    _bump(conn)
    return changed


def _insert_absorbed(conn: sqlite3.Connection, row: tuple[Any, ...]) -> None:
    marks = ", ".join("?" * len(row))
    conn.execute(f"INSERT INTO submissions ({COLUMNS}) VALUES ({marks})", row)
