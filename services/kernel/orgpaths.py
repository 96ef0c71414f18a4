"""Org-unit paths: ``VN`` (central) / province code / commune code / unit codes.

Names are never keys (there are two "xã Đại Sơn"); the path is. ``VN/31/11086/U-00042`` is unit U-00042 of
xã Đại Sơn (11086) in Hải Phòng (31). Units may also sit directly under a province (a sở) or under a unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidOrgPath

ROOT = "VN"
_PROVINCE = re.compile(r"^\d{2}$")
_COMMUNE = re.compile(r"^\d{5}$")
_UNIT = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")


@dataclass(frozen=True, order=True)
class OrgPath:
    """A validated org-unit path."""

    value: str

    @classmethod
    def parse(cls, value: str) -> OrgPath:
        """Validate ``value`` and return the path; raises InvalidOrgPath."""
        parts = value.split("/")
        if parts[0] != ROOT:
            raise InvalidOrgPath(value, "phải bắt đầu bằng VN", "must start with VN")
        for i, part in enumerate(parts[1:], start=1):
            ok = (
                (i == 1 and _PROVINCE.match(part))
                or (i == 2 and (_COMMUNE.match(part) or _UNIT.match(part)))
                or (i > 2 and _UNIT.match(part))
            )
            if not ok:
                raise InvalidOrgPath(
                    value, f"thành phần '{part}' ở vị trí {i} sai định dạng", f"segment '{part}' at {i} is malformed"
                )
        return cls(value)

    @property
    def parts(self) -> list[str]:
        """Segments from the root."""
        return self.value.split("/")

    @property
    def code(self) -> str:
        """The last segment: the unit's own code."""
        return self.parts[-1]

    @property
    def level(self) -> str:
        """CENTRAL, PROVINCE, COMMUNE or UNIT, read off the path's shape."""
        parts = self.parts
        if len(parts) == 1:
            return "CENTRAL"
        if len(parts) == 2:
            return "PROVINCE"
        if len(parts) == 3 and _COMMUNE.match(parts[2]):
            return "COMMUNE"
        return "UNIT"

    @property
    def parent(self) -> OrgPath | None:
        """The parent path, or None for the root."""
        parts = self.parts
        return OrgPath("/".join(parts[:-1])) if len(parts) > 1 else None

    def ancestors(self) -> list[OrgPath]:
        """Ancestors from the root down, excluding this path."""
        parts = self.parts
        return [OrgPath("/".join(parts[:i])) for i in range(1, len(parts))]

    def child(self, code: str) -> OrgPath:
        """The path of a child with ``code``, validated."""
        return OrgPath.parse(f"{self.value}/{code}")

    def contains(self, other: OrgPath) -> bool:
        """Whether ``other`` is this path or lies in its subtree."""
        return other.value == self.value or other.value.startswith(self.value + "/")

    def __str__(self) -> str:
        return self.value
