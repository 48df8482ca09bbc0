"""Single-use invite codes shared by doctors' account links and children's second guardians:
the alphabet, how a typed code is normalised, and the hash that is all we store."""

from __future__ import annotations

import hashlib
import secrets

# No 0/O, 1/I/L: codes are read aloud, copied from a printout or typed by hand.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def normalize(code: str) -> str:
    """Upper case, letters and digits only: "abcde fghjk" and "ABCDE-FGHJK" are one code."""
    return "".join(c for c in code.upper() if c.isalnum())


def hash_code(code: str) -> str:
    """The stored form of a code (a code is never stored in the clear)."""
    return hashlib.sha256(normalize(code).encode()).hexdigest()


def new_code(length: int, group: int = 0) -> str:
    """A random code of `length` characters; with `group`, a dash every `group` characters
    (easier to read aloud). The dashes are dropped again by `normalize`."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(length))
    if not group:
        return raw
    return "-".join(raw[i : i + group] for i in range(0, length, group))
