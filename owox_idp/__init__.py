"""owox-idp: administer a Better Auth identity database directly.

    from owox_idp import Admin

See docs/python-api.md. `Admin` is imported on first use, so that `idp --help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Admin", "__version__"]

if TYPE_CHECKING:
    from owox_idp.api import Admin


def __getattr__(name: str) -> Any:
    if name == "Admin":
        from owox_idp.api import Admin

        return Admin
    raise AttributeError(f"module 'owox_idp' has no attribute {name!r}")
