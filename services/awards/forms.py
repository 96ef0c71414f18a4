"""Award forms (hình thức khen thưởng, danh hiệu thi đua) as versioned rows of the authority matrix."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from .levels import Authority, Level


class AwardKind(StrEnum):
    """Law Art. 3: an award form or an emulation title."""

    HINH_THUC = "HINH_THUC"  # hình thức khen thưởng
    DANH_HIEU = "DANH_HIEU"  # danh hiệu thi đua


class Subject(StrEnum):
    """Who can receive the form."""

    INDIVIDUAL = "INDIVIDUAL"  # cá nhân
    COLLECTIVE = "COLLECTIVE"  # tập thể
    HOUSEHOLD = "HOUSEHOLD"  # hộ gia đình
    COMMUNE = "COMMUNE"  # xã, phường, đặc khu
    VILLAGE = "VILLAGE"  # thôn, tổ dân phố


class AwardType(StrEnum):
    """Award type (loại hình khen thưởng, Law Art. 8) an occasion gives awards under (``occasions.csv``)."""

    MERIT = "MERIT"  # công trạng, thành tích thường xuyên (hằng năm)
    MOVEMENT = "MOVEMENT"  # theo phong trào thi đua, theo đợt, chuyên đề (sơ kết, tổng kết)
    AD_HOC = "AD_HOC"  # đột xuất


class Verification(StrEnum):
    """How far the row's legal statement was checked (REFERENCE.md tags)."""

    V = "V"  # verified against a quoted source
    P = "P"  # partly verified
    U = "U"  # unverified: configuration, not law


@dataclass(frozen=True)
class AwardForm:
    """One version of an award form: who decides it, through whom it is submitted, and why."""

    form_code: str
    name_vi: str
    kind: AwardKind
    subjects: tuple[Subject, ...]
    decider_authority: Authority
    alt_deciders: tuple[Authority, ...]  # also competent for their own staff (Law Art. 80(1)(4))
    submitted_through: tuple[Authority, ...]  # who must submit (trình) before the decider (Law Art. 83)
    legal_basis: str
    verification: Verification
    effective_from: date
    effective_to: date | None  # exclusive; None = still in force
    note: str = ""

    @property
    def decider_level(self) -> Level:
        """Level of the primary decider."""
        return self.decider_authority.level

    @property
    def deciders(self) -> tuple[Authority, ...]:
        """The primary decider, then the alternatives."""
        return (self.decider_authority, *self.alt_deciders)

    def in_force_on(self, day: date) -> bool:
        """Whether ``day`` falls in ``[effective_from, effective_to)``."""
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)

    def submitter_at(self, level: Level) -> Authority | None:
        """The authority that must submit the proposal at ``level``, if any."""
        return next((a for a in self.submitted_through if a.level is level), None)


def _split(value: str) -> list[str]:
    """Items of a semicolon list."""
    return [item.strip() for item in value.split(";") if item.strip()]


def _row_to_form(row: dict[str, str]) -> AwardForm:
    """One CSV row as an ``AwardForm``."""
    return AwardForm(
        form_code=row["form_code"],
        name_vi=row["name_vi"],
        kind=AwardKind(row["kind"]),
        subjects=tuple(Subject(s) for s in _split(row["subjects"])),
        decider_authority=Authority(row["decider_authority"]),
        alt_deciders=tuple(Authority(a) for a in _split(row["alt_deciders"])),
        submitted_through=tuple(Authority(a) for a in _split(row["submitted_through"])),
        legal_basis=row["legal_basis"].strip(),
        verification=Verification(row["verification"]),
        effective_from=date.fromisoformat(row["effective_from"]),
        effective_to=date.fromisoformat(row["effective_to"]) if row["effective_to"] else None,
        note=row["note"],
    )


def _check(form: AwardForm, declared_level: str) -> None:
    """Refuse a row that contradicts itself."""
    problems = [
        (not unicodedata.is_normalized("NFC", form.name_vi + form.note + form.legal_basis), "text is not NFC"),
        (Authority.HOI_DONG_TDKT in (*form.deciders, *form.submitted_through), "a council neither decides nor submits"),
        (not form.legal_basis, "no legal basis"),
        (not form.subjects, "no subjects"),
        (Level(declared_level) is not form.decider_level, "decider_level does not match decider_authority"),
        (any(a.level.rank > form.decider_level.rank for a in form.submitted_through), "submitter above decider"),
        (form.decider_authority in form.submitted_through, "decider listed as submitter"),
        (len({a.level for a in form.submitted_through}) < len(form.submitted_through), "two submitters per level"),
        (form.effective_to is not None and form.effective_to <= form.effective_from, "empty validity interval"),
    ]
    for failed, why in problems:
        if failed:
            raise ValueError(f"authority matrix row {form.form_code} from {form.effective_from}: {why}")


def parse_authority_matrix_csv(text: str) -> tuple[AwardForm, ...]:
    """Parse and check the matrix CSV; versions of one form must not overlap."""
    forms = []
    for row in csv.DictReader(io.StringIO(text)):
        form = _row_to_form(row)
        _check(form, row["decider_level"])
        forms.append(form)
    check_versions_disjoint([(f.form_code, f.effective_from, f.effective_to) for f in forms])
    return tuple(forms)


def check_versions_disjoint(versions: list[tuple[str, date, date | None]]) -> None:
    """Refuse two versions of one code whose ``[from, to)`` intervals share a day."""
    for i, (code, start, end) in enumerate(versions):
        for other, other_start, other_end in versions[i + 1 :]:
            if code == other and start < (other_end or date.max) and other_start < (end or date.max):
                raise ValueError(f"versions of {code} overlap")
