"""Award-authority matrix: deciders, routes, effective dates, legal basis and NFC names."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import date
from importlib import resources

import pytest

from services.api.problems import status_of
from services.awards import (
    Authority,
    AuthorityMismatch,
    Level,
    Proposer,
    Seat,
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


HD = "HOI_DONG_TDKT"
# Proposer shapes (services.awards.Proposer): a school under a xã (its head has no deciding power), an enterprise
# under a xã (Art. 80(4)), a sở (Art. 80(1)), a centre inside a sở, a xã, a province, central.
SHAPES = {
    "school": Proposer(Level.UNIT, Level.COMMUNE),
    "enterprise": Proposer(Level.UNIT, Level.COMMUNE, Authority.THU_TRUONG_DON_VI),
    "so": Proposer(Level.UNIT, Level.PROVINCE, Authority.GIAM_DOC_SO),
    "in_so": Proposer(Level.UNIT, Level.PROVINCE, None, under_so=True),
    "commune": Proposer(Level.COMMUNE),
    "province": Proposer(Level.PROVINCE),
    "central": Proposer(Level.CENTRAL),
}


def _central(decider: str, *, pm_submits: bool) -> dict[str, object]:
    """Routes of a central award submitted through the province (and the PM for the President's awards)."""
    top = [r(C, TTG), d(C, decider)] if pm_submits else [d(C, decider)]
    below = [p(U, TTDV), r(X, CTX), r(T, CTT), *top]
    return {
        "school": below,
        "enterprise": below,
        "so": [p(T, GDS), r(T, CTT), *top],
        "in_so": [p(U, TTDV), r(T, GDS), r(T, CTT), *top],
        "commune": [p(X, CTX), r(T, CTT), *top],
        "province": [p(T, CTT), *top],
        "central": [p(C, BT), *top],
    }


def _province(decider: str, central: object = MISMATCH) -> dict[str, object]:
    below = [p(U, TTDV), r(X, CTX), d(T, decider)]
    return {
        "school": below,
        "enterprise": below,
        "so": [p(T, GDS), d(T, decider)],
        "in_so": [p(U, TTDV), r(T, GDS), d(T, decider)],
        "commune": [p(X, CTX), d(T, decider)],
        "province": [p(T, HD), d(T, decider)],
        "central": central,
    }


NOWHERE = dict.fromkeys(SHAPES, MISMATCH)
COMMUNE_ONLY = {
    **NOWHERE,
    "school": [p(U, TTDV), d(X, CTX)],
    "enterprise": [p(U, TTDV), d(X, CTX)],
    "commune": [p(X, HD), d(X, CTX)],
}
BASE_TITLE = {  # Law Art. 80: the xã chair for units under it, the sở for its own, an enterprise for its staff
    **COMMUNE_ONLY,
    "enterprise": [p(U, HD), d(U, TTDV)],
    "so": [p(T, HD), d(T, GDS)],
    "in_so": [p(U, TTDV), d(T, GDS)],
    "central": [p(C, HD), d(C, BT)],
}

EXPECTED: dict[str, tuple[tuple[str, str], dict[str, object]]] = {
    "HCLD_1": ((C, CTN), {**_central(CTN, pm_submits=True), "central": [p(C, BT), r(C, TTG), d(C, CTN)]}),
    "HCLD_2": ((C, CTN), {**_central(CTN, pm_submits=True), "central": [p(C, BT), r(C, TTG), d(C, CTN)]}),
    "HCLD_3": ((C, CTN), {**_central(CTN, pm_submits=True), "central": [p(C, BT), r(C, TTG), d(C, CTN)]}),
    "CO_CP": ((C, TTG), _central(TTG, pm_submits=False)),
    "CSTD_TQ": ((C, TTG), _central(TTG, pm_submits=False)),
    "BK_TTG": ((C, TTG), _central(TTG, pm_submits=False)),
    "CO_TINH": ((T, CTT), _province(CTT)),
    "CSTD_TINH": ((T, CTT), _province(CTT)),
    "BK_TINH": ((T, CTT), _province(CTT)),
    "TTLDXS": ((T, CTT), _province(CTT, central=[p(C, HD), d(C, BT)])),
    "XA_TB": ((T, CTT), _province(CTT)),
    "GK_SO": ((T, GDS), {**NOWHERE, "so": [p(T, HD), d(T, GDS)], "in_so": [p(U, TTDV), d(T, GDS)]}),
    "GK_XA": ((X, CTX), COMMUNE_ONLY),
    "GK_UNIT": ((U, TTDV), {**NOWHERE, "enterprise": [p(U, HD), d(U, TTDV)]}),
    "TTLDTT": ((X, CTX), BASE_TITLE),
    "CSTDCS": ((X, CTX), BASE_TITLE),
    "LDTT": ((X, CTX), BASE_TITLE),
    "THON_VH": ((X, CTX), COMMUNE_ONLY),
    "GD_VH": ((X, CTX), COMMUNE_ONLY),
}
CASES = [(code, shape) for code in EXPECTED for shape in SHAPES]


@pytest.fixture(scope="module")
def matrix():
    return load_authority_matrix()


def test_table_covers_every_form_in_force(matrix) -> None:
    assert sorted(EXPECTED) == matrix.codes(NOW)


@pytest.mark.parametrize(("code", "shape"), CASES)
def test_decider_and_route(matrix, code: str, shape: str) -> None:
    """The forms × proposing level × decider table (Law Art. 77–80, 83; NĐ 129/2025)."""
    primary, routes = EXPECTED[code]
    assert matrix.decider(code, NOW) == primary
    expected = routes[shape]
    if expected == MISMATCH:
        with pytest.raises(AuthorityMismatch) as raised:
            matrix.route(code, SHAPES[shape], NOW)
        assert raised.value.code == MISMATCH and raised.value.message_vi.startswith("Sai thẩm quyền")
        return
    steps = matrix.route(code, SHAPES[shape], NOW)
    assert [str(s) for s in steps] == expected
    assert len({s.person for s in steps}) == len(steps)  # nobody acts twice
    assert matrix.decider(code, NOW, SHAPES[shape]) == (steps[-1].level, steps[-1].authority)


@pytest.mark.parametrize("shape", ["school", "enterprise", "so", "commune", "province"])
def test_nobody_confers_a_title_on_the_unit_they_head(matrix, shape: str) -> None:
    own = replace(SHAPES[shape], self_nominated=True)
    for code in ("TTLDTT", "GK_XA", "GK_SO", "GK_UNIT", "BK_TINH"):
        try:
            steps = matrix.route(code, own, NOW)
        except AuthorityMismatch:
            continue
        assert steps[-1].seat is not Seat.OWN, (code, shape)
    assert [str(s) for s in matrix.route("TTLDTT", replace(SHAPES["enterprise"], self_nominated=True), NOW)] == [
        p(U, TTDV),
        d(X, CTX),
    ]


def test_district_giay_khen_exists_only_before_the_reform(matrix) -> None:
    assert matrix.decider("GK_HUYEN", date(2025, 6, 30)) == (Level.DISTRICT, "CHU_TICH_UBND_HUYEN")
    for day in (date(2025, 7, 1), NOW, date(2023, 12, 31)):
        with pytest.raises(UnknownAwardForm) as raised:
            matrix.form("GK_HUYEN", day)
        assert raised.value.code == "UNKNOWN_AWARD_FORM" and status_of(raised.value) == 404


@pytest.mark.parametrize(
    ("code", "before", "after"),
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
    for name in (
        "authority_matrix.csv",
        "award_rules.csv",
        "award_occasions.csv",
        "occasions.csv",
        "unit_powers.csv",
        "allowance_codes.csv",
        "prerequisites.csv",
    ):
        text = resources.files("services.awards").joinpath(name).read_text(encoding="utf-8")
        assert unicodedata.is_normalized("NFC", text), name


HEADER = (
    "form_code,name_vi,kind,subjects,decider_level,decider_authority,alt_deciders,submitted_through,"
    "legal_basis,verification,effective_from,effective_to,note\n"
)
ROW = "LDTT,{name},DANH_HIEU,INDIVIDUAL,{level},CHU_TICH_UBND_XA,,,Luật,V,{start},{end},\n"


@pytest.mark.parametrize(
    ("rows", "why"),
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
