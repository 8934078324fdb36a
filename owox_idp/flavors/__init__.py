"""The flavors, by name. `flavor_named` is the one place where a flavor is chosen: a new flavor is a
module beside these and one entry in `FLAVORS`."""

from __future__ import annotations

from owox_idp.errors import ConfigError
from owox_idp.flavors.base import BanOutcome, Flavor, FlavorName, UnbanOutcome
from owox_idp.flavors.better_auth import FLAVOR as _BETTER_AUTH
from owox_idp.flavors.better_auth_rs import FLAVOR as _BETTER_AUTH_RS
from owox_idp.flavors.owox import FLAVOR as _OWOX

__all__ = ["DEFAULT_FLAVOR", "FLAVORS", "BanOutcome", "Flavor", "FlavorName", "UnbanOutcome", "flavor_named"]

FLAVORS: dict[str, Flavor] = {flavor.name: flavor for flavor in (_OWOX, _BETTER_AUTH, _BETTER_AUTH_RS)}
DEFAULT_FLAVOR: FlavorName = "owox"  # IDP_FLAVOR unset


def flavor_named(name: str, *, source: str = "settings") -> Flavor:
    try:
        return FLAVORS[name]
    except KeyError:
        raise ConfigError(f"unknown flavor {name!r} from {source}: use {', '.join(FLAVORS)}") from None
