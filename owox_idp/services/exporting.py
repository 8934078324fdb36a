"""`idp export`: every user, streamed in constant memory.

It pages through `user` by primary key (keyset, never OFFSET), one short read transaction per page, so
neither memory nor lock time grows with the table.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from owox_idp.services.reading import EXPORT_COLUMNS, FORMATS

if TYPE_CHECKING:
    from owox_idp.context import Env
    from owox_idp.models import User

__all__ = ["EXPORT_COLUMNS", "EXPORT_PAGE", "FORMATS", "export_record", "export_users"]

EXPORT_PAGE = 1000


def export_record(user: User) -> dict[str, Any]:
    """The fields `idp export` writes for a user (the keys of `idp list-users --json`)."""
    return user.record()


def export_users(
    env: Env, *, role: str | None = None, page_size: int = EXPORT_PAGE
) -> Generator[User, None, None]:
    """Every user (with `role`, only those), in primary-key order, one keyset page at a time: memory and
    lock time stay constant whatever the size of the table."""
    if role is not None:
        role = env.deployment.normalize_role(role)
    try:
        after: str | None = None
        while True:
            with env.store(write=False) as store:
                page = store.users.after_id(after, limit=page_size, role=role)
            yield from page
            if len(page) < page_size:
                return
            after = page[-1].id
    finally:
        env.close()
