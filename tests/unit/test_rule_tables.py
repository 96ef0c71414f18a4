"""The award rule tables of services/awards, table by table: each row cites its article and tag, and says what the
law says (occasions per form, the award type of each occasion, who a unit's head decides for, what a plan's
wording naming no form means, the prerequisites per subject). The authority matrix itself: test_authority_matrix.py.
"""

from __future__ import annotations

from datetime import date

import pytest

from services.awards import Authority, AwardKind, load_authority_matrix
from services.awards.lawtables import (
    load_allowance_codes,
    load_occasion_rules,
    load_unit_powers,
    parse_table,
    read_table,
)
from services.awards.prerequisites import load_prerequisites
from services.registry.refdata import agency_types

pytestmark = pytest.mark.unit
NOW = date(2026, 6, 24)
MATRIX = load_authority_matrix()
OCCASIONS = ("ANNUAL", "SO_KET", "TONG_KET", "THEO_DOT", "DOT_XUAT")
TABLES = ("award_occasions.csv", "occasions.csv", "unit_powers.csv", "allowance_codes.csv", "prerequisites.csv")


@pytest.mark.parametrize("name", TABLES)
def test_every_row_cites_the_law_with_its_tag(name: str) -> None:
    for row in read_table(name):
        assert row["legal_basis"].startswith(("Luật TĐKT 06/2022/QH15", "NĐ ")), row
        assert row["verification"] in ("V", "P", "U")


def test_a_row_without_basis_or_an_unexplained_u_is_refused() -> None:
    header = "code,legal_basis,verification,note\n"
    with pytest.raises(ValueError, match="legal basis"):
        parse_table("t.csv", header + "A,,V,x\n")
    with pytest.raises(ValueError, match=r"\[U\]"):
        parse_table("t.csv", header + "A,Luật TĐKT 06/2022/QH15 Điều 79,U,chưa đối chiếu\n")
    with pytest.raises(ValueError, match="number of fields"):
        parse_table("t.csv", header + "A,Luật,V,một, hai\n")


def test_the_award_type_of_each_occasion_is_law_art_8() -> None:
    rules = load_occasion_rules()
    assert {o: str(rules.award_type(o)) for o in OCCASIONS} == {
        "ANNUAL": "MERIT",
        "SO_KET": "MOVEMENT",
        "TONG_KET": "MOVEMENT",
        "THEO_DOT": "MOVEMENT",
        "DOT_XUAT": "AD_HOC",
    }
    assert all("Điều 8" in rules.occasion_basis(o).legal_basis for o in OCCASIONS)


def test_every_form_of_the_matrix_has_its_occasions() -> None:
    rules = load_occasion_rules()
    for form in MATRIX.forms:
        assert rules.rule(form.form_code, form.effective_from) is not None, form.form_code


@pytest.mark.parametrize("code", MATRIX.codes(NOW))
def test_titles_are_never_ad_hoc_and_award_forms_are_given_at_every_occasion(code: str) -> None:
    form, allowed = MATRIX.form(code, NOW), set(load_occasion_rules().rule(code, NOW).occasions)
    if form.kind is AwardKind.HINH_THUC:
        assert allowed == set(OCCASIONS), code  # công trạng, phong trào, đột xuất (Law Art. 8)
    else:
        assert "DOT_XUAT" not in allowed and "THEO_DOT" not in allowed and "ANNUAL" in allowed, code


def test_emulation_flags_are_given_at_a_review_and_base_titles_yearly_only() -> None:
    rules = load_occasion_rules()
    for flag in ("CO_CP", "CO_TINH"):
        assert set(rules.rule(flag, NOW).occasions) == {"ANNUAL", "SO_KET", "TONG_KET"}  # Law Art. 25(3), 26
    for title in ("LDTT", "CSTDCS", "TTLDTT", "TTLDXS", "CSTD_TINH", "CSTD_TQ", "XA_TB", "GD_VH", "THON_VH"):
        assert rules.rule(title, NOW).occasions == ("ANNUAL",), title
    assert rules.rule("CO_CP", NOW).basis.verification == "V"


