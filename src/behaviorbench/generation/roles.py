"""The roles the generator casts; imported conversations may use any role as free text."""

from typing import Literal, get_args

GeneratedRole = Literal[
    "attending",
    "resident",
    "intern",
    "nurse",
    "pharmacist",
    "patient",
    "family",
    "radiologist",
    "consultant",
    "student",
]
GENERATED_ROLES: tuple[str, ...] = get_args(GeneratedRole)
