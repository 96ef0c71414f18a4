"""Vietnam's administrative units after the 01/7/2025 reform: 34 provinces and 3,321 communes.

The data is the vendored CSV ``services/kernel/refdata/vn_admin_units_2025.csv`` (official codes of
QĐ 19/2025/QĐ-TTg; provenance and known caveats in ``refdata/SOURCE.md``), read once through
``importlib.resources`` and cached. Codes are zero-padded strings (2 digits for a province, 5 for a
commune) and are the only stable key: names are not unique, and a unit's type (e.g. Tỉnh -> Thành phố)
can change over time.

Each row is one *version* of a unit, valid on the half-open interval ``[valid_from, valid_to)``
(``valid_to`` empty = still valid). A type or name change is a new row with a new ``valid_from`` and the
old row closed by ``valid_to``; history is never edited. ``AdminUnitCatalog.active_on(day)`` gives the
snapshot for one day; other lookups use each code's latest version.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources

DATA_PACKAGE = "services.kernel.refdata"
DATA_FILE = "vn_admin_units_2025.csv"


class UnitLevel(StrEnum):
    """Tier of local government after 01/7/2025 (there is no district tier any more)."""

    PROVINCE = "PROVINCE"
    COMMUNE = "COMMUNE"


class UnitType(StrEnum):
    """Kind of administrative unit within its level."""

    THANH_PHO_TW = "THANH_PHO_TW"
    TINH = "TINH"
    XA = "XA"
    PHUONG = "PHUONG"
    DAC_KHU = "DAC_KHU"

    @property
    def label(self) -> str:
        """Vietnamese label, e.g. "Thành phố trực thuộc trung ương"."""
        return _TYPE_LABELS[self]

    @property
    def prefix(self) -> str:
        """Prefix of the official unit name, e.g. "Thành phố" in "Thành phố Huế"."""
        return _TYPE_PREFIXES[self]

    @property
    def level(self) -> UnitLevel:
        """The level this type belongs to."""
        return UnitLevel.PROVINCE if self in (UnitType.THANH_PHO_TW, UnitType.TINH) else UnitLevel.COMMUNE


_TYPE_LABELS = {
    UnitType.THANH_PHO_TW: "Thành phố trực thuộc trung ương",
    UnitType.TINH: "Tỉnh",
    UnitType.XA: "Xã",
    UnitType.PHUONG: "Phường",
    UnitType.DAC_KHU: "Đặc khu",
}
_TYPE_PREFIXES = {
    UnitType.THANH_PHO_TW: "Thành phố",
    UnitType.TINH: "Tỉnh",
    UnitType.XA: "Xã",
    UnitType.PHUONG: "Phường",
    UnitType.DAC_KHU: "Đặc khu",
}

_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"
_MODERN_TONE = re.compile(rf"(?<![qQ])(?:([oO])([aAeE])|([uU])([yY]))([{_TONE_MARKS}])$")


def _traditional_tone(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    m = _MODERN_TONE.search(decomposed)
    if m:
        first, second = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        decomposed = decomposed[: m.start()] + first + m.group(5) + second
    return unicodedata.normalize("NFC", decomposed)


def normalize_name(name: str) -> str:
    """Normalise a unit name as the catalog stores it: NFC, ASCII apostrophe, single spaces, "Hòa" not "Hoà"."""
    text = unicodedata.normalize("NFC", name).replace("\u2019", "'").replace("\u02bc", "'")
    text = " ".join(text.split())
    return re.sub(r"\w+", lambda m: _traditional_tone(m.group(0)), text)


@dataclass(frozen=True, slots=True)
class AdminUnit:
    """One version of a province or commune, keyed by its official code."""

    code: str
    level: UnitLevel
    unit_type: UnitType
    name: str
    parent_code: str | None
    valid_from: date
    valid_to: date | None = None

    @property
    def type_label(self) -> str:
        """Vietnamese label of the unit type, e.g. "Tỉnh" or "Đặc khu"."""
        return self.unit_type.label

    @property
    def short_name(self) -> str:
        """The name without its type prefix, e.g. "Huế" for "Thành phố Huế"."""
        prefix = self.unit_type.prefix + " "
        return self.name.removeprefix(prefix)

    def is_active_on(self, day: date) -> bool:
        """Whether this version is valid on ``day`` (``valid_from`` inclusive, ``valid_to`` exclusive)."""
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


class AdminUnitCatalog:
    """Lookup over administrative-unit versions; without a date, each code resolves to its latest version."""

    def __init__(self, units: Iterable[AdminUnit]) -> None:
        self._units: tuple[AdminUnit, ...] = tuple(sorted(units, key=lambda u: (len(u.code), u.code, u.valid_from)))
        latest: dict[str, AdminUnit] = {}
        for unit in self._units:
            latest[unit.code] = unit  # sorted by valid_from, so the last one wins
        self._latest = latest
        self._by_name: dict[str, list[AdminUnit]] = {}
        for unit in latest.values():
            for key in {unit.name, unit.short_name}:
                self._by_name.setdefault(key, []).append(unit)

    def get(self, code: str) -> AdminUnit:
        """The latest version of the unit with this code; KeyError if unknown."""
        try:
            return self._latest[code]
        except KeyError:
            raise KeyError(f"unknown administrative unit code {code!r}") from None

    def versions(self, code: str) -> list[AdminUnit]:
        """Every version of the unit with this code, oldest first; KeyError if unknown."""
        found = [u for u in self._units if u.code == code]
        if not found:
            raise KeyError(f"unknown administrative unit code {code!r}")
        return found

    def provinces(self) -> list[AdminUnit]:
        """All provinces, by code."""
        return [u for u in self._latest.values() if u.level is UnitLevel.PROVINCE]

    def communes(self, province_code: str | None = None) -> list[AdminUnit]:
        """All communes, or those of one province (KeyError if that province is unknown), by code."""
        if province_code is None:
            return [u for u in self._latest.values() if u.level is UnitLevel.COMMUNE]
        if self.get(province_code).level is not UnitLevel.PROVINCE:
            raise KeyError(f"{province_code!r} is not a province code")
        return [u for u in self._latest.values() if u.parent_code == province_code]

    def find_by_name(self, name: str) -> list[AdminUnit]:
        """Units whose name matches exactly, with or without the type prefix, after normalisation."""
        return list(self._by_name.get(normalize_name(name), []))

    def active_on(self, day: date) -> AdminUnitCatalog:
        """A catalog of the versions valid on ``day``."""
        return AdminUnitCatalog(u for u in self._units if u.is_active_on(day))

    def __len__(self) -> int:
        return len(self._latest)

    def __contains__(self, code: object) -> bool:
        return code in self._latest

    def __iter__(self) -> Iterator[AdminUnit]:
        return iter(self._latest.values())


def _parse_date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def parse_admin_units_csv(text: str) -> list[AdminUnit]:
    """Parse the reference CSV format into ``AdminUnit`` rows."""
    units = []
    for row in csv.DictReader(io.StringIO(text)):
        valid_from = _parse_date(row["valid_from"])
        if valid_from is None:
            raise ValueError(f"row {row['code']!r} has no valid_from")
        units.append(
            AdminUnit(
                code=row["code"],
                level=UnitLevel(row["level"]),
                unit_type=UnitType(row["unit_type"]),
                name=row["name"],
                parent_code=row["parent_code"] or None,
                valid_from=valid_from,
                valid_to=_parse_date(row["valid_to"]),
            )
        )
    return units


@cache
def load_admin_units() -> AdminUnitCatalog:
    """The packaged catalog of administrative units (read once, then cached)."""
    text = resources.files(DATA_PACKAGE).joinpath(DATA_FILE).read_text(encoding="utf-8")
    return AdminUnitCatalog(parse_admin_units_csv(text))
