"""JSON bodies of the command endpoints: unknown fields refused, text NFC-normalised, lengths bounded.

The nested records mirror the Avro records of ``schemas/`` field for field (a unit test keeps them equal); the
descriptions are Vietnamese / English. Lengths are bounded by the narrowest column any read model stores them in.
"""

from __future__ import annotations

import datetime as _dt
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from services.kernel.vntime import now_vn

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


def _doc(vi: str, en: str) -> str:
    return f"{vi} / {en}"


def nfc_text(value: Any) -> Any:
    """NFC-normalise strings (inside lists too); refuse NUL and unpaired surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("text must be valid Unicode (no unpaired surrogates)") from exc
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [nfc_text(v) for v in value]
    return value


class Body(BaseModel):
    """Base of every request body: strict about fields, NFC about text."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        return nfc_text(value)


def example(*bodies: dict[str, Any]) -> ConfigDict:
    """A model config whose JSON schema carries ``bodies`` as examples (shown in OpenAPI, tried by schemathesis)."""
    return ConfigDict(json_schema_extra={"examples": list(bodies)})


def text(vi: str, en: str, max_length: int, min_length: int = 1) -> Any:
    """A bounded text field with a bilingual description."""
    return Field(description=_doc(vi, en), min_length=min_length, max_length=max_length)


def optional_text(vi: str, en: str, max_length: int) -> Any:
    """An optional bounded text field."""
    return Field(None, description=_doc(vi, en), min_length=1, max_length=max_length)


Id = Annotated[str, Field(min_length=1, max_length=100, pattern=ID_PATTERN)]
IdPath = Annotated[
    str, Path(min_length=1, max_length=250, pattern=ID_PATTERN, description=_doc("Mã đối tượng", "resource id"))
]
Name = Annotated[str, Field(min_length=1, max_length=300)]
CriteriaId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")]
OrgUnitPath = Annotated[
    str,
    Field(
        min_length=2,
        max_length=200,
        pattern=r"^VN(/[A-Z0-9][A-Z0-9-]*)*$",
        description=_doc("Đường dẫn đơn vị, ví dụ VN/31/11086/THCS-DS", "org-unit path, e.g. VN/31/11086/THCS-DS"),
    ),
]
Code = Annotated[str, Field(min_length=1, max_length=50, pattern=CODE_PATTERN)]
ShortCode = Annotated[str, Field(min_length=1, max_length=20)]
Symbol = Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[A-Z][A-Z_]*$")]
Occasion = Literal["ANNUAL", "SO_KET", "TONG_KET", "THEO_DOT", "DOT_XUAT"]
SubjectCategory = Literal["AGENCY_LOCALITY", "MTTQ_SOCIO_POLITICAL", "ENTERPRISE", "INDIVIDUAL"]
Comparator = Literal["GE", "GT", "LE", "LT", "EQ", "RANGE", "ABOUT"]
Comparison = Literal["FLOOR", "CEILING", "EXACT", "BAND", "APPROX", "APPROX_BAND", "PHASED_FLOOR"]
Scope = Literal["PROVINCE", "PER_COMMUNE", "PER_UNIT"]
Precision = Literal["YEAR", "MONTH", "DAY"]
Year = Annotated[int, Field(ge=1945, le=2200)]
Number = Annotated[float, Field(allow_inf_nan=False)]
LongText = 10_000


class CommandBody(Body):
    """A command's body: business time may be stated (default: now)."""

    occurred_at: AwareDatetime | None = Field(
        None,
        description=_doc(
            "Thời điểm nghiệp vụ (ISO 8601 có múi giờ, ví dụ ngày ký văn bản); mặc định lúc nhận",
            "business time (ISO 8601 with offset, e.g. when the document was signed); default: now",
        ),
    )

    def business_time(self) -> datetime:
        """``occurred_at`` or now, in Vietnam time (business dates are Vietnamese calendar dates)."""
        return self.occurred_at or now_vn()


