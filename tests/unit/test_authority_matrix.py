"""Award-authority matrix: deciders, routes, effective dates, legal basis and NFC names."""

from __future__ import annotations

import unicodedata
from datetime import date
from importlib import resources

import pytest

from services.awards import (
    AuthorityMismatch,
    Level,
    UnknownAwardForm,
    UnknownAwardRule,
    load_authority_matrix,
    load_award_rules,
    movement_awards_count_for_merit,
)
from services.awards.forms import parse_authority_matrix_csv
from services.awards.rules import parse_award_rules_csv

pytestmark = pytest.mark.unit

NOW = date(2026, 6, 24)  # date of the Đồng Nai seed plan
PRE = date(2025, 3, 1)  # before the two-tier reform of 01/7/2025
U, X, T, C = "UNIT", "COMMUNE", "PROVINCE", "CENTRAL"
TTDV, CTX, GDS, CTT = "THU_TRUONG_DON_VI", "CHU_TICH_UBND_XA", "GIAM_DOC_SO", "CHU_TICH_UBND_TINH"
BT, TTG, CTN = "BO_TRUONG", "THU_TUONG", "CHU_TICH_NUOC"
MISMATCH = "AUTHORITY_MISMATCH"


def p(level: str, who: str) -> str:
    return f"{level} PROPOSE {who}"


def r(level: str, who: str) -> str:
    return f"{level} REVIEW {who}"


def d(level: str, who: str) -> str:
    return f"{level} DECIDE {who}"


def _central(decider: str, *, pm_submits: bool) -> dict[str, object]:
    """Routes of a central award submitted through the province (and the PM for the President's awards)."""
    top = [r(C, TTG), d(C, decider)] if pm_submits else [d(C, decider)]
    return {
        U: [p(U, TTDV), r(X, CTX), r(T, CTT), *top],
        X: [p(X, CTX), r(T, CTT), *top],
        T: [p(T, GDS), r(T, CTT), *top],
        C: [p(C, BT), *top],
    }


def _province(decider: str, central: object = MISMATCH) -> dict[str, object]:
    return {
        U: [p(U, TTDV), r(X, CTX), d(T, decider)],
        X: [p(X, CTX), d(T, decider)],
        T: [p(T, GDS), d(T, decider)],
        C: central,
    }


COMMUNE_ONLY = {U: [p(U, TTDV), d(X, CTX)], X: [p(X, CTX), d(X, CTX)], T: MISMATCH, C: MISMATCH}
OWN_STAFF = {U: [p(U, TTDV), d(U, TTDV)], X: [p(X, CTX), d(X, CTX)], T: [p(T, GDS), d(T, GDS)], C: [p(C, BT), d(C, BT)]}

EXPECTED: dict[str, tuple[tuple[str, str], dict[str, object]]] = {
    "HCLD_1": ((C, CTN), _central(CTN, pm_submits=True)),
    "HCLD_2": ((C, CTN), _central(CTN, pm_submits=True)),
    "HCLD_3": ((C, CTN), _central(CTN, pm_submits=True)),
    "CO_CP": ((C, TTG), _central(TTG, pm_submits=False)),
    "CSTD_TQ": ((C, TTG), _central(TTG, pm_submits=False)),
    "BK_TTG": ((C, TTG), _central(TTG, pm_submits=False)),
    "CO_TINH": ((T, CTT), _province(CTT)),
    "CSTD_TINH": ((T, CTT), _province(CTT)),
    "BK_TINH": ((T, CTT), _province(CTT)),
    "TTLDXS": ((T, CTT), _province(CTT, central=[p(C, BT), d(C, BT)])),
    "XA_TB": ((T, CTT), _province(CTT)),
    "GK_SO": ((T, GDS), _province(GDS)),
    "GK_XA": ((X, CTX), COMMUNE_ONLY),
    "GK_UNIT": ((U, TTDV), {U: [p(U, TTDV), d(U, TTDV)], X: MISMATCH, T: MISMATCH, C: MISMATCH}),
    "TTLDTT": ((X, CTX), OWN_STAFF),
    "CSTDCS": ((X, CTX), OWN_STAFF),
    "LDTT": ((X, CTX), OWN_STAFF),
    "THON_VH": ((X, CTX), COMMUNE_ONLY),
    "GD_VH": ((X, CTX), COMMUNE_ONLY),
}
CASES = [(code, level) for code in EXPECTED for level in (C, T, X, U)]


