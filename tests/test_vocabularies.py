"""Closed vocabularies are typed as their values (Literal), not `str`, so that mypy --strict catches a
misspelt action, mode or flavor; and each Literal holds exactly the values the code uses."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Literal, get_args, get_origin

import pytest

from owox_idp.flavors import FLAVORS

CASES = [
    ("owox_idp.services.importing", "RowResult", "action", {"created", "updated", "skipped", "failed"}),
    ("owox_idp.services.importing", "ImportOptions", "mode", {"create", "if-missing", "update"}),
    ("owox_idp.services.users", "BootstrapResult", "action", {"created", "link-issued", "unchanged"}),
    ("owox_idp.config", "Settings", "flavor", set(FLAVORS)),
    ("owox_idp.repository.users", "UserFilter", "sort", {"created", "email", "name"}),
    (
        "owox_idp.services.checkuser",
        "Obstacle",
        "code",
        {
            "banned",
            "no-way-in",
            "two-factor-locked",
            "two-factor-unreadable",
            "two-factor-unverified",
            "no-role",
            "email-unverified",
        },
    ),
]


@pytest.mark.parametrize(("module", "cls", "name", "values"), CASES, ids=[f"{c[1]}.{c[2]}" for c in CASES])
def test_a_closed_vocabulary_is_a_literal(module: str, cls: str, name: str, values: set[str]) -> None:
    """Regression: RowResult.action, ImportOptions.mode, BootstrapResult.action and Settings.flavor were
    `str` (issue 9); UserFilter.sort and Obstacle.code likewise until this test."""
    mod = importlib.import_module(module)
    field = next(f for f in dataclasses.fields(getattr(mod, cls)) if f.name == name)
    annotation = eval(field.type, vars(mod)) if isinstance(field.type, str) else field.type
    assert get_origin(annotation) is Literal, f"{cls}.{name} is {field.type}"
    assert set(get_args(annotation)) == values


def test_the_sorts_list_users_offers_are_the_literal() -> None:
    from owox_idp.services.users import SORTS

    assert SORTS == ("created", "email", "name")