class PlanPhase(Body):
    """Giai đoạn của kế hoạch / a phase of a plan (vn.thidua.common.PlanPhase)."""

    code: ShortCode = Field(description=_doc("Mã giai đoạn, ví dụ P1", "phase code, e.g. P1"))
    name: str = text("Tên giai đoạn", "name of the phase", 300)
    start_date: date = Field(description=_doc("Ngày bắt đầu", "first day"))
    end_date: date = Field(description=_doc("Ngày kết thúc", "last day"))
    review: Literal["SO_KET", "TONG_KET"] | None = Field(
        None, description=_doc("Sơ kết hoặc tổng kết cuối giai đoạn", "review at the end of the phase")
    )
    date_precision: Precision | None = Field(None, description=_doc("Độ chính xác ngày", "date precision"))
    review_from: date | None = Field(None, description=_doc("Sơ kết/tổng kết từ ngày", "review window: first day"))
    review_to: date | None = Field(None, description=_doc("Sơ kết/tổng kết đến ngày", "review window: last day"))
    review_period: str | None = optional_text("Thời điểm như văn bản ghi (2027, 2027-12, 2030-Q4)", "as stated", 20)
    review_text: str | None = optional_text("Lời văn về sơ kết/tổng kết", "the plan's wording", LongText)
    review_with: str | None = optional_text("Tổ chức cùng với", "held together with", 1000)
    review_follows: str | None = optional_text("Theo kế hoạch (mã) của cấp trên", "follows the plan (id)", 100)


class ContentArea(Body):
    """Nội dung thi đua / a content area of a plan (vn.thidua.common.ContentArea)."""

    code: ShortCode = Field(
        description=_doc("Mã theo đánh số trong kế hoạch, ví dụ II.1", "code as numbered, e.g. II.1")
    )
    title: str = text("Tiêu đề", "title", 1000)


class ReportingDuty(Body):
    """Chế độ báo cáo / a reporting duty (vn.thidua.common.ReportingDuty)."""

    code: ShortCode = Field(description=_doc("Mã nhiệm vụ báo cáo, ví dụ R1", "duty code, e.g. R1"))
    who: str = text("Ai báo cáo, theo lời văn kế hoạch", "who reports, as the plan says", 1000)
    reporter_levels: list[Literal["UNIT", "COMMUNE", "PROVINCE"]] = Field(
        [], description=_doc("Các cấp phải báo cáo", "levels bound"), max_length=3
    )
    reporter_under: OrgUnitPath | None = Field(
        None, description=_doc("Phạm vi các đơn vị phải báo cáo", "subtree whose units are bound")
    )
    reporter_kinds: list[Code] = Field(
        [], description=_doc("Loại đơn vị phải báo cáo (rỗng: tất cả)", "unit kinds bound (empty: all)"), max_length=20
    )
    reporter_name: str | None = optional_text("Một đơn vị báo cáo cụ thể", "a single named reporter", 300)
    to: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(
        [], description=_doc("Nơi nhận (đường dẫn hoặc tên)", "receivers (paths or names)"), max_length=20
    )
    via: str | None = optional_text("Đơn vị trung gian", "intermediary", 300)
    period: Symbol = Field(description=_doc("Kỳ: ANNUAL, SO_KET, TONG_KET…", "period: ANNUAL, SO_KET, TONG_KET…"))
    deadline_kind: Symbol = Field(
        description=_doc(
            "Loại hạn: BEFORE_DAY_OF_YEAR, BY_DAY_OF_YEAR, BY_DATE, NONE_STATED…",
            "deadline kind: BEFORE_DAY_OF_YEAR, BY_DAY_OF_YEAR, BY_DATE, NONE_STATED…",
        )
    )
    deadline_month: int | None = Field(None, ge=1, le=12, description=_doc("Tháng của hạn hằng năm", "month"))
    deadline_day: int | None = Field(None, ge=1, le=31, description=_doc("Ngày của hạn hằng năm", "day"))
    deadline_date: date | None = Field(None, description=_doc("Hạn cố định", "fixed deadline"))
    text: str = text("Nhiệm vụ theo lời văn kế hoạch", "the duty as the plan states it", LongText)
    reporter_direct: bool = Field(
        False,
        description=_doc(
            "Chỉ đơn vị trực thuộc phạm vi (sở, ban, ngành; xã, phường), không gồm đơn vị bên trong",
            "only units directly under the subtree root",
        ),
    )
    reporter_member_of: Literal["KHOI_THI_DUA", "CUM_THI_DUA", "KHOI_CUM_THI_DUA"] | None = Field(
        None, description=_doc("Chỉ thành viên khối, cụm thi đua", "only members of a khối/cụm thi đua")
    )
    reporter_agency: Code | None = Field(
        None, description=_doc("Một cơ quan báo cáo, theo loại cơ quan", "a single reporter by agency type")
    )
    receiver_agencies: list[Code] = Field(
        [],
        description=_doc("Loại cơ quan nhận báo cáo (không tự báo cáo mình)", "agency types of the receivers"),
        max_length=20,
    )


