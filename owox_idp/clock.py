"""The one place that reads the clock. Better Auth keeps millisecond precision (JavaScript Dates)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def now() -> datetime:
    current = datetime.now(UTC)
    return current.replace(microsecond=current.microsecond // 1000 * 1000)


def iso(value: datetime | None) -> str | None:
    """JavaScript's toISOString(): UTC, milliseconds, 'Z'. Also the --json timestamp format."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def after(seconds: int, *, start: datetime | None = None) -> datetime:
    return (start or now()) + timedelta(seconds=seconds)
