"""Where the domain's aware datetimes meet the columns: unix seconds and UTC ISO text."""

from __future__ import annotations

from datetime import UTC, datetime


def unix(value: datetime) -> int:
    """Whole unix seconds; a naive datetime is a bug (whose clock would it be?)."""
    if value.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return int(value.timestamp())


def from_unix(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def iso(value: datetime) -> str:
    """The ISO text the residents' and directory tables keep (UTC, whole seconds)."""
    if value.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(text: str) -> datetime:
    """Stored ISO text as an aware datetime (UTC if the text carries no offset)."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