@pytest.fixture(scope="module")
def matrix():
    return load_authority_matrix()


def test_table_covers_every_form_in_force(matrix) -> None:
    assert sorted(EXPECTED) == matrix.codes(NOW)


@pytest.mark.parametrize("code, level", CASES)
def test_decider_and_route(matrix, code: str, level: str) -> None:
    primary, routes = EXPECTED[code]
    assert matrix.decider(code, NOW) == primary
    expected = routes[level]
    if expected == MISMATCH:
        with pytest.raises(AuthorityMismatch) as raised:
            matrix.route(code, Level(level), NOW)
        assert raised.value.code == MISMATCH and raised.value.message_vi.startswith("Sai thẩm quyền")
        return
    steps = matrix.route(code, Level(level), NOW)
    assert [str(s) for s in steps] == expected
    assert matrix.decider(code, NOW, Level(level)) == (steps[-1].level, steps[-1].authority)


def test_unit_under_a_province_agency_enters_through_the_so(matrix) -> None:
    def route(code: str) -> list[str]:
        return [str(s) for s in matrix.route(code, Level.UNIT, NOW, unit_parent=Level.PROVINCE)]

    assert route("BK_TINH") == [p(U, TTDV), r(T, GDS), d(T, CTT)]
    assert route("HCLD_3") == [p(U, TTDV), r(T, GDS), r(T, CTT), r(C, TTG), d(C, CTN)]
    assert route("GK_SO") == [p(U, TTDV), d(T, GDS)]
    with pytest.raises(AuthorityMismatch):
        matrix.route("GK_XA", Level.UNIT, NOW, unit_parent=Level.PROVINCE)


def test_district_giay_khen_exists_only_before_the_reform(matrix) -> None:
    assert matrix.decider("GK_HUYEN", date(2025, 6, 30)) == (Level.DISTRICT, "CHU_TICH_UBND_HUYEN")
    for day in (date(2025, 7, 1), NOW, date(2023, 12, 31)):
        with pytest.raises(UnknownAwardForm) as raised:
            matrix.form("GK_HUYEN", day)
        assert raised.value.code == "UNKNOWN_AWARD_FORM" and raised.value.http_status == 404


@pytest.mark.parametrize(
    "code, before, after",
    [
        ("TTLDTT", (Level.DISTRICT, "CHU_TICH_UBND_HUYEN"), (Level.COMMUNE, CTX)),
        ("CSTDCS", (Level.DISTRICT, "CHU_TICH_UBND_HUYEN"), (Level.COMMUNE, CTX)),
        ("THON_VH", (Level.DISTRICT, "CHU_TICH_UBND_HUYEN"), (Level.COMMUNE, CTX)),
        ("GK_XA", (Level.COMMUNE, CTX), (Level.COMMUNE, CTX)),
        ("BK_TTG", (Level.CENTRAL, TTG), (Level.CENTRAL, TTG)),
    ],
)
def test_effective_date_picks_the_version(matrix, code: str, before: tuple, after: tuple) -> None:
    assert matrix.decider(code, date(2025, 6, 30)) == before
    assert matrix.decider(code, date(2025, 7, 1)) == after


def test_names_follow_the_two_tier_reform(matrix) -> None:
    assert matrix.form("GK_XA", PRE).name_vi.endswith("xã, phường, thị trấn")
    assert matrix.form("GK_XA", NOW).name_vi.endswith("xã, phường, đặc khu")
    assert matrix.form("XA_TB", NOW).name_vi == "Xã, phường, đặc khu tiêu biểu"
    assert matrix.form("GK_XA", NOW).effective_from == date(2025, 7, 1)


