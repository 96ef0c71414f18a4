"""Reference data of the registry: the agency types (cơ quan chuyên môn) a unit may be, from ``agency_types.csv``.

Duties name their receivers and named reporters by agency type ("Sở Nội vụ", "Phòng Kinh tế"), never by a unit's
name; a unit registered with that type is the one meant within the duty's subtree.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class AgencyType:
    """One kind of specialised agency of a province or a commune."""

    code: str
    name_vi: str
    level: str
    legal_basis: str
    verification: str
    note: str


@cache
def agency_types() -> dict[str, AgencyType]:
    """The packaged list, by code."""
    text = resources.files("services.registry").joinpath("agency_types.csv").read_text(encoding="utf-8")
    if not unicodedata.is_normalized("NFC", text):
        raise ValueError("agency_types.csv is not NFC")
    rows = csv.DictReader(io.StringIO(text))
    return {r["code"]: AgencyType(**r) for r in rows}