class AwardAllowance(Body):
    """Hình thức khen thưởng theo đợt / an award form a plan allows (vn.thidua.common.AwardAllowance)."""

    occasion: Occasion = Field(description=_doc("Dịp khen thưởng", "occasion"))
    form_code: str = text("Mã hình thức khen thưởng, ví dụ BK_TINH", "award form code, e.g. BK_TINH", 40)
    text: str | None = optional_text("Lời văn của kế hoạch", "the plan's wording", LongText)


class IndicatorCondition(Body):
    """Điều kiện kèm chỉ tiêu / a second condition of a target (vn.thidua.common.IndicatorCondition)."""

    code: Code = Field(description=_doc("Mã điều kiện, ví dụ LC-26.1", "condition code"))
    name: str = text("Nội dung đo", "what it measures", 1000)
    unit: str | None = optional_text("Đơn vị tính", "unit of measure", 50)
    comparator: Comparator = Field(description=_doc("Phép so sánh", "comparator"))
    threshold: Number | None = Field(None, description=_doc("Giá trị mục tiêu", "target value"))
    threshold_max: Number | None = Field(None, description=_doc("Cận trên", "upper figure"))
    baseline_year: Year | None = Field(None, description=_doc("Năm gốc so sánh", "baseline year"))
    source_text: str | None = optional_text("Lời văn", "the plan's wording", LongText)


class Indicator(Body):
    """Chỉ tiêu / a measurable indicator (vn.thidua.common.Indicator)."""

    code: Code = Field(description=_doc("Mã chỉ tiêu, duy nhất trong kế hoạch", "indicator code, unique in the plan"))
    name: str = text("Tên chỉ tiêu", "name", 1000)
    unit: str | None = optional_text("Đơn vị tính, ví dụ %", "unit of measure, e.g. %", 50)
    comparator: Comparator = Field(description=_doc("Phép so sánh của chỉ tiêu", "comparator of the target"))
    threshold: Number | None = Field(None, description=_doc("Giá trị mục tiêu", "target value"))
    threshold_max: Number | None = Field(None, description=_doc("Cận trên (RANGE)", "upper bound (RANGE)"))
    year: Year | None = Field(None, description=_doc("Năm áp dụng", "year the target applies to"))
    horizon: Year | None = Field(None, description=_doc("Mốc 'đến năm'", "horizon year"))
    scope: Scope | None = Field(
        None, description=_doc("Chỉ tiêu của ai: toàn tỉnh, từng xã, từng đơn vị", "whose target it is")
    )
    scope_kinds: list[Code] = Field(
        [], description=_doc("Loại đơn vị (PER_UNIT)", "unit kinds of a PER_UNIT target"), max_length=20
    )
    comparison: Comparison | None = Field(
        None,
        description=_doc(
            "Cách so sánh: tối thiểu, tối đa, khoảng, tối thiểu nâng dần (mặc định theo phép so sánh)",
            "floor, ceiling, band, phased floor… (default: from the comparator)",
        ),
    )
    recurrence: Literal["ANNUAL"] | None = Field(None, description=_doc("Hằng năm", "recurs every year"))
    approximate: bool = Field(False, description=_doc("Văn bản ghi “khoảng”", "the plan says 'about'"))
    conditions: list[IndicatorCondition] = Field(
        [], description=_doc("Điều kiện kèm (“trong đó …”)", "second conditions"), max_length=10
    )
    source_text: str | None = optional_text("Lời văn của chỉ tiêu", "the plan's wording", LongText)


