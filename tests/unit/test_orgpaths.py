"""Org-unit paths."""

from __future__ import annotations

import pytest

from services.kernel.errors import InvalidOrgPath
from services.kernel.orgpaths import OrgPath

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("VN", "CENTRAL"),
        ("VN/46", "PROVINCE"),
        ("VN/31/11086", "COMMUNE"),
        ("VN/31/11086/U-00042", "UNIT"),
        ("VN/15/SO-KHCN", "UNIT"),
        ("VN/15/SO-KHCN/PHONG-1", "UNIT"),
    ],
)
def test_levels(value: str, level: str) -> None:
    assert OrgPath.parse(value).level == level


@pytest.mark.parametrize("value", ["", "vn/46", "VN/4", "VN/46/1108", "VN/46/11086/u-1", "VN//46", "VN/46/"])
def test_malformed_paths_are_refused(value: str) -> None:
    with pytest.raises(InvalidOrgPath) as raised:
        OrgPath.parse(value)
    assert raised.value.code == "INVALID_ORG_PATH" and "không hợp lệ" in raised.value.message_vi


def test_ancestors_parent_and_subtree() -> None:
    unit = OrgPath.parse("VN/31/11086/U-00042")
    assert [a.value for a in unit.ancestors()] == ["VN", "VN/31", "VN/31/11086"]
    assert unit.parent == OrgPath("VN/31/11086") and unit.code == "U-00042"
    assert OrgPath("VN/31").contains(unit) and OrgPath("VN/31/11086").contains(unit)
    assert not OrgPath("VN/3").contains(OrgPath("VN/31"))  # prefix of a code is not an ancestor
    assert not OrgPath("VN/46").contains(unit) and OrgPath("VN").parent is None