def test_pre_reform_routes_pass_the_district(matrix) -> None:
    assert [str(s) for s in matrix.route("BK_TINH", Level.COMMUNE, PRE)] == [
        p(X, CTX),
        r("DISTRICT", "CHU_TICH_UBND_HUYEN"),
        d(T, CTT),
    ]
    assert [str(s) for s in matrix.route("TTLDTT", Level.COMMUNE, PRE)] == [
        p(X, CTX),
        d("DISTRICT", "CHU_TICH_UBND_HUYEN"),
    ]
    with pytest.raises(AuthorityMismatch):
        matrix.route("BK_TINH", Level.DISTRICT, NOW)


def test_unknown_code_is_refused(matrix) -> None:
    with pytest.raises(UnknownAwardForm) as raised:
        matrix.form("BK_HUYEN", NOW)
    assert (
        "Không có hình thức khen thưởng" in raised.value.message_vi and raised.value.details["form_code"] == "BK_HUYEN"
    )


def test_every_row_has_basis_tag_nfc_name_and_a_reason_when_unverified(matrix) -> None:
    for form in matrix.forms:
        assert form.legal_basis.startswith(("Luật TĐKT 06/2022/QH15", "NĐ ")), form
        assert form.verification in ("V", "P", "U")
        assert unicodedata.is_normalized("NFC", form.name_vi) and form.name_vi == form.name_vi.strip()
        assert form.effective_from in (date(2024, 1, 1), date(2025, 7, 1))
        assert form.verification != "U" or "[U]" in form.note
    current = [matrix.form(code, NOW) for code in matrix.codes(NOW)]
    assert all(f.effective_to is None for f in current)


def test_packaged_csv_files_are_nfc() -> None:
    for name in ("authority_matrix.csv", "award_rules.csv"):
        text = resources.files("services.awards").joinpath(name).read_text(encoding="utf-8")
        assert unicodedata.is_normalized("NFC", text), name


HEADER = (
    "form_code,name_vi,kind,subjects,decider_level,decider_authority,alt_deciders,submitted_through,track,"
    "legal_basis,verification,effective_from,effective_to,note\n"
)
ROW = "LDTT,{name},DANH_HIEU,INDIVIDUAL,{level},CHU_TICH_UBND_XA,,,MERIT,Luật,V,{start},{end},\n"


@pytest.mark.parametrize(
    "rows, why",
    [
        ([dict(name=unicodedata.normalize("NFD", "Lao động tiên tiến"), level=X, start="2024-01-01", end="")], "NFC"),
        ([dict(name="Lao động tiên tiến", level=T, start="2024-01-01", end="")], "decider_level"),
        (
            [dict(name="A", level=X, start="2024-01-01", end=""), dict(name="B", level=X, start="2025-07-01", end="")],
            "overlap",
        ),
    ],
)
def test_parser_refuses_inconsistent_rows(rows: list[dict[str, str]], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_authority_matrix_csv(HEADER + "".join(ROW.format(**row) for row in rows))


def test_movement_awards_do_not_count_for_merit_and_the_rule_is_configured() -> None:
    assert movement_awards_count_for_merit(NOW) is False
    assert movement_awards_count_for_merit(PRE) is False
    rules = load_award_rules()
    assert rules.rule("MOVEMENT_AWARDS_COUNT_FOR_MERIT", PRE).verification == "V"
    current = rules.rule("MOVEMENT_AWARDS_COUNT_FOR_MERIT", NOW)
    assert current.verification == "U" and "152/2025" in current.legal_basis
    with pytest.raises(UnknownAwardRule):
        rules.rule("MOVEMENT_AWARDS_COUNT_FOR_MERIT", date(2023, 12, 31))


def test_rule_value_is_read_from_configuration() -> None:
    text = (
        "rule_code,value,legal_basis,verification,effective_from,effective_to,note\n"
        "MOVEMENT_AWARDS_COUNT_FOR_MERIT,true,NĐ 152/2025/NĐ-CP Điều 4,V,2025-07-01,,\n"
    )
    assert parse_award_rules_csv(text).flag("MOVEMENT_AWARDS_COUNT_FOR_MERIT", NOW) is True