@pytest.mark.parametrize(
    ("kind", "placement", "hat"),
    [
        ("AGENCY", "PROVINCE", Authority.GIAM_DOC_SO),  # a sở: Art. 80(1)
        ("PUBLIC_SERVICE_UNIT", "PROVINCE", Authority.GIAM_DOC_SO),  # "tương đương" [U]
        ("PUBLIC_SERVICE_UNIT", "SO", None),  # a hospital under a sở: the Giám đốc sở decides
        ("PUBLIC_SERVICE_UNIT", "COMMUNE", None),  # a school under a xã: the Chủ tịch UBND xã (NĐ 129/2025)
        ("AGENCY", "COMMUNE", None),  # a phòng of UBND xã
        ("VILLAGE", "COMMUNE", None),
        ("ENTERPRISE", "COMMUNE", Authority.THU_TRUONG_DON_VI),  # Art. 80(4)
        ("COOPERATIVE", "PROVINCE", Authority.THU_TRUONG_DON_VI),
        ("AGENCY", "CENTRAL", Authority.THU_TRUONG_DON_VI),  # a legal-entity unit under a ministry: Art. 80(1)
        ("MTTQ", "COMMUNE", None),
        ("SOCIO_POLITICAL", "PROVINCE", None),
    ],
)
def test_which_unit_heads_the_law_empowers(kind: str, placement: str, hat: Authority | None) -> None:
    assert load_unit_powers().hat(kind, placement, NOW) is hat
    assert load_unit_powers().power(kind, placement, NOW) is not None  # every combination is a row citing Art. 80


def test_the_uncertain_equivalence_is_tagged_u() -> None:
    row = load_unit_powers().power("PUBLIC_SERVICE_UNIT", "PROVINCE", NOW)
    assert row is not None and row.basis.verification == "U" and "[U]" in row.basis.note


def test_codes_naming_no_single_form() -> None:
    codes = load_allowance_codes()
    assert set(codes.get("GIAY_KHEN").members) == {"GK_SO", "GK_XA", "GK_UNIT"}  # each level's own (Art. 75, 80)
    by_authority, cap_tren = codes.get("BY_AUTHORITY"), codes.get("CAP_TREN")
    for code in (*by_authority.members, *cap_tren.members):
        assert MATRIX.form(code, NOW).kind is AwardKind.HINH_THUC, code  # movement awards, never emulation titles
    assert (by_authority.levels, cap_tren.levels) == ("ISSUER_OR_BELOW", "ABOVE_ISSUER")
    assert by_authority.basis.verification == cap_tren.basis.verification == "U"  # a reading of the plans: configurable
    assert set(codes.get("HCLD").members) == {"HCLD_1", "HCLD_2", "HCLD_3"}


def test_prerequisites_are_per_subject() -> None:
    rules = load_prerequisites()
    for rule in rules:
        form = MATRIX.form(rule.form_code, NOW)
        assert set(rule.subjects) <= {str(s) for s in form.subjects}, rule.rule
        assert rule.count == 0 or all(MATRIX.form(n, NOW) for n in rule.needs)
    collective = {r.form_code for r in rules if "COLLECTIVE" in r.subjects}
    assert {"BK_TTG", "BK_TINH"} <= collective
    assert all(r.count == 0 and r.basis.verification == "U" for r in rules if "COLLECTIVE" in r.subjects)


def test_agency_types_are_reference_data() -> None:
    found = agency_types()
    assert {"SO_NOI_VU", "SO_KHCN", "PHONG_VHXH", "PHONG_KINH_TE"} <= set(found)
    assert {a.level for a in found.values()} == {"PROVINCE", "COMMUNE"}
    assert all(a.verification == "U" and "[U]" in a.note for a in found.values())  # NĐ 150/2025 not checked
