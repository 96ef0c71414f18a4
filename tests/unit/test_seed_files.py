"""The plan seed files in services/planning/seeds/: QĐ 462/QĐ-TTg, the plans of Huế, Đồng Nai, Lào Cai, xã Đại Sơn
and Hải Phòng's QĐ 2159/QĐ-UBND, encoded one YAML file per plan.

The seeds' own inconsistencies are kept and flagged as warnings; these tests check that the flags are there, that
every quote traces to the seed text, and that the data match what the seeds print.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.kernel.orgpaths import OrgPath

pytestmark = pytest.mark.unit

SEEDS = Path(__file__).resolve().parents[2] / "services" / "planning" / "seeds"
FILES = sorted(SEEDS.glob("*.yaml"))

NATIONAL = "vn-462-2026"
HUE = "hue-220-2026"
DONG_NAI = "dong-nai-113-2026"
LAO_CAI = "lao-cai-draft-2026-05"
HAI_PHONG = "hai-phong-2159-2026"
DAI_SON = "dai-son-draft-2026-06"
ALL_KEYS = {NATIONAL, HUE, DONG_NAI, LAO_CAI, HAI_PHONG, DAI_SON}

TOP_LEVEL = [
    "schema_version",
    "plan_key",
    "status",
    "sources",
    "issuer",
    "document",
    "signer",
    "implements",
    "title",
    "movement_name",
    "period",
    "content_areas",
    "phases",
    "plan_duties",
    "reporting_duties",
    "award_occasions",
    "award_forms",
    "award_proposals",
    "criteria_owners",
    "criteria",
    "recipients",
    "warnings",
]
LEVELS = {"CENTRAL", "PROVINCE", "COMMUNE", "UNIT"}
STATUSES = {"ISSUED", "DRAFT", "REFERENCED_ONLY"}
OCCASIONS = {"ANNUAL", "SO_KET", "TONG_KET", "THEO_DOT", "DOT_XUAT"}
# REFERENCE §1.3 codes, plus the codes of services/awards/allowance_codes.csv for wording that names no single form:
# HCLD = Huân chương Lao động of unstated class; GIAY_KHEN = a bare "Giấy khen" (each nominee's competent level's);
# BY_AUTHORITY = "khen thưởng theo thẩm quyền"; CAP_TREN = "đề nghị khen thưởng cấp trên".
FORM_CODES = {
    "HCLD",
    "HCLD_1",
    "HCLD_2",
    "HCLD_3",
    "CO_CP",
    "CSTD_TQ",
    "BK_TTG",
    "CO_TINH",
    "CSTD_TINH",
    "BK_TINH",
    "TTLDXS",
    "XA_TB",
    "GK_SO",
    "GK_XA",
    "GK_UNIT",
    "TTLDTT",
    "CSTDCS",
    "LDTT",
    "THON_VH",
    "GD_VH",
    "BY_AUTHORITY",
    "CAP_TREN",
    "GIAY_KHEN",
}
SCOPES = {"PROVINCE", "PER_COMMUNE", "PER_UNIT"}
COMPARISONS = {None, "PHASED_FLOOR", "APPROX_BAND"}
COMPARATORS = {"GE", "GT", "LE", "LT", "EQ", "RANGE", "ABOUT"}
SUBJECT_CATEGORIES = {"AGENCY_LOCALITY", "MTTQ_SOCIO_POLITICAL", "ENTERPRISE", "INDIVIDUAL"}
PERIODS = {"ANNUAL", "SO_KET", "TONG_KET", "AD_HOC", "UNSPECIFIED"}
REVIEWS = {"SO_KET", "TONG_KET", None}
DEADLINE_KINDS = {
    "NONE_STATED",
    "BEFORE_DAY_OF_YEAR",
    "WITH_ANNUAL_EMULATION_REPORT",
    "PER_COMPETENT_GUIDANCE",
    "ON_OCCURRENCE",
    "BY_DATE",
    "WITHIN_PHASE",
}
SEVERITIES = {"WARN", "INFO"}
PRECISIONS = {"YEAR", "MONTH", "DAY"}

# Keys whose string values are quotes from the seed text.
QUOTE_KEYS = {
    "text",
    "source_text",
    "other_source_text",
    "printed_number",
    "printed_date",
    "printed",
    "title",
    "movement_name",
    "review_text",
    "subject_text",
    "award_standard_text",
    "award_forms_text",
    "evaluation_indices_text",
    "decided_by",
}


# --- helpers --------------------------------------------------------------------------------------------------------


def seed_norm(text: str) -> str:
    """README.md's seed-text normalisation: NFC, markdown heading/emphasis markers dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"(?m)^#+[ \t]*", "", text)
    text = text.replace("*", "")
    return re.sub(r"\s+", " ", text).strip()


def strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a loaded YAML tree, with its path."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from strings(k, f"{path}/<key>")
            yield from strings(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from strings(v, f"{path}[{i}]")


def quotes(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every quoted string: values of QUOTE_KEYS, phase names, recipients and movement-name variants."""
    if isinstance(node, dict):
        for k, v in node.items():
            here = f"{path}/{k}"
            phase_name = k == "name" and here.startswith("/phases[") and here.count("/") == 2
            if isinstance(v, str) and (k in QUOTE_KEYS or phase_name or here == "/signer/name"):
                yield here, v
            elif k in ("recipients", "movement_name_variants") and isinstance(v, list):
                for i, s in enumerate(v):
                    yield f"{here}[{i}]", s
            else:
                yield from quotes(v, here)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from quotes(v, f"{path}[{i}]")


def indicators(plan: dict) -> list[dict]:
    return [i for cs in plan["criteria"] or [] for item in cs["items"] for i in item["indicators"]]


def warning_codes(plan: dict) -> Counter[str]:
    return Counter(w["code"] for w in plan["warnings"])


def span(plan: dict) -> tuple[date, date] | None:
    """Overall span: the phases' if known, else the stated period, else None."""
    if plan["phases"]:
        return min(p["start_date"] for p in plan["phases"]), max(p["end_date"] for p in plan["phases"])
    if plan["period"]:
        return plan["period"]["start_date"], plan["period"]["end_date"]
    return None


def issue_month(plan: dict) -> tuple[int, int]:
    doc = plan["document"]
    return doc["issue_year"], doc["issue_month"]


# --- fixtures -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plans() -> dict[str, dict]:
    out: dict[str, dict] = {}
    for path in FILES:
        plan = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert plan["plan_key"] not in out, f"duplicate plan_key {plan['plan_key']} in {path.name}"
        out[plan["plan_key"]] = plan
    return out


@pytest.fixture(scope="module")
def source_text(plans: dict[str, dict]) -> dict[str, str]:
    """Normalised text of each plan's sources, concatenated."""
    return {
        key: "\n".join(seed_norm((SEEDS / s["file"]).read_text(encoding="utf-8")) for s in plan["sources"])
        for key, plan in plans.items()
    }


# --- files, encoding, keys ------------------------------------------------------------------------------------------


def test_one_file_per_plan_and_the_six_expected_plans(plans: dict[str, dict]) -> None:
    assert len(FILES) == 6
    assert set(plans) == ALL_KEYS


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_file_parses_with_the_common_shape(path: Path) -> None:
    plan = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(plan, dict)
    missing = [k for k in TOP_LEVEL if k not in plan]
    assert not missing, f"{path.name}: missing {missing}"
    assert plan["schema_version"] == 1
    assert plan["status"] in STATUSES
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", plan["plan_key"])


@pytest.mark.parametrize(
    "path", FILES + sorted((SEEDS / "sources").glob("*.txt")) + [SEEDS / "README.md"], ids=lambda p: p.name
)
def test_all_text_is_utf8_nfc(path: Path) -> None:
    text = path.read_bytes().decode("utf-8")
    assert unicodedata.is_normalized("NFC", text), path.name
    if path.suffix == ".yaml":
        for where, s in strings(yaml.safe_load(text)):
            assert unicodedata.is_normalized("NFC", s), f"{path.name}{where}: {s!r}"


def test_implements_resolve_and_form_a_tree_rooted_at_the_national_plan(plans: dict[str, dict]) -> None:
    for key, plan in plans.items():
        for parent in plan["implements"]:
            assert parent in plans, f"{key} implements unknown {parent}"
            assert parent != key
    assert plans[NATIONAL]["implements"] == []
    assert plans[HUE]["implements"] == [NATIONAL]
    assert plans[DONG_NAI]["implements"] == [NATIONAL]
    assert plans[LAO_CAI]["implements"] == [NATIONAL]
    assert plans[HAI_PHONG]["implements"] == [NATIONAL]
    assert plans[DAI_SON]["implements"] == [HAI_PHONG]
    for key in plans:  # no cycles: every chain reaches the root
        seen, cur = set(), key
        while plans[cur]["implements"]:
            assert cur not in seen, f"cycle through {cur}"
            seen.add(cur)
            cur = plans[cur]["implements"][0]
        assert cur == NATIONAL


def test_cited_plan_keys_resolve(plans: dict[str, dict]) -> None:
    for key, plan in plans.items():
        for cited in plan.get("cited_documents") or []:
            assert cited["plan_key"] is None or cited["plan_key"] in plans, (key, cited["ref"])
        for c in plan.get("citations") or []:
            assert c["plan_key"] in plans
            assert key in plans[c["plan_key"]]["implements"] or key in {
                x["plan_key"] for x in plans[c["plan_key"]].get("cited_documents") or []
            }


# --- traceability ---------------------------------------------------------------------------------------------------


def test_sources_are_the_seed_files_unchanged(plans: dict[str, dict]) -> None:
    for key, plan in plans.items():
        assert plan["sources"], key
        for s in plan["sources"]:
            data = (SEEDS / s["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == s["sha256"], (key, s["file"])


def test_every_quote_traces_to_the_seed_text(plans: dict[str, dict], source_text: dict[str, str]) -> None:
    missing = []
    count = 0
    for key, plan in plans.items():
        for where, q in quotes(plan):
            count += 1
            if seed_norm(q) != q or q not in source_text[key]:
                missing.append(f"{key}{where}: {q!r}")
    assert not missing, "\n".join(missing)
    assert count > 400


# --- vocabularies and identifiers -----------------------------------------------------------------------------------


def test_enumerations_and_org_paths(plans: dict[str, dict]) -> None:
    for key, plan in plans.items():
        issuer = plan["issuer"]
        assert issuer["level"] in LEVELS
        assert OrgPath.parse(issuer["path"]).level == issuer["level"], key
        assert OrgPath.parse(issuer["path"]).code == issuer["code"] or issuer["path"] == "VN"
        for f in plan["award_forms"] or []:
            assert f["occasion"] in OCCASIONS, (key, f)
            assert f["form_code"] in FORM_CODES, (key, f)
            assert set(f["form_code_candidates"]) <= FORM_CODES
        for o in plan["award_occasions"] or []:
            assert o["occasion"] in OCCASIONS
        for d in plan["reporting_duties"] or []:
            assert d["period"] in PERIODS, (key, d)
            assert d["deadline_rule"]["kind"] in DEADLINE_KINDS, (key, d)
            sel = d["subject_selector"]
            if sel:
                assert set(sel["levels"]) <= LEVELS
                OrgPath.parse(sel["under"])
            for org in (d["to"] or []) + [d["via"], d["consolidated_for"]]:
                if org:
                    assert org["name"]
                    assert org["path"] or org["under"], (key, org)
                    for p in (org["path"], org["under"]):
                        if p:
                            OrgPath.parse(p)
        for d in plan["plan_duties"] or []:
            assert d["due"]["kind"] in DEADLINE_KINDS
        for cs in plan["criteria"] or []:
            assert cs["subject_category"] in SUBJECT_CATEGORIES, (key, cs["criteria_key"])
            assert cs["criteria_key"].startswith(f"{key}/")
            assert cs["items"]
        for w in plan["warnings"]:
            assert w["severity"] in SEVERITIES and w["detail"], (key, w)
        keys = [cs["criteria_key"] for cs in plan["criteria"] or []]
        assert len(keys) == len(set(keys))


def test_indicators_are_well_formed(plans: dict[str, dict]) -> None:
    for key, plan in plans.items():
        for i in indicators(plan):
            assert i["comparator"] in COMPARATORS, (key, i["code"])
            assert isinstance(i["threshold"], int | float)
            assert i["scope"] in SCOPES and i["comparison"] in COMPARISONS, i["code"]
            assert bool(i["scope_kinds"]) == (i["scope"] == "PER_UNIT"), i["code"]
            banded = i["comparator"] in ("RANGE", "ABOUT") or i["comparison"] == "PHASED_FLOOR"
            if banded and (i["comparator"] != "ABOUT" or i["threshold_max"] is not None):
                assert i["threshold_max"] > i["threshold"], i["code"]
            else:
                assert i["threshold_max"] is None, i["code"]
            assert i["year"] is None or i["year"] <= i["horizon"]
            assert i["recurrence"] in (None, "ANNUAL")
            assert i["source_text"]


# --- document metadata as printed -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "number", "symbol", "issue_date", "month", "place", "signer", "capacity", "status"),
    [
        (NATIONAL, "462", "QĐ-TTg", date(2026, 3, 22), (2026, 3), None, None, None, "REFERENCED_ONLY"),
        (
            HUE,
            "220",
            "KH-UBND",
            date(2026, 4, 15),
            (2026, 4),
            "Huế",
            "Trần Hữu Thùy Giang",
            "KT. CHỦ TỊCH – PHÓ CHỦ TỊCH",
            "ISSUED",
        ),
        (
            DONG_NAI,
            "113",
            "KH-UBND",
            date(2026, 6, 24),
            (2026, 6),
            "Đồng Nai",
            "Lê Trường Sơn",
            "KT. CHỦ TỊCH – PHÓ CHỦ TỊCH",
            "ISSUED",
        ),
        (LAO_CAI, None, "KH-UBND", None, (2026, 5), "Lào Cai", "Nguyễn Tuấn Anh", "CHỦ TỊCH", "DRAFT"),
        (HAI_PHONG, "2159", "QĐ-UBND", date(2026, 6, 9), (2026, 6), None, None, None, "REFERENCED_ONLY"),
        (DAI_SON, None, "KH-UBND", None, (2026, 6), "Đại Sơn", "Đào Văn Soái", "CHỦ TỊCH", "DRAFT"),
    ],
)
def test_document_number_date_and_signer_match_the_seeds(
    plans: dict[str, dict], key, number, symbol, issue_date, month, place, signer, capacity, status
) -> None:
    plan = plans[key]
    doc = plan["document"]
    assert (doc["number"], doc["symbol"], doc["issue_date"], issue_month(plan), doc["place"]) == (
        number,
        symbol,
        issue_date,
        month,
        place,
    )
    assert plan["status"] == status
    if signer is None:
        assert plan["signer"] is None
    else:
        assert (plan["signer"]["name"], plan["signer"]["capacity"]) == (signer, capacity)
    if doc["issue_date"] is not None:
        assert (doc["issue_date"].year, doc["issue_date"].month) == month


def test_printed_numbers_and_dates(plans: dict[str, dict]) -> None:
    printed = {k: (p["document"]["printed_number"], p["document"]["printed_date"]) for k, p in plans.items()}
    assert printed[HUE] == ("Số: 220 /KH-UBND", "Huế, ngày 15 tháng 4 năm 2026")
    assert printed[DONG_NAI] == ("Số: 113 /KH-UBND", "Đồng Nai, ngày 24 tháng 6 năm 2026")
    assert printed[LAO_CAI] == ("Số: /KH-UBND", "Lào Cai, ngày tháng 5 năm 2026")
    assert printed[DAI_SON] == ("Số: /KH-UBND", "Đại Sơn, ngày tháng 6 năm 2026")
    assert plans[DONG_NAI]["signer"]["printed"].startswith("KT, CHỦ TỊCH")  # as printed, flagged below


def test_issuers(plans: dict[str, dict]) -> None:
    issuers = {k: (p["issuer"]["path"], p["issuer"]["level"]) for k, p in plans.items()}
    assert issuers == {
        NATIONAL: ("VN", "CENTRAL"),
        HUE: ("VN/46", "PROVINCE"),
        DONG_NAI: ("VN/75", "PROVINCE"),
        LAO_CAI: ("VN/15", "PROVINCE"),
        HAI_PHONG: ("VN/31", "PROVINCE"),
        DAI_SON: ("VN/31/11086", "COMMUNE"),
    }


def test_drafts_have_no_number_and_no_day(plans: dict[str, dict]) -> None:
    for key, plan in plans.items():
        draft = plan["status"] == "DRAFT"
        assert (plan["document"]["number"] is None) == draft or plan["status"] == "REFERENCED_ONLY", key
        if draft:
            assert plan["document"]["issue_date"] is None
            assert {"DRAFT_WITHOUT_NUMBER", "DRAFT_WITHOUT_DAY"} <= set(warning_codes(plan))


# --- phases ---------------------------------------------------------------------------------------------------------


def test_phases_are_ordered_contiguous_and_inside_the_plan_period(plans: dict[str, dict]) -> None:
    for key, plan in plans.items():
        phases = plan["phases"]
        if phases is None:
            assert plan["status"] == "REFERENCED_ONLY", key
            continue
        assert [p["code"] for p in phases] == [f"P{i}" for i in range(1, len(phases) + 1)]
        for p in phases:
            assert p["start_date"] <= p["end_date"]
            assert p["review"] in REVIEWS and p["date_precision"] in PRECISIONS
            assert str(p["end_date"].year) == p["review_period"][:4], (key, p["code"])
        for a, b in itertools.pairwise(phases):
            assert (b["start_date"] - a["end_date"]).days == 1, (key, a["code"], b["code"])
        assert phases[-1]["review"] == "TONG_KET"
        start, end = plan["period"]["start_date"], plan["period"]["end_date"]
        assert start <= phases[0]["start_date"] and phases[-1]["end_date"] <= end


def test_phase_reviews_as_printed(plans: dict[str, dict]) -> None:
    def reviews(key: str) -> list[tuple]:
        return [(p["start_date"], p["end_date"], p["review"], p["review_period"]) for p in plans[key]["phases"]]

    yearly = [
        (date(2026, 1, 1), date(2027, 12, 31), "SO_KET", "2027"),
        (date(2028, 1, 1), date(2030, 12, 31), "TONG_KET", "2030"),
    ]
    assert reviews(HUE) == yearly
    assert reviews(DONG_NAI) == yearly
    assert reviews(DAI_SON) == yearly
    assert reviews(LAO_CAI) == [
        (date(2026, 5, 1), date(2027, 12, 31), "SO_KET", "2027-12"),
        (date(2028, 1, 1), date(2030, 12, 31), "TONG_KET", "2030-Q4"),
    ]


def test_child_phases_lie_within_the_parent_span_where_both_are_known(plans: dict[str, dict]) -> None:
    """Violations must be reported as PHASE_OUTSIDE_PARENT_SPAN warnings; unknown parents as PARENT_PHASES_UNKNOWN."""
    checked = set()
    for key, plan in plans.items():
        for parent_key in plan["implements"]:
            parent = plans[parent_key]
            child_span, parent_span = span(plan), span(parent)
            if child_span is None or parent_span is None:
                assert parent_key == NATIONAL or plan["status"] == "REFERENCED_ONLY"
                if plan["phases"]:
                    assert any(
                        w["code"] == "PARENT_PHASES_UNKNOWN" and w.get("parent") == parent_key for w in plan["warnings"]
                    ), key
                continue
            checked.add((key, parent_key))
            inside = parent_span[0] <= child_span[0] and child_span[1] <= parent_span[1]
            flagged = any(
                w["code"] == "PHASE_OUTSIDE_PARENT_SPAN" and w.get("parent") == parent_key for w in plan["warnings"]
            )
            assert inside or flagged, f"{key} {child_span} outside {parent_key} {parent_span} and not flagged"
            assert not (inside and flagged), f"{key} flags a violation that does not exist"
    # The national plan's text is not in the seeds: only Đại Sơn against Hải Phòng's stated 2026-2030 is checkable.
    assert checked == {(DAI_SON, HAI_PHONG)}


def test_children_are_issued_after_their_parents(plans: dict[str, dict]) -> None:
    for key, plan in plans.items():
        for parent_key in plan["implements"]:
            parent = plans[parent_key]
            if plan["document"]["issue_date"] and parent["document"]["issue_date"]:
                assert parent["document"]["issue_date"] <= plan["document"]["issue_date"], key
            else:
                assert issue_month(parent) <= issue_month(plan), key


# --- Lào Cai targets ------------------------------------------------------------------------------------------------

# (code, section, comparator, threshold, threshold_max, year, recurrence) — numbered as REFERENCE §2.4 lists them.
LAO_CAI_TARGETS = [
    ("LC-01", "II.2.a", "LE", 15, None, 2030, None),
    ("LC-02", "II.2.b", "EQ", 100, None, None, "ANNUAL"),
    ("LC-03", "II.2.c", "EQ", 100, None, None, None),
    ("LC-04", "II.2.d", "GE", 1, None, None, "ANNUAL"),
    ("LC-05", "III.1.a", "EQ", 100, None, None, "ANNUAL"),
    ("LC-06", "III.1.b", "EQ", 100, None, 2030, None),
    ("LC-07", "III.1.b", "GE", 80, 90, 2030, None),  # a phased floor: "tối thiểu 80 - 90%"
    ("LC-08", "III.1.c", "GE", 90, None, None, None),
    ("LC-09", "III.1.c", "GE", 70, None, None, None),
    ("LC-10", "III.1.c", "EQ", 100, None, None, None),
    ("LC-11", "III.1.c", "EQ", 100, None, None, None),
    ("LC-12", "III.2.a", "GE", 90, None, 2030, None),
    ("LC-13", "III.2.a", "EQ", 100, None, 2030, None),
    ("LC-14", "III.2.a", "EQ", 100, None, None, None),
    ("LC-15", "III.2.a", "GE", 85, None, None, None),
    ("LC-16", "III.2.a", "GE", 80, None, None, None),
    ("LC-17", "III.2.a", "EQ", 100, None, None, None),
    ("LC-18", "III.2.a", "EQ", 100, None, None, None),
    ("LC-19", "III.2.b", "GE", 80, None, None, None),
    ("LC-20", "III.2.b", "GE", 80, None, None, None),
    ("LC-21", "III.2.c", "GE", 80, None, None, None),
    ("LC-22", "III.2.c", "GE", 80, None, None, None),
    ("LC-23", "III.3.a", "ABOUT", 1, 1.5, None, None),
    ("LC-24", "III.3.a", "GE", 20, 25, None, "ANNUAL"),  # a phased floor: "tối thiểu 20-25"
    ("LC-25", "III.3.a", "GE", 10, None, None, "ANNUAL"),
    ("LC-26", "III.3.a", "GE", 70, None, None, None),
    ("LC-27", "III.3.a", "GE", 70, None, None, None),
    ("LC-28", "III.3.a", "GE", 70, None, None, None),
    ("LC-29", "III.3.a", "GE", 3, None, None, None),
    ("LC-30", "III.3.a", "EQ", 100, None, None, None),
    ("LC-31", "III.3.b", "GT", 50, None, 2030, None),
    ("LC-32", "III.3.c", "GT", 60, None, None, None),
    ("LC-33", "III.4.a", "GE", 20, None, 2030, None),
    ("LC-34", "III.4.b", "GE", 50, None, None, None),
    ("LC-35", "III.4.b", "GE", 70, None, None, None),
    ("LC-36", "III.5.a", "GE", 1, None, None, None),
    ("LC-37", "III.6.a", "GE", 90, None, None, None),
    ("LC-38", "III.6.b", "GE", 90, None, None, None),
    ("LC-39", "III.7.a", "EQ", 100, None, None, None),
    ("LC-40", "III.7.c", "GE", 90, None, None, None),
]


def test_lao_cai_has_exactly_40_indicators_with_unique_codes(plans: dict[str, dict]) -> None:
    codes = [i["code"] for i in indicators(plans[LAO_CAI])]
    assert len(codes) == 40
    assert len(set(codes)) == 40
    assert codes == [f"LC-{n:02d}" for n in range(1, 41)]


def test_lao_cai_targets_match_the_reference_table(plans: dict[str, dict]) -> None:
    found = [
        (i["code"], item["code"], i["comparator"], i["threshold"], i["threshold_max"], i["year"], i["recurrence"])
        for cs in plans[LAO_CAI]["criteria"]
        for item in cs["items"]
        for i in item["indicators"]
    ]
    assert found == LAO_CAI_TARGETS
    by_code = {i["code"]: i for i in indicators(plans[LAO_CAI])}
    assert all(i["horizon"] == 2030 for i in by_code.values())
    assert by_code["LC-01"]["extra_conditions"][0] | {"source_text": None} == {
        "name": "Số bậc tăng so với thứ hạng PII năm 2025",
        "unit": "bậc",
        "comparator": "GE",
        "threshold": 8,
        "baseline_year": 2025,
        "source_text": None,
    }
    assert by_code["LC-26"]["extra_conditions"][0]["threshold"] == 50
    assert by_code["LC-33"]["approximate"] is True
    assert "LGSP" in by_code["LC-17"]["source_text"] and "LGSP" in by_code["LC-22"]["source_text"]
    assert {c for c, i in by_code.items() if i["comparison"] == "PHASED_FLOOR"} == {"LC-07", "LC-24"}
    scopes = {c: i["scope"] for c, i in by_code.items() if i["scope"] != "PROVINCE"}
    assert scopes == dict.fromkeys(("LC-02", "LC-03", "LC-04", "LC-05", "LC-11"), "PER_UNIT") | {"LC-36": "PER_COMMUNE"}


def test_only_lao_cai_has_measurable_indicators(plans: dict[str, dict]) -> None:
    assert {k for k, p in plans.items() if indicators(p)} == {LAO_CAI}


# --- award forms ----------------------------------------------------------------------------------------------------


def forms(plan: dict, occasion: str) -> list[str]:
    return [f["form_code"] for f in plan["award_forms"] if f["occasion"] == occasion]


@pytest.mark.parametrize("key", [HUE, DONG_NAI])
def test_hue_and_dong_nai_offer_hcld_and_co_cp_only_at_tong_ket(plans: dict[str, dict], key: str) -> None:
    plan = plans[key]
    hcld = [f for f in plan["award_forms"] if f["form_code"].startswith("HCLD")]
    assert hcld and {f["occasion"] for f in hcld} == {"TONG_KET"}
    assert all(f["text"] == "Huân chương Lao động" for f in hcld)
    assert {f["occasion"] for f in plan["award_forms"] if f["form_code"] == "CO_CP"} == {"TONG_KET"}
    assert forms(plan, "SO_KET") == ["BK_TTG", "BK_TINH", "GIAY_KHEN"]
    assert forms(plan, "TONG_KET") == ["HCLD", "CO_CP", "BK_TTG", "CO_TINH", "BK_TINH", "GIAY_KHEN"]
    assert forms(plan, "ANNUAL") == ["BY_AUTHORITY"]


def test_dai_son_offers_no_huan_chuong(plans: dict[str, dict]) -> None:
    plan = plans[DAI_SON]
    assert not [f for f in plan["award_forms"] if f["form_code"].startswith("HC")]
    assert not [f for f in plan["award_forms"] + plan["award_occasions"] if "Huân chương" in f["text"]]
    assert "CO_CP" not in {f["form_code"] for f in plan["award_forms"]}
    assert forms(plan, "SO_KET") == ["BK_TINH", "GIAY_KHEN"]
    assert forms(plan, "TONG_KET") == ["BK_TTG", "CO_TINH", "BK_TINH", "GIAY_KHEN"]
    assert [f["text"] for f in plan["award_forms"] if f["name_nonstandard"]] == [
        "Bằng khen của Ủy ban nhân dân thành phố",
        "Bằng khen Ủy ban nhân dân thành phố",
    ]


def test_lao_cai_forms_apply_to_every_listed_occasion_and_to_the_so_ket(plans: dict[str, dict]) -> None:
    plan = plans[LAO_CAI]
    occasions = ["ANNUAL", "THEO_DOT", "DOT_XUAT", "SO_KET", "TONG_KET"]
    assert [o["occasion"] for o in plan["award_occasions"]] == occasions  # SO_KET from V.1.đ, flagged
    for occ in occasions:
        assert forms(plan, occ) == ["CO_TINH", "BK_TINH", "GK_SO", "GK_UNIT", "GK_XA", "CAP_TREN"]
    assert "SO_KET_AWARDS_INFERRED" in warning_codes(plan)
    assert not [f for f in plan["award_forms"] if f["form_code"].startswith("HC")]


# --- reporting duties -----------------------------------------------------------------------------------------------


def annual(plan: dict) -> list[dict]:
    return [d for d in plan["reporting_duties"] if d["period"] == "ANNUAL"]


def test_hue_and_dong_nai_report_yearly_to_so_khcn_and_so_noi_vu_without_a_date(plans: dict[str, dict]) -> None:
    for key, path in ((HUE, "VN/46"), (DONG_NAI, "VN/75")):
        (duty,) = annual(plans[key])
        assert [t["name"] for t in duty["to"]] == ["Sở Khoa học và Công nghệ", "Sở Nội vụ"]
        assert duty["subject_selector"]["under"] == path
        assert duty["consolidated_for"]["path"] == path
        assert duty["deadline_rule"] == {"kind": "NONE_STATED"}
        assert duty["text"].startswith("Định kỳ hàng năm")


def test_dai_son_reports_yearly_to_the_commune_via_phong_vh_xh_before_1_december(plans: dict[str, dict]) -> None:
    duty = annual(plans[DAI_SON])[0]
    assert duty["subject_selector"]["levels"] == ["UNIT"]
    assert duty["subject_selector"]["under"] == "VN/31/11086"
    assert [t["path"] for t in duty["to"]] == ["VN/31/11086"]
    assert duty["via"]["name"] == "Phòng Văn hóa – Xã hội"
    rule = duty["deadline_rule"]
    assert (rule["kind"], rule["month"], rule["day"], rule["inclusive"]) == ("BEFORE_DAY_OF_YEAR", 12, 1, False)
    assert "trước ngày 01/12" in duty["text"]


def test_lao_cai_reports_inside_the_annual_emulation_report_to_so_noi_vu(plans: dict[str, dict]) -> None:
    plan = plans[LAO_CAI]
    (duty,) = annual(plan)
    assert duty["subject_selector"]["member_of"] == "KHOI_THI_DUA"
    assert [t["name"] for t in duty["to"]] == ["Sở Nội vụ"]
    assert duty["deadline_rule"]["kind"] == "WITH_ANNUAL_EMULATION_REPORT"
    reviews = {d["period"]: d["deadline_rule"]["kind"] for d in plan["reporting_duties"] if d["period"] != "ANNUAL"}
    assert reviews == {
        "SO_KET": "PER_COMPETENT_GUIDANCE",
        "TONG_KET": "PER_COMPETENT_GUIDANCE",
        "AD_HOC": "ON_OCCURRENCE",
    }
    assert plan["emulation_blocks"]["count"] == 21


def test_quy_ii_2026_plan_deadlines(plans: dict[str, dict]) -> None:
    for key in (HUE, DONG_NAI, DAI_SON):
        (duty,) = plans[key]["plan_duties"]
        assert duty["due"] == {"kind": "BY_DATE", "date": date(2026, 6, 30), "stated_as": "Quý II/2026"}
        assert "Quý II/2026" in duty["text"]


def test_criteria_owners(plans: dict[str, dict]) -> None:
    def owners(key: str, role: str) -> dict[str, list[str]]:
        return {o["agency"]: o["areas"] for o in plans[key]["criteria_owners"] if o["role"] == role}

    expected = {"Sở Khoa học và Công nghệ": ["DMST", "KHCN", "CDS"], "Sở Nông nghiệp và Môi trường": ["CDX"]}
    assert owners(HUE, "CRITERIA") == expected
    assert owners(DONG_NAI, "CRITERIA") == expected
    assert owners(DAI_SON, "CRITERIA") == {
        "Phòng Văn hóa – Xã hội xã": ["DMST", "KHCN", "CDS"],
        "Phòng Kinh tế xã": ["CDX"],
    }
    assert set(owners(LAO_CAI, "CONTENT_LEAD")) == {"Sở Khoa học và Công nghệ", "Sở Nông nghiệp và Môi trường"}


# --- the seeds' own inconsistencies are flagged, not edited away ----------------------------------------------------

EXPECTED_WARNINGS = [
    (DAI_SON, "SEED_FORM_NAME_NONSTANDARD", 2),
    (DAI_SON, "SEED_DUPLICATED_CITATION", 1),
    (DAI_SON, "DRAFT_WITHOUT_NUMBER", 1),
    (DAI_SON, "DRAFT_WITHOUT_DAY", 1),
    (DAI_SON, "SEED_PARENT_TITLE_INCONSISTENT", 1),
    (DAI_SON, "SEED_UNBALANCED_QUOTE", 1),
    (LAO_CAI, "SEED_TYPO_DOT_XUAT", 1),
    (LAO_CAI, "CONFLICTING_TARGETS", 4),
    (LAO_CAI, "DUPLICATE_TARGET", 1),
    (LAO_CAI, "MEASURE_UNDEFINED", 1),
    (LAO_CAI, "SO_KET_AWARDS_INFERRED", 1),
    (LAO_CAI, "BLOC_MEMBERS_UNKNOWN", 1),
    (DAI_SON, "PHASE_START_AT_LAUNCH", 1),
    (LAO_CAI, "DRAFT_WITHOUT_NUMBER", 1),
    (LAO_CAI, "DRAFT_WITHOUT_DAY", 1),
    (LAO_CAI, "SEED_TYPO_PHAN_DAU", 4),
    (LAO_CAI, "SEED_DUPLICATE_ITEM_LABEL", 1),
    (LAO_CAI, "SEED_UNBALANCED_QUOTE", 1),
    (LAO_CAI, "AMBIGUOUS_TARGET", 3),
    (DONG_NAI, "SEED_TYPO_KHOI", 1),
    (DONG_NAI, "SEED_SIGNER_CAPACITY_PUNCTUATION", 1),
    (DONG_NAI, "PROVINCE_TYPE_TIME_DEPENDENT", 1),
    (DONG_NAI, "DEADLINE_SHORTLY_AFTER_ISSUE", 1),
    (HUE, "SEED_NUMBER_SPACING", 1),
    (DONG_NAI, "SEED_NUMBER_SPACING", 1),
    (NATIONAL, "PARENT_TEXT_UNAVAILABLE", 1),
    (HAI_PHONG, "PARENT_TEXT_UNAVAILABLE", 1),
    (HAI_PHONG, "IMPLEMENTS_INFERRED", 1),
]


@pytest.mark.parametrize(("key", "code", "count"), EXPECTED_WARNINGS, ids=lambda x: str(x))
def test_expected_warning_is_present(plans: dict[str, dict], key: str, code: str, count: int) -> None:
    assert warning_codes(plans[key])[code] == count


def test_flagged_seed_text_is_kept_verbatim(plans: dict[str, dict]) -> None:
    def flagged(key: str, code: str) -> list[str]:
        return [w["source_text"] for w in plans[key]["warnings"] if w["code"] == code]

    assert flagged(DAI_SON, "SEED_FORM_NAME_NONSTANDARD") == [
        "- Bằng khen của Ủy ban nhân dân thành phố;",
        "- Bằng khen Ủy ban nhân dân thành phố;",
    ]
    assert flagged(LAO_CAI, "SEED_TYPO_DOT_XUAT") == ["khen thưởng đợt xuất"]
    assert {o["text"] for o in plans[LAO_CAI]["award_occasions"] if o["occasion"] == "DOT_XUAT"} == {
        "khen thưởng đợt xuất"
    }
    conflicts = [w["indicators"] for w in plans[LAO_CAI]["warnings"] if w["code"] == "CONFLICTING_TARGETS"]
    assert conflicts == [
        ["LC-26", "LC-32"],
        ["LC-27", "LC-34"],
        ["LC-17", "LC-19", "LC-20", "LC-22"],
        ["LC-23", "LC-29"],
    ]
    (dup,) = flagged(DAI_SON, "SEED_DUPLICATED_CITATION")
    assert "1380/QĐ-UBND" in dup
    refs = [c["ref"] for c in plans[DAI_SON]["cited_documents"]]
    assert refs.count("1380/QĐ-UBND") == 2
    assert "khôi thi đua" in flagged(DONG_NAI, "SEED_TYPO_KHOI")[0]