class CriteriaItem(Body):
    """Tiêu chí và các chỉ tiêu / a criteria item with its indicators (vn.thidua.common.CriteriaItem)."""

    code: Code = Field(description=_doc("Mã tiêu chí, ví dụ III.3.A", "item code"))
    title: str = text("Tiêu đề", "title", 1000)
    indicators: list[Indicator] = Field([], description=_doc("Các chỉ tiêu", "indicators"), max_length=500)


class IndicatorValue(Body):
    """Giá trị chỉ tiêu / a value of an indicator (vn.thidua.common.IndicatorValue)."""

    indicator_code: Code = Field(description=_doc("Mã chỉ tiêu", "indicator code"))
    value: Number = Field(description=_doc("Giá trị", "value"))
    note: str | None = optional_text("Ghi chú", "note", LongText)


class DomainWarning(Body):
    """Cảnh báo dữ liệu được chấp nhận kèm / a fact accepted with a warning (vn.thidua.common.DomainWarning)."""

    code: Code = Field(description=_doc("Mã cảnh báo, ví dụ CONFLICTING_TARGETS", "warning code"))
    message_vi: str = text("Thông báo tiếng Việt", "Vietnamese message", 2000)
    message_en: str = text("Thông báo tiếng Anh", "English message", 2000)
    source_text: str | None = optional_text("Lời văn liên quan", "exact text the warning is about", LongText)
    refs: list[Code] = Field(
        [], description=_doc("Mã liên quan (chỉ tiêu, hình thức…)", "codes it concerns"), max_length=50
    )


class PlanPeriod(Body):
    """Thời gian thực hiện như văn bản ghi / a plan's stated span (vn.thidua.common.PlanPeriod)."""

    start_date: date = Field(description=_doc("Từ ngày", "first day"))
    end_date: date = Field(description=_doc("Đến ngày", "last day"))
    date_precision: Precision | None = Field(None, description=_doc("Độ chính xác", "precision"))
    source_text: str | None = optional_text("Lời văn", "the plan's wording", LongText)


class DocumentReference(Body):
    """Văn bản, phong trào được viện dẫn / a cited document or linked movement (vn.thidua.common.DocumentReference)."""

    kind: Literal["DOCUMENT", "MOVEMENT"] = Field(description=_doc("Văn bản hay phong trào", "document or movement"))
    ref: str | None = optional_text("Số, ký hiệu, ví dụ 244/KH-UBND", "number/symbol", 100)
    date: _dt.date | None = Field(None, description=_doc("Ngày văn bản", "date"))
    issuer: str | None = optional_text("Cơ quan ban hành", "issuer", 300)
    title: str | None = optional_text("Trích yếu / tên phong trào", "title or movement name", 2000)
    relation: Literal["THUC_HIEN", "CAN_CU", "TRIEN_KHAI", "GAN_VOI"] | None = Field(
        None, description=_doc("Thực hiện, căn cứ, triển khai, gắn với", "relation")
    )
    plan_id: str | None = optional_text("Kế hoạch tương ứng trên nút", "the plan on this node", 100)
    duplicate: bool = Field(False, description=_doc("Viện dẫn lặp lại", "cited again"))
    source_text: str | None = optional_text("Lời văn viện dẫn", "the citation as printed", LongText)


def records(items: Sequence[Body]) -> tuple[dict[str, Any], ...]:
    """Nested bodies as the plain records the commands carry."""
    return tuple(item.model_dump() for item in items)
